"""Web page routes of QC."""

from django.urls import path, re_path

from qc.web import breakthrough, certificates, qc_entry, release

urlpatterns = [
    path("batches/<id:pk>/qc/", qc_entry.QcEntryView.as_view(), name="qc-entry"),
    path("batches/<id:pk>/qc/evaluate/", qc_entry.QcEvaluateView.as_view(), name="qc-evaluate"),
    path("release/", release.AwaitingReleaseView.as_view(), name="qc-awaiting-release"),
    path("release/today/", release.ReleasedTodayView.as_view(), name="qc-released-today"),
    path("batches/<id:pk>/release/", release.ReleaseView.as_view(), name="qc-release"),
    path(
        "batches/<id:pk>/certificate.pdf",
        certificates.CertificateDownloadView.as_view(),
        name="qc-certificate-download",
    ),
    path("verify/", certificates.verify, name="verify-form"),
    # the address printed on certificates and in their QR code: /verify/<code>, no slash needed
    re_path(r"^verify/(?P<code>[A-Za-z0-9._-]{1,100})/?$", certificates.verify, name="verify"),
    path(
        "elutions/<id:pk>/breakthrough/",
        breakthrough.BreakthroughCreateView.as_view(),
        name="elution-breakthrough",
    ),
]
