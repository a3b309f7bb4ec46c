"""Dose calibrator files (SPEC §2.11): preview the measurements a CSV export would record,
confirm the reviewed ones, download a confirmed file. Thin: read the upload, one service call.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import ERR_404, ERR_409, READ_ERRORS, WRITE_ERRORS
from radiopharmacy.core.instrument_api import (
    ERR_400_FILE,
    InstrumentUploadSerializer,
    raw_file_response,
)
from radiopharmacy.core.instrument_csv import InstrumentFileError, sha256
from scheduling.api.common import validated
from scheduling.instruments.dose_calibrator import propose, read_readings
from scheduling.models import DoseCalibratorFile
from scheduling.services.instrument_files import dose_calibrator_import


class AcceptSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=10**6)
    target = serializers.RegexField(r"^(dose|batch):\d{1,18}$", help_text="dose:<id> or batch:<id>")


class ImportSerializer(InstrumentUploadSerializer):
    accept = serializers.JSONField(
        help_text='The proposals the review accepts: [{"line": 4, "target": "dose:12"}, ...] '
        "(a JSON string in a multipart form)."
    )

    def validate_accept(self, value):
        items = AcceptSerializer(data=value, many=True)
        if not isinstance(value, list) or not items.is_valid():
            raise serializers.ValidationError(
                'Give a list of {"line": <number>, "target": "dose:<id>" or "batch:<id>"}.'
            )
        return items.validated_data


class ProposalSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    measured_at = serializers.DateTimeField()
    nuclide = serializers.CharField()
    activity_mbq = serializers.FloatField()
    calibrator = serializers.CharField()
    sample = serializers.CharField()
    target = serializers.CharField(help_text="dose:<id>, batch:<id>, or empty: nothing to record")
    dose = serializers.IntegerField(allow_null=True)
    patient_ref = serializers.CharField(allow_null=True)
    batch = serializers.IntegerField(allow_null=True)
    batch_number = serializers.CharField(allow_null=True)
    expected_mbq = serializers.FloatField(allow_null=True)
    deviation_percent = serializers.FloatField(allow_null=True)
    note = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    proposals = ProposalSerializer(many=True)


class ImportedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    readings = serializers.ListField(child=serializers.DictField())


def proposal_data(proposal) -> dict:
    reading, dose, batch = proposal.reading, proposal.dose, proposal.batch
    batch = batch or (dose.batch if dose else None)
    return {
        "line": reading.line,
        "measured_at": reading.measured_at,
        "nuclide": reading.nuclide,
        "activity_mbq": reading.activity_mbq,
        "calibrator": reading.calibrator,
        "sample": reading.sample,
        "target": proposal.target,
        "dose": dose.pk if dose else None,
        "patient_ref": dose.booking.patient_ref if dose else None,
        "batch": batch.pk if batch else None,
        "batch_number": batch.batch_number if batch else None,
        "expected_mbq": proposal.expected_mbq,
        "deviation_percent": proposal.deviation_percent,
        "note": proposal.note,
    }


class DoseCalibratorPreview(APIView):
    """Read a dose calibrator CSV export and propose the measurement of each line (the syringe
    or batch it matches); nothing is saved."""

    permission_resource = "doses"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request=InstrumentUploadSerializer,
        responses={200: PreviewSerializer, **WRITE_ERRORS, 400: ERR_400_FILE},
    )
    def post(self, request):
        data = validated(InstrumentUploadSerializer, request.data)
        proposals = propose(read_readings(data["raw"]))
        body = {
            "filename": data["filename"],
            "sha256": sha256(data["raw"]),
            "proposals": [proposal_data(p) for p in proposals],
        }
        return Response(PreviewSerializer(body).data)


class DoseCalibratorImport(APIView):
    """Save the reviewed measurements of a dose calibrator file (the file again, with the
    `accept`ed proposals): each syringe measured, each batch measurement corrected, the raw file
    kept with its SHA-256 in the audit entries. 400 naming the line when the file is malformed
    or a proposal changed; 409 when a dose can no longer be measured. All or nothing."""

    permission_resource = "doses"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request=ImportSerializer,
        responses={201: ImportedSerializer, 409: ERR_409, **WRITE_ERRORS, 400: ERR_400_FILE},
    )
    def post(self, request):
        data = validated(ImportSerializer, request.data)
        accept = {}
        for item in data["accept"]:
            if item["line"] in accept:
                raise InstrumentFileError(f"Line {item['line']} is accepted twice.")
            accept[item["line"]] = item["target"]
        file = dose_calibrator_import(
            actor=request.user, filename=data["filename"], content=data["raw"], accept=accept
        )
        body = {
            "id": file.pk,
            "filename": file.filename,
            "sha256": file.sha256,
            "readings": list(
                file.readings.values("line", "dose", "batch", "activity_mbq", "measured_at")
            ),
        }
        return Response(ImportedSerializer(body).data, status=status.HTTP_201_CREATED)


class DoseCalibratorRaw(APIView):
    """The confirmed file, byte for byte as uploaded (its SHA-256 in the `X-Content-SHA256`
    header)."""

    permission_resource = "doses"

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="the raw file"),
            404: ERR_404,
            **READ_ERRORS,
        }
    )
    def get(self, request, pk: int):
        file = get_object_or_404(DoseCalibratorFile, pk=pk)
        return raw_file_response(bytes(file.content), file.filename, file.sha256)
