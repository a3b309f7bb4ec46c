"""API tokens (django-rest-knox): POST /api/v1/auth/token/ and POST /api/v1/auth/logout/.

A token is stored hashed, expires after REST_KNOX["TOKEN_TTL"] (10 h by default) and is deleted by
a logout, a password change, a deactivation or a lockout (radiopharmacy/core/accounts.py). Clients
send `Authorization: Token <t>`. Failed log-ins count towards the django-axes lockout.
"""

from django.contrib.auth import authenticate, logout, user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import get_token_model
from knox.settings import knox_settings
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.lockout import locked_message

DETAIL = inline_serializer("AuthDetail", {"detail": serializers.CharField()})


def _locked_out(request) -> bool:
    # django-axes marks the request it refused (Django's own request under DRF's).
    return bool(
        getattr(request, "axes_locked_out", False)
        or getattr(getattr(request, "_request", None), "axes_locked_out", False)
    )


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class TokenObtain(APIView):
    """Returns `{"token", "expiry"}` for `Authorization: Token <t>`. Five failures lock the
    account."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        request=TokenObtainSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Wrong username or password (field messages)."),
            403: OpenApiResponse(DETAIL, description="The account is locked."),
        },
    )
    def post(self, request, *args, **kwargs):
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        http_request = request._request
        user = authenticate(
            http_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if _locked_out(request):
                return Response({"detail": locked_message()}, status=status.HTTP_403_FORBIDDEN)
            raise ValidationError(
                {"non_field_errors": ["Unable to log in with the username and password given."]}
            )
        instance, token = get_token_model().objects.create(
            user=user, expiry=knox_settings.TOKEN_TTL
        )
        user_logged_in.send(sender=type(user), request=http_request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


class TokenLogout(APIView):
    """Deletes the token the request was made with (a session is ended instead)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={
            204: OpenApiResponse(description="Logged out: the token no longer works."),
            401: OpenApiResponse(DETAIL, description="Not authenticated."),
        },
    )
    def post(self, request, *args, **kwargs):
        token = request.auth
        if isinstance(token, get_token_model()):
            token.delete()
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
