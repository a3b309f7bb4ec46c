"""API routes of QC, under /api/v1/."""

from django.urls import path

from qc.api import breakthrough, certificates, deviations, release, results, specifications

urlpatterns = [
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
    path("deviations/", deviations.DeviationList.as_view(), name="api-deviations"),
    path(
        "elutions/<id:pk>/breakthrough/",
        breakthrough.ElutionBreakthrough.as_view(),
        name="api-elution-breakthrough",
    ),
]
