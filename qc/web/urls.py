"""Web page routes of this area."""

urlpatterns: list = []

# --- Release and certificates (issue 4 part B) ---
from django.urls import path, re_path  # noqa: E402

from qc.web import release as views_release  # noqa: E402

urlpatterns += [
    path("release/", views_release.AwaitingReleaseView.as_view(), name="qc-awaiting-release"),
    path("release/today/", views_release.ReleasedTodayView.as_view(), name="qc-released-today"),
    path("batches/<int:pk>/release/", views_release.ReleaseView.as_view(), name="qc-release"),
    path(
        "batches/<int:pk>/certificate.pdf",
        views_release.CertificateDownloadView.as_view(),
        name="qc-certificate-download",
    ),
    path("verify/", views_release.verify, name="verify-form"),
    # the address printed on certificates and in their QR code: /verify/<code>, no slash needed
    re_path(r"^verify/(?P<code>[A-Za-z0-9._-]{1,100})/?$", views_release.verify, name="verify"),
]

# --- QC entry with live pass/fail (issue 4 part A) ---
from qc.web import qc_entry as views  # noqa: E402

urlpatterns += [
    path("batches/<int:pk>/qc/", views.QcEntryView.as_view(), name="qc-entry"),
    path("batches/<int:pk>/qc/evaluate/", views.QcEvaluateView.as_view(), name="qc-evaluate"),
]

from qc.web import breakthrough  # noqa: E402

urlpatterns += [
    path(
        "elutions/<int:pk>/breakthrough/",
        breakthrough.BreakthroughCreateView.as_view(),
        name="elution-breakthrough",
    ),
]
