"""API of elutions (SPEC §3 `elutions/`): record, list, correct; thin views over the services."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
    AwareIsoDateTimeFilter,
    GalliumModelSerializer,
    RecordIdFilter,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.models import BreakthroughTest, Elution, Generator
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.services import elutions as services


class BreakthroughTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = BreakthroughTest
        fields = [
            "id",
            "ge68_activity_kbq",
            "measured_at",
            "breakthrough_percent",
            "limit_percent",
            "passed",
        ]


class ElutionSerializer(GalliumModelSerializer):
    generator = serializers.PrimaryKeyRelatedField(queryset=Generator.objects.all())
    superseded_by = serializers.SerializerMethodField()
    breakthrough_tests = BreakthroughTestSerializer(many=True, read_only=True)
    eluent_lot = serializers.CharField(required=False, allow_blank=True, max_length=80)

    class Meta:
        model = Elution
        fields = [
            "id",
            "generator",
            "eluted_at",
            "activity_mbq",
            "measured_at",
            "volume_ml",
            "eluent_lot",
            "activity_at_elution_mbq",
            "predicted_on_column_mbq",
            "efficiency_percent",
            "supersedes",
            "superseded_by",
            "correction_reason",
            "performed_by",
            "created_at",
            "breakthrough_tests",
        ]
        read_only_fields = [
            "activity_at_elution_mbq",
            "predicted_on_column_mbq",
            "efficiency_percent",
            "supersedes",
            "correction_reason",
            "performed_by",
            "created_at",
        ]

    def get_superseded_by(self, obj) -> int | None:
        try:
            return obj.superseded_by.pk
        except Elution.superseded_by.RelatedObjectDoesNotExist:
            return None


class ElutionCorrectionSerializer(serializers.Serializer):
    """The corrected values (omitted ones are kept) and why."""

    eluted_at = AwareDateTimeField(required=False)
    activity_mbq = serializers.FloatField(required=False)
    measured_at = AwareDateTimeField(required=False)
    volume_ml = serializers.FloatField(required=False)
    eluent_lot = serializers.CharField(required=False, allow_blank=True, max_length=80)
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class ElutionFilter(django_filters.FilterSet):
    generator = RecordIdFilter(field_name="generator_id")
    since = AwareIsoDateTimeFilter(field_name="eluted_at", lookup_expr="gte")
    until = AwareIsoDateTimeFilter(field_name="eluted_at", lookup_expr="lt")

    class Meta:
        model = Elution
        fields = ["generator", "since", "until"]


@extend_schema(tags=["elutions"])
class ElutionListCreate(generics.ListCreateAPIView):
    """Current elutions (corrected ones are left out unless `include_superseded=true`)."""

    permission_resource = "elutions"
    serializer_class = ElutionSerializer
    filterset_class = ElutionFilter
    ordering_fields = ["eluted_at", "id"]

    def get_queryset(self):
        include = self.request.query_params.get("include_superseded", "").lower()
        return selectors.elution_list(include_superseded=include in ("1", "true", "yes"))

    @extend_schema(
        parameters=[OpenApiParameter("include_superseded", bool, description="Also corrected.")],
        responses={200: ElutionSerializer(many=True), 400: ERR_400, **READ_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(responses={201: ElutionSerializer, 409: ERR_409, **WRITE_ERRORS})
    def post(self, request, *args, **kwargs):
        data = ElutionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        generator = values.pop("generator")
        elution = services.elution_record(actor=request.user, generator_id=generator.pk, **values)
        out = ElutionSerializer(selectors.elution_list(include_superseded=True).get(pk=elution.pk))
        return Response(out.data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["elutions"], responses={200: ElutionSerializer, 404: ERR_404, **READ_ERRORS})
class ElutionDetail(generics.RetrieveAPIView):
    permission_resource = "elutions"
    serializer_class = ElutionSerializer

    def get_queryset(self):
        return selectors.elution_list(include_superseded=True)


@extend_schema(
    tags=["elutions"],
    request=ElutionCorrectionSerializer,
    responses={201: ElutionSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class ElutionCorrection(APIView):
    """Correct an elution: a new elution supersedes it, with a reason."""

    permission_resource = "elutions"

    def post(self, request, pk: int):
        get_object_or_404(Elution, pk=pk)
        data = ElutionCorrectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.elution_correct(actor=request.user, elution_id=pk, **data.validated_data)
        out = ElutionSerializer(selectors.elution_list(include_superseded=True).get(pk=new.pk))
        return Response(out.data, status=status.HTTP_201_CREATED)
