"""Web page routes of QC."""

from django.urls import path, re_path

from qc.web import (
    breakthrough,
    certificates,
    instrument_files,
    qc_entry,
    quality_events,
    recall,
    release,
    trends,
)

urlpatterns = [
    path("batches/<id:pk>/qc/", qc_entry.QcEntryView.as_view(), name="qc-entry"),
    path("batches/<id:pk>/qc/evaluate/", qc_entry.QcEvaluateView.as_view(), name="qc-evaluate"),
    path(
        "batches/<id:pk>/radio-tlc/",
        instrument_files.RadioTlcView.as_view(),
        name="qc-radio-tlc",
    ),
    path(
        "radio-tlc-files/<id:pk>/",
        instrument_files.RadioTlcFileView.as_view(),
        name="qc-radio-tlc-file",
    ),
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
    # quality events (SPEC §2.4a); the register is the site's "OOS and recalls" page
    path(
        "quality-events/new/",
        quality_events.QualityEventCreateView.as_view(),
        name="qc-event-create",
    ),
    path("quality-events/<id:pk>/", quality_events.QualityEventView.as_view(), name="qc-event"),
    path(
        "quality-events/<id:pk>/investigation/",
        quality_events.InvestigationRecordView.as_view(),
        name="qc-event-investigation",
    ),
    path(
        "quality-events/<id:pk>/close/",
        quality_events.EventCloseView.as_view(),
        name="qc-event-close",
    ),
    path(
        "quality-events/<id:pk>/capas/",
        quality_events.CapaCreateView.as_view(),
        name="qc-capa-create",
    ),
    path("capas/", quality_events.CapaListView.as_view(), name="qc-capas"),
    path(
        "capas/<id:pk>/complete/",
        quality_events.CapaStepView.as_view(step="complete"),
        name="qc-capa-complete",
    ),
    path(
        "capas/<id:pk>/verify/",
        quality_events.CapaStepView.as_view(step="verify"),
        name="qc-capa-verify",
    ),
    path("batches/<id:pk>/recall/", recall.RecallView.as_view(), name="qc-recall"),
    path("batches/<id:pk>/lookback/", recall.LookbackView.as_view(), name="qc-lookback"),
    path("batches/<id:pk>/lookback.csv", recall.LookbackCsvView.as_view(), name="qc-lookback-csv"),
    path(
        "elutions/<id:pk>/breakthrough/",
        breakthrough.BreakthroughCreateView.as_view(),
        name="elution-breakthrough",
    ),
    # quality analytics (SPEC §2.9)
    path("trends/", trends.TrendsView.as_view(), name="qc-trends"),
    path("quality-reviews/", trends.QualityReviewsView.as_view(), name="qc-quality-reviews"),
    path(
        "quality-reviews/<id:pk>/pdf/",
        trends.QualityReviewPdfView.as_view(),
        name="qc-quality-review-pdf",
    ),
]
