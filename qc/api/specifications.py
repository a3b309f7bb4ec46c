"""API of QC specifications: the versions with their tests (SPEC §3 `specifications/`)."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from qc.models import Specification, SpecificationTest
from radiopharmacy.core.apibase import ERR_400, READ_ERRORS
from radiopharmacy.models import Product


class SpecificationTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpecificationTest
        fields = [
            "code",
            "name",
            "kind",
            "min_value",
            "max_value",
            "unit",
            "stage",
            "method",
            "applies_to_method",
            "limit_per_volume",
            "strict",
            "required",
            "order",
        ]


class SpecificationSerializer(serializers.ModelSerializer):
    tests = SpecificationTestSerializer(many=True, read_only=True)
    product_code = serializers.CharField(source="product.code", read_only=True)

    class Meta:
        model = Specification
        fields = [
            "id",
            "product",
            "product_code",
            "version",
            "effective_from",
            "approved_by",
            "approved_at",
            "notes",
            "tests",
        ]


class SpecificationFilter(django_filters.FilterSet):
    product = django_filters.ModelChoiceFilter(queryset=Product.objects.all())

    class Meta:
        model = Specification
        fields = ["product"]


@extend_schema(
    tags=["qc"],
    responses={200: SpecificationSerializer(many=True), 400: ERR_400, **READ_ERRORS},
)
class SpecificationList(generics.ListAPIView):
    """Specification versions with their tests, newest effective first."""

    permission_resource = "specifications"
    serializer_class = SpecificationSerializer
    filterset_class = SpecificationFilter
    queryset = (
        Specification.objects.select_related("product")
        .prefetch_related(
            Prefetch("tests", queryset=SpecificationTest.objects.order_by("order", "id"))
        )
        .order_by("product_id", "-effective_from", "-version")
    )
