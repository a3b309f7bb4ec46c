"""POST /api/v1/auth/token/: exchange a username and password for an API token."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

LOCKED_MESSAGE = (
    "Account locked after 5 failed log-in attempts. Try again in 30 minutes or ask an "
    "administrator to unlock it."
)


def _locked_out(request) -> bool:
    # django-axes marks the request it refused (the DRF wrapper or Django's own request).
    return bool(
        getattr(request, "axes_locked_out", False)
        or getattr(getattr(request, "_request", None), "axes_locked_out", False)
    )


class TokenObtain(ObtainAuthToken):
    """Returns `{"token"}` for `Authorization: Token <t>`. Five failures lock the account."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: None,
            403: None,
        }
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if _locked_out(request):
                return Response({"detail": LOCKED_MESSAGE}, status=403)
            raise
