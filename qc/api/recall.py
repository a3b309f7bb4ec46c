"""API of a released batch's recall or hold lifting, and its look-back list (SPEC §3
`batches/{id}/recall/`, `batches/{id}/lookback/`)."""

import csv
import io

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.api.release import ReleasedBatchSerializer
from qc.services.recall import RECALL_DECISIONS, batch_recall, lookback
from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    signature_otp_field,
    signature_password_field,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.models import Batch

LOOKBACK_COLUMNS = [
    "dose",
    "booking",
    "patient_ref",
    "planned_injection_at",
    "status",
    "whereabouts",
    "draw_at",
    "activity_to_draw_mbq",
    "drawn_activity_mbq",
    "drawn_at",
    "administered_activity_mbq",
    "administered_at",
]


class CsvRenderer(JSONRenderer):
    """Lets `?format=csv` (DRF's format override) reach the view, which answers the CSV itself;
    an error is still JSON."""

    media_type = "text/csv"
    format = "csv"


class RecallInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(d.value, d.label) for d in RECALL_DECISIONS])
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    password = signature_password_field()
    otp_token = signature_otp_field()


class LookbackRowSerializer(serializers.Serializer):
    dose = serializers.IntegerField()
    booking = serializers.IntegerField()
    patient_ref = serializers.CharField()
    planned_injection_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    whereabouts = serializers.CharField()
    draw_at = serializers.DateTimeField(allow_null=True)
    activity_to_draw_mbq = serializers.FloatField(allow_null=True)
    drawn_activity_mbq = serializers.FloatField(allow_null=True)
    drawn_at = serializers.DateTimeField(allow_null=True)
    administered_activity_mbq = serializers.FloatField(allow_null=True)
    administered_at = serializers.DateTimeField(allow_null=True)


class LookbackSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    batch_number = serializers.CharField()
    status = serializers.CharField()
    doses = LookbackRowSerializer(many=True)


@extend_schema(
    tags=["qc"],
    request=RecallInputSerializer,
    responses={
        201: ReleasedBatchSerializer,
        400: ERR_400,
        401: READ_ERRORS[401],
        403: OpenApiResponse(
            description="Not a qualified person, or wrong password (logged). Nothing is signed."
        ),
        404: ERR_404,
        409: ERR_409,
    },
)
class BatchRecallView(APIView):
    """Recall a released or held batch, or lift its hold (needs its OOS closed as
    `invalidated`), with the qualified person's signature and a reason."""

    permission_resource = "recall"

    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = RecallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batch_recall(
            batch_id=pk, actor=request.user, request=request, **data.validated_data
        )
        return Response(ReleasedBatchSerializer(batch).data, status=status.HTTP_201_CREATED)


def lookback_csv(batch: Batch, rows: list[dict]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOOKBACK_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lookback-{batch.batch_number}.csv"'
    return response


@extend_schema(
    tags=["qc"],
    parameters=[
        OpenApiParameter("format", str, enum=["json", "csv"], description="json (default) or csv")
    ],
    responses={
        (200, "application/json"): LookbackSerializer,
        (200, "text/csv"): OpenApiTypes.STR,
        400: ERR_400,
        404: ERR_404,
        **READ_ERRORS,
    },
)
class BatchLookbackView(APIView):
    """Every dose of the batch: patient reference, status, what was drawn, what was
    administered and when."""

    permission_resource = "lookback"
    renderer_classes = [JSONRenderer, CsvRenderer]

    def perform_content_negotiation(self, request, force=False):
        # An unknown ?format= is a 400 from the view below, not DRF's 404.
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            return (JSONRenderer(), JSONRenderer.media_type)

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch, pk=pk)
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ApplicationError("Unknown format.", fields={"format": ['"json" or "csv".']})
        rows = lookback(batch)
        if fmt == "csv":
            return lookback_csv(batch, rows)
        return Response(
            {
                "batch": batch.pk,
                "batch_number": batch.batch_number,
                "status": batch.status,
                "doses": rows,
            }
        )
