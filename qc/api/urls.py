"""API routes of this area, under /api/v1/."""

urlpatterns: list = []

# --- Release and certificates (issue 4 part B) ---
from django.urls import path  # noqa: E402

from qc.api import release as api_release  # noqa: E402

urlpatterns += [
    path(
        "batches/<int:pk>/release/",
        api_release.BatchReleaseView.as_view(),
        name="api-batch-release",
    ),
    path(
        "batches/<int:pk>/certificate/",
        api_release.BatchCertificateView.as_view(),
        name="api-batch-certificate",
    ),
    path(
        "certificates/verify/<str:sha256>/",
        api_release.CertificateVerifyView.as_view(),
        name="api-certificate-verify",
    ),
]

# --- QC results, release check, specifications, deviations (issue 4 part A) ---
from qc.api import results as api  # noqa: E402

urlpatterns += [
    path(
        "batches/<int:pk>/qc-results/",
        api.QcResultListCreate.as_view(),
        name="api-batch-qc-results",
    ),
    path(
        "batches/<int:pk>/release-check/",
        api.ReleaseCheck.as_view(),
        name="api-batch-release-check",
    ),
    path("specifications/", api.SpecificationList.as_view(), name="api-specifications"),
    path("deviations/", api.DeviationList.as_view(), name="api-deviations"),
]

from qc.api import breakthrough  # noqa: E402

urlpatterns += [
    path(
        "elutions/<int:pk>/breakthrough/",
        breakthrough.ElutionBreakthrough.as_view(),
        name="api-elution-breakthrough",
    ),
]
