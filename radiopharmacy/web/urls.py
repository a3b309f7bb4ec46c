"""Web page routes of this area."""

urlpatterns: list = []

# Generators, elutions and breakthrough pages (issue 3).
from django.urls import path  # noqa: E402

from radiopharmacy.web import generators as generator_pages  # noqa: E402

urlpatterns += [
    path("generators/", generator_pages.GeneratorListView.as_view(), name="generator-list"),
    path("generators/new/", generator_pages.GeneratorCreateView.as_view(), name="generator-create"),
    path(
        "generators/<int:pk>/",
        generator_pages.GeneratorDetailView.as_view(),
        name="generator-detail",
    ),
    path(
        "generators/<int:pk>/status/",
        generator_pages.GeneratorStatusView.as_view(),
        name="generator-status",
    ),
    path(
        "generators/<int:pk>/elutions/new/",
        generator_pages.ElutionCreateView.as_view(),
        name="elution-create",
    ),
    path(
        "elutions/<int:pk>/correction/",
        generator_pages.ElutionCorrectionView.as_view(),
        name="elution-correction",
    ),
    path(
        "elutions/<int:pk>/breakthrough/",
        generator_pages.BreakthroughCreateView.as_view(),
        name="elution-breakthrough",
    ),
]

# Synthesis batch records (issue 4 part A).
from radiopharmacy.web import batches as batch_pages  # noqa: E402

urlpatterns += [
    path("batches/", batch_pages.BatchListView.as_view(), name="batch-list"),
    path("batches/new/", batch_pages.BatchCreateView.as_view(), name="batch-create"),
    path("batches/<int:pk>/", batch_pages.BatchDetailView.as_view(), name="batch-detail"),
    path(
        "batches/<int:pk>/correction/",
        batch_pages.BatchCorrectionView.as_view(),
        name="batch-correction",
    ),
    path(
        "batches/<int:pk>/activity-now/",
        batch_pages.BatchActivityNowView.as_view(),
        name="batch-activity-now",
    ),
]

# Dashboards, auditor pages (issue 7).
from radiopharmacy.site import audit_pages as audit_pages  # noqa: E402
from radiopharmacy.web import alerts as dashboard_actions  # noqa: E402

urlpatterns += [
    path("audit/", audit_pages.AuditSearchView.as_view(), name="audit-search"),
    path("oos-recalls/", audit_pages.OosRecallsView.as_view(), name="oos-recalls"),
    path(
        "alerts/<int:pk>/acknowledge/",
        dashboard_actions.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
]
