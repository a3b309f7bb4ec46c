"""API routes of the production domain, under /api/v1/."""

from django.urls import path

from radiopharmacy.api import auth, batches, decay, elutions, generators

urlpatterns = [
    path("auth/token/", auth.TokenObtain.as_view(), name="api-token"),
    path("auth/logout/", auth.TokenLogout.as_view(), name="api-logout"),
    path("decay/", decay.Decay.as_view(), name="api-decay"),
    path("generators/", generators.GeneratorListCreate.as_view(), name="api-generators"),
    path("generators/<id:pk>/", generators.GeneratorDetail.as_view(), name="api-generator"),
    path(
        "generators/<id:pk>/status/",
        generators.GeneratorStatusChange.as_view(),
        name="api-generator-status",
    ),
    path(
        "generators/<id:pk>/accept/",
        generators.GeneratorAccept.as_view(),
        name="api-generator-accept",
    ),
    path(
        "generators/<id:pk>/prediction/",
        generators.GeneratorPrediction.as_view(),
        name="api-generator-prediction",
    ),
    path("elutions/", elutions.ElutionListCreate.as_view(), name="api-elutions"),
    path("elutions/<id:pk>/", elutions.ElutionDetail.as_view(), name="api-elution"),
    path(
        "elutions/<id:pk>/correction/",
        elutions.ElutionCorrection.as_view(),
        name="api-elution-correction",
    ),
    path("batches/", batches.BatchListCreate.as_view(), name="api-batches"),
    path("batches/<id:pk>/", batches.BatchDetail.as_view(), name="api-batch"),
    path(
        "batches/<id:pk>/correction/",
        batches.BatchCorrection.as_view(),
        name="api-batch-correction",
    ),
]
