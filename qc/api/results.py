"""API of QC results of a batch: list them and record one (SPEC §3 `batches/{id}/qc-results/`)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from qc.models import QcResult
from qc.services.results import qc_result_record
from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    AwareDateTimeField,
    RecordIdField,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.models import Batch


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number"},
            {"type": "string", "enum": ["pass", "fail"]},
            {"type": "string", "pattern": r"^\s*<\s*[0-9]+([.,][0-9]+)?\s*$"},
        ]
    }
)
class QcValueField(serializers.Field):
    """A number for numeric tests, "< x" below a detection limit, "pass" or "fail" for
    pass/fail tests (checked by the service)."""

    def to_internal_value(self, data):
        if isinstance(data, (bool, dict, list)):
            raise serializers.ValidationError('A number, or "pass" or "fail".')
        return data

    def to_representation(self, value):
        return value


class QcResultSerializer(serializers.ModelSerializer):
    test = serializers.CharField(source="test_code")
    value = QcValueField()
    limit = serializers.CharField(source="limit_text")
    test_name = serializers.CharField(source="spec_test.name")
    stage = serializers.CharField(source="spec_test.stage")
    analyst_name = serializers.SerializerMethodField()
    superseded_by = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

    class Meta:
        model = QcResult
        fields = [
            "id",
            "batch",
            "test",
            "test_name",
            "stage",
            "value",
            "unit",
            "passed",
            "limit",
            "method_details",
            "instrument",
            "analyst",
            "analyst_name",
            "performed_at",
            "supersedes",
            "superseded_by",
            "current",
            "reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_analyst_name(self, obj) -> str:
        return obj.analyst.get_full_name() or obj.analyst.get_username()

    def _successor(self, obj):
        try:
            return obj.superseded_by
        except QcResult.DoesNotExist:
            return None

    def get_superseded_by(self, obj) -> int | None:
        successor = self._successor(obj)
        return successor.pk if successor else None

    def get_current(self, obj) -> bool:
        return self._successor(obj) is None


class QcResultInputSerializer(serializers.Serializer):
    test = serializers.CharField(max_length=40)
    value = QcValueField()
    performed_at = AwareDateTimeField()
    unit = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=None, max_length=20
    )
    # Left out of a correction, they are kept from the result it corrects.
    method_details = serializers.CharField(
        required=False, allow_blank=True, default=None, max_length=TEXT_MAX_LENGTH
    )
    instrument = serializers.CharField(
        required=False, allow_blank=True, default=None, max_length=120
    )
    supersedes = RecordIdField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_MAX_LENGTH
    )


def results_queryset():
    return QcResult.objects.select_related("spec_test", "analyst", "superseded_by").order_by("id")


@extend_schema(tags=["qc"])
class QcResultListCreate(generics.ListCreateAPIView):
    """QC results of a batch, oldest first (corrections included, `current` marks the latest)."""

    permission_resource = "qc_results"
    serializer_class = QcResultSerializer
    filterset_class = None
    ordering_fields = ["id", "performed_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return QcResult.objects.none()
        get_object_or_404(Batch, pk=self.kwargs["pk"])
        return results_queryset().filter(batch_id=self.kwargs["pk"])

    @extend_schema(responses={200: QcResultSerializer(many=True), 404: ERR_404, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=QcResultInputSerializer,
        responses={
            201: QcResultSerializer,
            400: ERR_400,
            404: ERR_404,
            409: ERR_409,
            **READ_ERRORS,
        },
    )
    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = QcResultInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = qc_result_record(actor=request.user, batch_id=pk, **data.validated_data)
        out = QcResultSerializer(results_queryset().get(pk=result.pk)).data
        if result.hold_doses is not None:
            out["hold_doses"] = result.hold_doses
        return Response(out, status=status.HTTP_201_CREATED)
