"""Radio-TLC reports (SPEC §2.11): preview the RCP and colloid a report gives, record them as
the batch's QC results with the raw file attached, download the file. Thin edges."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.api.results import QcResultSerializer, results_queryset
from qc.instruments.radio_tlc import read_report, result_values
from qc.models import RadioTlcFile
from qc.services.instrument_files import radio_tlc_import
from radiopharmacy.core.apibase import (
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.instrument_api import (
    ERR_400_FILE,
    InstrumentUploadSerializer,
    raw_file_response,
)
from radiopharmacy.core.instrument_csv import sha256
from radiopharmacy.models import Batch


class RadioTlcInputSerializer(InstrumentUploadSerializer):
    performed_at = AwareDateTimeField()
    instrument = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_MAX_LENGTH,
        help_text="Needed when the tests have results already (a correction).",
    )


class PeakSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    region = serializers.CharField()
    species = serializers.CharField(help_text="product, colloid, free or other")
    area = serializers.FloatField()
    percent = serializers.FloatField()


class RadioTlcPreviewSerializer(serializers.Serializer):
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    peaks = PeakSerializer(many=True)
    total_area = serializers.FloatField()
    rcp_percent = serializers.FloatField()
    colloid_percent = serializers.FloatField(allow_null=True)
    free_percent = serializers.FloatField(allow_null=True)
    results = serializers.DictField(
        child=serializers.FloatField(), help_text="{test code: value} to record"
    )


class RadioTlcImportedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    results = QcResultSerializer(many=True)


def _preview(data: dict) -> dict:
    report = read_report(data["raw"])
    return {
        "filename": data["filename"],
        "sha256": sha256(data["raw"]),
        "peaks": report.peaks,
        "total_area": report.total_area,
        "rcp_percent": report.rcp_percent,
        "colloid_percent": report.colloid_percent,
        "free_percent": report.free_percent,
        "results": result_values(report),
    }


class RadioTlcPreview(APIView):
    """Read a radio-TLC report (CSV of peak regions with areas): the RCP and colloid
    percentages it gives; nothing is saved."""

    permission_resource = "qc_results"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        tags=["qc"],
        request=InstrumentUploadSerializer,
        responses={200: RadioTlcPreviewSerializer, 404: ERR_404, **WRITE_ERRORS, 400: ERR_400_FILE},
    )
    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = InstrumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(RadioTlcPreviewSerializer(_preview(data.validated_data)).data)


class RadioTlcImport(APIView):
    """Record the RCP (and colloid) of a radio-TLC report as QC results of the batch, with the
    raw file attached and its SHA-256 in the audit entry. All or nothing."""

    permission_resource = "qc_results"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        tags=["qc"],
        request=RadioTlcInputSerializer,
        responses={
            201: RadioTlcImportedSerializer,
            404: ERR_404,
            409: ERR_409,
            **WRITE_ERRORS,
            400: ERR_400_FILE,
        },
    )
    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = RadioTlcInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        file, results = radio_tlc_import(
            actor=request.user,
            batch_id=pk,
            filename=data["filename"],
            content=data["raw"],
            performed_at=data["performed_at"],
            instrument=data["instrument"],
            reason=data["reason"],
        )
        out = results_queryset().filter(pk__in=[r.pk for r in results])
        body = {"id": file.pk, "sha256": file.sha256, "results": out}
        return Response(RadioTlcImportedSerializer(body).data, status=status.HTTP_201_CREATED)


class RadioTlcRaw(APIView):
    """A radio-TLC report as uploaded (its SHA-256 in the `X-Content-SHA256` header)."""

    permission_resource = "qc_results"

    @extend_schema(
        tags=["qc"],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="the raw file"),
            404: ERR_404,
            **READ_ERRORS,
        },
    )
    def get(self, request, pk: int):
        file = get_object_or_404(RadioTlcFile, pk=pk)
        return raw_file_response(bytes(file.content), file.filename, file.sha256)
