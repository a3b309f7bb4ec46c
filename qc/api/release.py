"""Release API: sign a release or rejection, fetch the certificate, verify a certificate."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.models import Certificate, SignatureDecision
from qc.services.release import batch_release, release_signature, verify_code
from radiopharmacy.models import Batch

DETAIL = inline_serializer("ReleaseDetail", {"detail": serializers.CharField()})
CONFLICT = inline_serializer(
    "ReleaseConflict",
    {
        "detail": serializers.CharField(),
        "blocking": serializers.ListField(child=serializers.CharField()),
    },
)


class ReleaseInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignatureDecision.choices)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SignatureSerializer(serializers.Serializer):
    printed_name = serializers.CharField()
    meaning = serializers.CharField()
    decision = serializers.CharField()
    comment = serializers.CharField()
    signed_at = serializers.DateTimeField()
    record_sha256 = serializers.CharField()


class ReleasedBatchSerializer(serializers.ModelSerializer):
    """The batch after its release or rejection, with the signature it carries."""

    # A plain string: the batch status enum is named by the batches API, not here.
    status = serializers.CharField(read_only=True)
    signature = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = [
            "id",
            "batch_number",
            "status",
            "eos_at",
            "activity_at_eos_mbq",
            "concentration_at_eos_mbq_per_ml",
            "volume_ml",
            "expires_at",
            "signature",
        ]

    @extend_schema_field(SignatureSerializer(allow_null=True))
    def get_signature(self, batch) -> dict | None:
        signature = release_signature(batch)
        return SignatureSerializer(signature).data if signature else None


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    batch_number = serializers.CharField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    released_by = serializers.CharField(allow_null=True)
    meaning = serializers.CharField(allow_null=True)
    batch_status = serializers.CharField(allow_null=True)
    certificate_number = serializers.CharField(allow_null=True)
    certificate_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the certificate PDF (null while it is rendered)."
    )
    record_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the signed batch record (printed on the PDF)."
    )


def verification_data(code: str) -> dict:
    """What `/verify/<code>` answers, for the API and the public page alike."""
    certificate, signature = verify_code(code)
    if signature is None:
        return {
            "valid": False,
            "batch_number": None,
            "released_at": None,
            "released_by": None,
            "meaning": None,
            "batch_status": None,
            "certificate_number": None,
            "certificate_sha256": None,
            "record_sha256": None,
        }
    batch = signature.batch
    return {
        "valid": True,
        "batch_number": batch.batch_number,
        "released_at": signature.signed_at,
        "released_by": signature.printed_name,
        "meaning": signature.meaning,
        "batch_status": batch.status,
        "certificate_number": certificate.certificate_number if certificate else None,
        "certificate_sha256": certificate.sha256 if certificate else None,
        "record_sha256": signature.record_sha256,
    }


class BatchReleaseView(APIView):
    """Release or reject a batch with the qualified person's electronic signature."""

    permission_resource = "release"

    @extend_schema(
        request=ReleaseInputSerializer,
        responses={
            201: ReleasedBatchSerializer,
            400: OpenApiResponse(DETAIL, description="Invalid input (field messages)."),
            401: OpenApiResponse(DETAIL, description="Not authenticated."),
            403: OpenApiResponse(
                DETAIL,
                description="Not a qualified person, wrong password (logged), or the signer "
                "made the batch (four eyes). Nothing is signed.",
            ),
            404: OpenApiResponse(DETAIL, description="No such batch."),
            409: OpenApiResponse(
                CONFLICT, description="Not releasable: `blocking` lists why. Nothing changes."
            ),
        },
    )
    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = ReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batch_release(
            batch_id=pk,
            actor=request.user,
            password=data.validated_data["password"],
            decision=data.validated_data["decision"],
            comment=data.validated_data["comment"],
        )
        return Response(ReleasedBatchSerializer(batch).data, status=status.HTTP_201_CREATED)


class BatchCertificateView(APIView):
    """The batch release certificate PDF; 202 while the worker renders it."""

    permission_resource = "certificates"

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The certificate PDF."
            ),
            202: OpenApiResponse(DETAIL, description="Released; the certificate is rendering."),
            401: OpenApiResponse(DETAIL, description="Not authenticated."),
            403: OpenApiResponse(DETAIL, description="Not allowed."),
            404: OpenApiResponse(DETAIL, description="No such batch, or not released."),
        },
    )
    def get(self, request, pk: int):
        batch = get_object_or_404(Batch, pk=pk)
        signature = release_signature(batch)
        if signature is None or signature.decision != SignatureDecision.RELEASE:
            raise NotFound("This batch has not been released: it has no certificate.")
        certificate = Certificate.objects.filter(signature=signature).first()
        if certificate is None:
            return Response(
                {"detail": "The batch is released; its certificate is being rendered."},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": "5"},
            )
        return certificate_response(certificate)


def certificate_response(certificate: Certificate, *, attachment: bool = False) -> HttpResponse:
    response = HttpResponse(bytes(certificate.pdf), content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{certificate.certificate_number}.pdf"'
    )
    response["X-Certificate-SHA256"] = certificate.sha256
    return response


class CertificateVerifyView(APIView):
    """Verify a certificate by the PDF's SHA-256, the signed record's SHA-256 or its number."""

    permission_resource = "certificates"

    @extend_schema(
        responses={
            200: VerificationSerializer,
            401: OpenApiResponse(DETAIL, description="Not authenticated."),
            403: OpenApiResponse(DETAIL, description="Not allowed."),
            404: OpenApiResponse(
                VerificationSerializer, description="Unknown code: `valid` is false."
            ),
        },
    )
    def get(self, request, sha256: str):
        data = verification_data(sha256)
        code = status.HTTP_200_OK if data["valid"] else status.HTTP_404_NOT_FOUND
        return Response(VerificationSerializer(data).data, status=code)
