"""A request id on every request, response and log line, so a 500 in the log can be matched
with what the person saw (the `X-Request-ID` header) and with the proxy's log.

The middleware takes the proxy's `X-Request-ID` when it looks like one, or makes one; the
logging filter puts it on every record as `request_id` ("-" outside a request: Celery, commands).
"""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("gallium_request_id", default="-")
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def current_request_id() -> str:
    return _current.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        request_id = given if _ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (the request's, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or _current.get()
        return True
