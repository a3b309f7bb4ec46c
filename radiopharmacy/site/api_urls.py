"""API routes of the site layer, under /api/v1/: what reads production, QC and scheduling."""

from django.urls import path

from radiopharmacy.site import api

urlpatterns = [
    path("batches/<id:pk>/balance/", api.BatchBalanceView.as_view(), name="api-batch-balance"),
    path(
        "generators/<id:pk>/forecast/",
        api.GeneratorForecastView.as_view(),
        name="api-generator-forecast",
    ),
]
