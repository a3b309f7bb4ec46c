"""API of the periodic product quality review (SPEC §2.9): request, list, download the PDF."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.models import QualityReview
from qc.services.quality_review import quality_review_request
from radiopharmacy.core.apibase import ERR_404, READ_ERRORS, WRITE_ERRORS


class QualityReviewSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    status = serializers.ChoiceField(choices=QualityReview.Status.choices, read_only=True)

    class Meta:
        model = QualityReview
        fields = [
            "id",
            "period_from",
            "period_to",
            "status",
            "requested_by",
            "requested_at",
            "sha256",
            "rendered_at",
        ]
        read_only_fields = fields


class QualityReviewRequestSerializer(serializers.Serializer):
    period_from = serializers.DateField(help_text="First site date of the period.")
    period_to = serializers.DateField(help_text="Last site date of the period (today at most).")


class QualityReviewListCreate(generics.ListAPIView):
    """Quality reviews, newest first; POST requests one (its PDF is rendered by a worker)."""

    permission_resource = "quality_reviews"
    serializer_class = QualityReviewSerializer
    queryset = QualityReview.objects.select_related("requested_by").defer("pdf")

    @extend_schema(
        request=QualityReviewRequestSerializer,
        responses={201: QualityReviewSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        data = QualityReviewRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = quality_review_request(actor=request.user, **data.validated_data)
        review.refresh_from_db()
        return Response(QualityReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class QualityReviewPdf(APIView):
    """The PDF of a quality review; 202 while it is rendered."""

    permission_resource = "quality_reviews"

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The quality review PDF."
            ),
            202: OpenApiResponse(DetailSerializer, description="Requested; being rendered."),
            404: ERR_404,
            **READ_ERRORS,
        },
    )
    def get(self, request, pk: int):
        review = get_object_or_404(QualityReview, pk=pk)
        if review.status != QualityReview.Status.DONE:
            return Response(
                {"detail": "The quality review is being rendered."},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": "5"},
            )
        return review_pdf_response(review)


def review_pdf_response(review: QualityReview, *, attachment: bool = False) -> HttpResponse:
    response = HttpResponse(bytes(review.pdf), content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{review.filename}"'
    response["X-Document-SHA256"] = review.sha256
    return response
