"""Pages of the site layer: home, the batch record, and the auditor's pages."""

from django.urls import path

from radiopharmacy.site import audit_pages, batch_record, batch_record_pdf, home, inspector

urlpatterns = [
    path("", home.home, name="home"),
    path("batches/<id:pk>/", batch_record.BatchDetailView.as_view(), name="batch-detail"),
    path(
        "batches/<id:pk>/record.pdf",
        batch_record_pdf.BatchRecordPdfView.as_view(),
        name="batch-record-pdf",
    ),
    path(
        "batches/<id:pk>/activity-now/",
        batch_record.BatchActivityNowView.as_view(),
        name="batch-activity-now",
    ),
    path("audit/", audit_pages.AuditSearchView.as_view(), name="audit-search"),
    path("oos-recalls/", audit_pages.OosRecallsView.as_view(), name="oos-recalls"),
    # SPEC §2.8 and §2.10: the audit-trail review and the inspector export
    path("audit/reviews/", inspector.AuditReviewListView.as_view(), name="audit-reviews"),
    path("audit/reviews/new/", inspector.AuditReviewView.as_view(), name="audit-review"),
    path(
        "batches/<id:pk>/inspector-export/",
        inspector.BatchInspectorExportView.as_view(),
        name="batch-inspector-export",
    ),
]
