"""Root URLs. Each area adds its own API and web routes in its module's `api_urls`/`web_urls`."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from radiopharmacy.api.audit import AuditEventList
from radiopharmacy.api.auth import TokenObtain
from radiopharmacy.site import home as views

api_v1 = [
    path("auth/token/", TokenObtain.as_view(), name="api-token"),
    path("audit/", AuditEventList.as_view(), name="api-audit"),
    path("", include("radiopharmacy.api.urls")),
    path("", include("qc.api.urls")),
    path("", include("scheduling.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("preferences/unit/", views.set_activity_unit, name="set-activity-unit"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("radiopharmacy.web.urls")),
    path("", include("qc.web.urls")),
    path("", include("scheduling.web.urls")),
]
