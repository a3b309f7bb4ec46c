"""API routes of QC, under /api/v1/."""

from django.urls import path

from qc.api import (
    breakthrough,
    certificates,
    deviations,
    instrument_files,
    quality_reviews,
    recall,
    release,
    results,
    specifications,
    trends,
)

urlpatterns = [
    path(
        "batches/<id:pk>/radio-tlc/preview/",
        instrument_files.RadioTlcPreview.as_view(),
        name="api-batch-radio-tlc-preview",
    ),
    path(
        "batches/<id:pk>/radio-tlc/",
        instrument_files.RadioTlcImport.as_view(),
        name="api-batch-radio-tlc",
    ),
    path(
        "radio-tlc-files/<id:pk>/raw/",
        instrument_files.RadioTlcRaw.as_view(),
        name="api-radio-tlc-raw",
    ),
    path(
        "batches/<id:pk>/qc-results/",
        results.QcResultListCreate.as_view(),
        name="api-batch-qc-results",
    ),
    path(
        "batches/<id:pk>/release-check/",
        release.ReleaseCheck.as_view(),
        name="api-batch-release-check",
    ),
    path(
        "batches/<id:pk>/release/",
        release.BatchReleaseView.as_view(),
        name="api-batch-release",
    ),
    path(
        "batches/<id:pk>/certificate/",
        certificates.BatchCertificateView.as_view(),
        name="api-batch-certificate",
    ),
    path(
        "certificates/verify/<str:sha256>/",
        certificates.CertificateVerifyView.as_view(),
        name="api-certificate-verify",
    ),
    path(
        "specifications/",
        specifications.SpecificationList.as_view(),
        name="api-specifications",
    ),
    path("deviations/", deviations.DeviationListCreate.as_view(), name="api-deviations"),
    path("deviations/<id:pk>/", deviations.DeviationDetail.as_view(), name="api-deviation"),
    path(
        "deviations/<id:pk>/investigation/",
        deviations.DeviationInvestigation.as_view(),
        name="api-deviation-investigation",
    ),
    path(
        "deviations/<id:pk>/close/",
        deviations.DeviationClose.as_view(),
        name="api-deviation-close",
    ),
    path("capas/", deviations.CapaListCreate.as_view(), name="api-capas"),
    path("capas/<id:pk>/complete/", deviations.CapaComplete.as_view(), name="api-capa-complete"),
    path("capas/<id:pk>/verify/", deviations.CapaVerify.as_view(), name="api-capa-verify"),
    path("batches/<id:pk>/recall/", recall.BatchRecallView.as_view(), name="api-batch-recall"),
    path(
        "batches/<id:pk>/lookback/", recall.BatchLookbackView.as_view(), name="api-batch-lookback"
    ),
    path(
        "elutions/<id:pk>/breakthrough/",
        breakthrough.ElutionBreakthrough.as_view(),
        name="api-elution-breakthrough",
    ),
    path("trends/", trends.TrendChart.as_view(), name="api-trends"),
    path(
        "quality-reviews/",
        quality_reviews.QualityReviewListCreate.as_view(),
        name="api-quality-reviews",
    ),
    path(
        "quality-reviews/<id:pk>/pdf/",
        quality_reviews.QualityReviewPdf.as_view(),
        name="api-quality-review-pdf",
    ),
]
