"""API of the auditor's and qualified person's records (SPEC §2.8, §2.10): the inspector export of
a batch, and the audit-trail reviews (list, sign)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core import audit_review as reviews
from radiopharmacy.core.apibase import (
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
    GalliumModelSerializer,
    signature_otp_field,
    signature_password_field,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.models import AuditReview
from radiopharmacy.models import Batch
from radiopharmacy.site.inspector import zip_response
from radiopharmacy.site.inspector_export import inspector_export


@extend_schema(
    tags=["batches"],
    responses={
        (200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The export ZIP: signed records, certificate, audit entries with the "
            "chain to a checkpoint, manifest, README (verify it with `manage.py verify_export`).",
        ),
        404: ERR_404,
        409: ERR_409,
        **READ_ERRORS,
    },
)
class BatchInspectorExportView(APIView):
    """The inspector export of a batch (SPEC §2.10), for auditors and qualified persons; 409
    while the batch has no signed record (not released or rejected)."""

    permission_resource = "inspector_export"

    def get(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        name, data = inspector_export(batch_id=pk, actor=request.user)
        return zip_response(name, data)


class AuditReviewSerializer(GalliumModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username", read_only=True)

    class Meta:
        model = AuditReview
        fields = [
            "id",
            "period_start",
            "period_end",
            "reviewer",
            "printed_name",
            "meaning",
            "note",
            "signed_at",
            "entry_count",
            "last_entry_id",
            "last_entry_hash",
        ]
        read_only_fields = fields


class AuditReviewSignSerializer(serializers.Serializer):
    period_start = AwareDateTimeField()
    period_end = AwareDateTimeField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH)
    expected_last_entry_id = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The last entry of the period the reviewer saw (0: none): a different one is a "
        "409, nothing signed.",
    )
    password = signature_password_field()
    otp_token = signature_otp_field()


@extend_schema(tags=["audit"])
class AuditReviewListView(generics.ListCreateAPIView):
    """GET: the signed audit-trail reviews, latest period first. POST: sign the review of a
    period (auditor or qualified person; password, and a one-time code where required)."""

    permission_resource = "audit_reviews"
    serializer_class = AuditReviewSerializer
    queryset = AuditReview.objects.select_related("reviewer").order_by("-period_end", "-id")

    @extend_schema(responses={200: AuditReviewSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AuditReviewSignSerializer,
        responses={201: AuditReviewSerializer, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        given = AuditReviewSignSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        review = reviews.audit_review_sign(
            actor=request.user,
            password=data["password"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            note=data.get("note", ""),
            expected_last_entry_id=data.get("expected_last_entry_id"),
            otp_token=data.get("otp_token", ""),
            request=request,
        )
        return Response(AuditReviewSerializer(review).data, status=status.HTTP_201_CREATED)
