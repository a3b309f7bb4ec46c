"""Root URLs: the admin, the API under /api/v1/ and the pages, each app with its own `urls.py`
per edge (`<app>/api/urls.py`, `<app>/web/urls.py`) and the site's pages on top."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from radiopharmacy.core import urlconverters  # noqa: F401 - registers <id:...> before the includes

api_v1 = [
    path("", include("radiopharmacy.api.urls")),
    path("", include("qc.api.urls")),
    path("", include("scheduling.api.urls")),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("radiopharmacy.site.urls")),
    path("", include("radiopharmacy.web.urls")),
    path("", include("qc.web.urls")),
    path("", include("scheduling.web.urls")),
]
