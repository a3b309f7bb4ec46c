"""API routes of the site layer, under /api/v1/: what reads production, QC and scheduling."""

from django.urls import path

from radiopharmacy.site import api, audit_api, inspector_api

urlpatterns = [
    path("audit/", audit_api.AuditEntryList.as_view(), name="api-audit"),
    path("audit/export/", audit_api.AuditEntryExport.as_view(), name="api-audit-export"),
    path("batches/<id:pk>/balance/", api.BatchBalanceView.as_view(), name="api-batch-balance"),
    path(
        "generators/<id:pk>/forecast/",
        api.GeneratorForecastView.as_view(),
        name="api-generator-forecast",
    ),
    path(
        "batches/<id:pk>/inspector-export/",
        inspector_api.BatchInspectorExportView.as_view(),
        name="api-batch-inspector-export",
    ),
    path("audit-reviews/", inspector_api.AuditReviewListView.as_view(), name="api-audit-reviews"),
]
