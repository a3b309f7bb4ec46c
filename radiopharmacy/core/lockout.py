"""What a locked account is answered (django-axes' AXES_LOCKOUT_CALLABLE).

Under /api/ a JSON 403 like every other API refusal; pages show registration/locked_out.html.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

LOCKED_MESSAGE = (
    "Account locked after {limit} failed log-in or signature attempts. Try again in {minutes} "
    "minutes or ask an administrator to unlock it."
)


def locked_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return LOCKED_MESSAGE.format(limit=settings.AXES_FAILURE_LIMIT, minutes=minutes)


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": locked_message()}, status=403)
    return render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"message": locked_message(), "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=403,
    )
