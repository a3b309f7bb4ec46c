"""API routes of this area, under /api/v1/."""

urlpatterns: list = []

# Generators, elutions, breakthrough and decay (issue 3).
from django.urls import path  # noqa: E402

from radiopharmacy.api import decay as decay_api  # noqa: E402
from radiopharmacy.api import generators as generators_api  # noqa: E402

urlpatterns += [
    path("decay/", decay_api.Decay.as_view(), name="api-decay"),
    path("generators/", generators_api.GeneratorListCreate.as_view(), name="api-generators"),
    path("generators/<int:pk>/", generators_api.GeneratorDetail.as_view(), name="api-generator"),
    path(
        "generators/<int:pk>/status/",
        generators_api.GeneratorStatusChange.as_view(),
        name="api-generator-status",
    ),
    path(
        "generators/<int:pk>/prediction/",
        generators_api.GeneratorPrediction.as_view(),
        name="api-generator-prediction",
    ),
    path("elutions/", generators_api.ElutionListCreate.as_view(), name="api-elutions"),
    path("elutions/<int:pk>/", generators_api.ElutionDetail.as_view(), name="api-elution"),
    path(
        "elutions/<int:pk>/correction/",
        generators_api.ElutionCorrection.as_view(),
        name="api-elution-correction",
    ),
    path(
        "elutions/<int:pk>/breakthrough/",
        generators_api.ElutionBreakthrough.as_view(),
        name="api-elution-breakthrough",
    ),
]

# Synthesis batch records (issue 4).
from radiopharmacy.api import batches as batches_api  # noqa: E402

urlpatterns += [
    path("batches/", batches_api.BatchListCreate.as_view(), name="api-batches"),
    path("batches/<int:pk>/", batches_api.BatchDetail.as_view(), name="api-batch"),
    path(
        "batches/<int:pk>/correction/",
        batches_api.BatchCorrection.as_view(),
        name="api-batch-correction",
    ),
    path(
        "batches/<int:pk>/activity/", batches_api.BatchActivity.as_view(), name="api-batch-activity"
    ),
]
