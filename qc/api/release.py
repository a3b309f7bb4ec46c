"""Release API: sign a release or rejection of a batch, and check whether it can be released."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.guards import release_blockers, release_warnings
from qc.models import SignatureDecision
from qc.services.certificates import release_signature
from qc.services.release import batch_release
from radiopharmacy.core.apibase import (
    ERR_404,
    READ_ERRORS,
    signature_otp_field,
    signature_password_field,
)
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
    decision = serializers.ChoiceField(
        choices=[(d.value, d.label) for d in (SignatureDecision.RELEASE, SignatureDecision.REJECT)]
    )
    password = signature_password_field()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    otp_token = signature_otp_field()


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


class ReleaseCheckSerializer(serializers.Serializer):
    releasable = serializers.BooleanField()
    blocking = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="What does not block release (SPEC §2.2)."
    )


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
            otp_token=data.validated_data["otp_token"],
            request=request,
        )
        return Response(ReleasedBatchSerializer(batch).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["qc"], responses={200: ReleaseCheckSerializer, 404: ERR_404, **READ_ERRORS})
class ReleaseCheck(APIView):
    """Whether the batch can be released now, and every reason it cannot."""

    permission_resource = "batches"

    def get(self, request, pk: int):
        batch = get_object_or_404(
            Batch.objects.select_related("product").prefetch_related("qc_results", "deviations"),
            pk=pk,
        )
        blocking = release_blockers(batch)
        return Response(
            {"releasable": not blocking, "blocking": blocking, "warnings": release_warnings(batch)}
        )
