"""Pages of the production domain: generators, elutions, batch records, alerts, preferences."""

from django.urls import path

from radiopharmacy.web import alerts, batches, generators, preferences

urlpatterns = [
    path("generators/", generators.GeneratorListView.as_view(), name="generator-list"),
    path("generators/new/", generators.GeneratorCreateView.as_view(), name="generator-create"),
    path(
        "generators/<id:pk>/",
        generators.GeneratorDetailView.as_view(),
        name="generator-detail",
    ),
    path(
        "generators/<id:pk>/status/",
        generators.GeneratorStatusView.as_view(),
        name="generator-status",
    ),
    path(
        "generators/<id:pk>/accept/",
        generators.GeneratorAcceptView.as_view(),
        name="generator-accept",
    ),
    path(
        "generators/<id:pk>/elutions/new/",
        generators.ElutionCreateView.as_view(),
        name="elution-create",
    ),
    path(
        "elutions/<id:pk>/correction/",
        generators.ElutionCorrectionView.as_view(),
        name="elution-correction",
    ),
    path("batches/", batches.BatchListView.as_view(), name="batch-list"),
    path("batches/new/", batches.BatchCreateView.as_view(), name="batch-create"),
    path(
        "batches/<id:pk>/correction/",
        batches.BatchCorrectionView.as_view(),
        name="batch-correction",
    ),
    path(
        "alerts/<id:pk>/acknowledge/",
        alerts.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path("preferences/unit/", preferences.set_activity_unit, name="set-activity-unit"),
]
