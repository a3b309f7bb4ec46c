"""Root URLs: the admin, the API under /api/v1/ and the pages, each app with its own `urls.py`
per edge (`<app>/api/urls.py`, `<app>/web/urls.py`) and the site's pages on top."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from radiopharmacy.core import urlconverters  # noqa: F401 - registers <id:...> before the includes
from radiopharmacy.core.apibase import api_not_found
from radiopharmacy.web import account

api_v1 = [
    path("", include("radiopharmacy.api.urls")),
    path("", include("qc.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("radiopharmacy.site.api_urls")),  # balance, forecast (read qc, scheduling)
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", account.TwoFactorView.as_view(), name="two-factor"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404 (whatever the method), like every API error.
    re_path(r"^api/", api_not_found),
    # FHIR R4 hand-off (SPEC §2.11): administered doses out, orders in; see the README.
    path("fhir/r4/", include("scheduling.fhir.urls")),
    path("", include("radiopharmacy.site.urls")),
    path("", include("radiopharmacy.web.urls")),
    path("", include("qc.web.urls")),
    path("", include("scheduling.web.urls")),
]

# Outside the API views (DEBUG off): JSON under /api/, the site's pages elsewhere.
handler404 = "radiopharmacy.core.apibase.page_not_found"
handler500 = "radiopharmacy.core.apibase.server_error"
