"""Certificate API: fetch a batch's release certificate, verify a certificate."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.api.release import DETAIL
from qc.models import Certificate, SignatureDecision
from qc.services.certificates import (
    SHA256_MESSAGE,
    certificate_bytes,
    is_sha256,
    release_signature,
    verification_data,
)
from radiopharmacy.models import Batch


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    batch_number = serializers.CharField(allow_null=True)
    product = serializers.CharField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    released_by = serializers.CharField(
        allow_null=True, help_text='The signer\'s role, "Qualified Person" (never a name).'
    )
    meaning = serializers.CharField(allow_null=True)
    batch_status = serializers.CharField(allow_null=True)
    certificate_number = serializers.CharField(allow_null=True)
    certificate_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the certificate PDF (null while it is rendered)."
    )
    record_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the signed batch record (printed on the PDF)."
    )


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
            409: OpenApiResponse(
                DETAIL, description="The stored file is missing or does not match its SHA-256."
            ),
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
    # Read from its file and checked against the SHA-256 (a changed file is a 409, never served).
    response = HttpResponse(certificate_bytes(certificate), content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{certificate.certificate_number}.pdf"'
    )
    response["X-Certificate-SHA256"] = certificate.sha256
    return response


class CertificateVerifyView(APIView):
    """Verify a certificate by the PDF's SHA-256 or the signed record's SHA-256 (64 hex
    characters; a certificate number verifies nothing)."""

    permission_resource = "certificates"

    @extend_schema(
        responses={
            200: VerificationSerializer,
            400: OpenApiResponse(DETAIL, description="Not a SHA-256 (64 hex characters)."),
            401: OpenApiResponse(DETAIL, description="Not authenticated."),
            403: OpenApiResponse(DETAIL, description="Not allowed."),
            404: OpenApiResponse(
                VerificationSerializer, description="Unknown code: `valid` is false."
            ),
        },
    )
    def get(self, request, sha256: str):
        if not is_sha256(sha256):
            raise serializers.ValidationError({"sha256": [SHA256_MESSAGE]})
        data = verification_data(sha256)
        code = status.HTTP_200_OK if data["valid"] else status.HTTP_404_NOT_FOUND
        return Response(VerificationSerializer(data).data, status=code)
