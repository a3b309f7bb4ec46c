"""API of deviations and OOS records (SPEC §3 `deviations/`)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from qc.models import Deviation
from radiopharmacy.core.apibase import ERR_400, READ_ERRORS, RecordIdFilter


class DeviationSerializer(serializers.ModelSerializer):
    batch_number = serializers.CharField(source="batch.batch_number", read_only=True)

    class Meta:
        model = Deviation
        fields = [
            "id",
            "batch",
            "batch_number",
            "kind",
            "description",
            "blocks_release",
            "status",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
            "closure_note",
            "qc_result",
            "affected_doses",
        ]


class DeviationFilter(django_filters.FilterSet):
    batch = RecordIdFilter(field_name="batch_id")
    status = django_filters.ChoiceFilter(choices=Deviation.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Deviation.Kind.choices)

    class Meta:
        model = Deviation
        fields = ["batch", "status", "kind"]


@extend_schema(
    tags=["qc"], responses={200: DeviationSerializer(many=True), 400: ERR_400, **READ_ERRORS}
)
class DeviationList(generics.ListAPIView):
    """Deviations and OOS records, newest first; filter by batch, status and kind."""

    permission_resource = "qc_results"
    serializer_class = DeviationSerializer
    filterset_class = DeviationFilter
    queryset = Deviation.objects.select_related("batch").order_by("-opened_at", "-id")
