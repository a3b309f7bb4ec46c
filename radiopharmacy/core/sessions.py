"""The idle timeout: a session ends SESSION_COOKIE_AGE after the person's last request.

Only what a person does counts as activity. A page's background refresh (the batch pages poll
every 30 s) is marked with the `X-Gallium-Poll: 1` header (or `?poll=1`) and neither records
activity nor saves the session, so a tablet left on a batch page is signed out after the idle
time like any other. Activity is the time of the last request in the session itself, checked on
every request, so nothing but a person's request can push it back; the session's own expiry
(`SESSION_SAVE_EVERY_REQUEST` off, the session saved when activity is recorded) agrees with it.

An htmx request whose session has ended is answered with `HX-Redirect` to the login page, so the
browser goes there instead of swapping the login form into the page.
"""

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse
from django.shortcuts import resolve_url

LAST_ACTIVITY_KEY = "_gallium_last_activity"
POLL_HEADER = "X-Gallium-Poll"


def is_background_request(request) -> bool:
    """A refresh the page makes on its own, not something the person did."""
    return request.headers.get(POLL_HEADER) == "1" or request.GET.get("poll") == "1"


class IdleSessionMiddleware:
    """After AuthenticationMiddleware: ends an idle session, records a person's activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is None:
            return self.get_response(request)
        now = int(time.time())
        last = session.get(LAST_ACTIVITY_KEY)
        if last is not None and now - int(last) >= settings.SESSION_COOKIE_AGE:
            logout(request)  # flushes the session: the next page asks for a log-in
        response = self.get_response(request)
        # Only a session sign-in has an idle time (an API token does not make a session).
        signed_in = SESSION_KEY in request.session
        if signed_in and not is_background_request(request):
            # A change marks the session modified, so SessionMiddleware saves it and its expiry
            # moves to now + SESSION_COOKIE_AGE.
            request.session[LAST_ACTIVITY_KEY] = now
        return _htmx_login_redirect(request, response)


def _htmx_login_redirect(request, response):
    if request.headers.get("HX-Request") != "true" or response.status_code != 302:
        return response
    login_url = resolve_url(settings.LOGIN_URL)
    location = response.get("Location", "")
    if not location.startswith(login_url):
        return response
    # Back to the page the person was on, not to the fragment it was refreshing.
    page = urlsplit(request.headers.get("HX-Current-URL", ""))
    if page.path:
        location = f"{login_url}?{urlencode({'next': page.path})}"
    redirect = HttpResponse(status=204)
    redirect["HX-Redirect"] = location
    return redirect
