"""Shared API building blocks: aware datetime fields, pagination and the one exception handler."""

import logging
from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import models
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from radiopharmacy.core.checks import time_problem
from radiopharmacy.core.errors import ApplicationError, InputError

logger = logging.getLogger("gallium")

# Documented error responses, shared by every endpoint's extend_schema.
ERR_400 = OpenApiResponse(description="Bad input: `detail` and a message per field.")
ERR_401 = OpenApiResponse(description="Not authenticated.")
ERR_403 = OpenApiResponse(description="The role does not allow this.")
ERR_404 = OpenApiResponse(description="No such record.")
ERR_409 = OpenApiResponse(description='Refused state change: {"detail": ..., "blocking": [...]}.')
READ_ERRORS = {401: ERR_401, 403: ERR_403}
WRITE_ERRORS = {400: ERR_400, 401: ERR_401, 403: ERR_403}

NAIVE_DATETIME_MESSAGE = (
    "Give the time with its UTC offset (for example 2026-11-24T08:30:00+01:00); "
    "a time without an offset is ambiguous."
)


# The largest id a database integer column holds (SQLite and PostgreSQL bigint): a larger one is
# bad input. Unchecked, the database driver raises OverflowError or DataError, a 500.
MAX_RECORD_ID = 2**63 - 1


# What a person types to sign (SPEC §2.5, §2.8), on every signing endpoint alike.
PASSWORD_MAX_LENGTH = 4096


def signature_password_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=PASSWORD_MAX_LENGTH,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )


def signature_otp_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=16,
        write_only=True,
        help_text="The qualified person's one-time code (TOTP) when the site requires it.",
    )


class RecordIdField(serializers.IntegerField):
    """A record id in a request body: a whole number from 1 that the database can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_RECORD_ID)
        super().__init__(**kwargs)


class RecordIdFilter(django_filters.NumberFilter):
    """A record id in the query string (same bounds as RecordIdField)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_RECORD_ID)
        super().__init__(*args, **kwargs)


class AwareDateTimeField(serializers.DateTimeField):
    """A datetime that must carry its offset: a naive value is a 400, never guessed; so is an
    impossible offset (beyond ±14:00, which PostgreSQL refuses with a 500) or a year like 0001.
    What it gives the service is in UTC."""

    default_error_messages = {"naive": NAIVE_DATETIME_MESSAGE}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        problem = time_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        return super().enforce_timezone(value)

    def to_internal_value(self, value):
        return super().to_internal_value(value).astimezone(UTC)


def query_datetime(value: str | None, field: str):
    """An aware datetime from the query string, or None when absent; 400 when naive or bad.

    An unencoded `+01:00` arrives as ` 01:00` (a `+` in a query string is a space): put it back.
    """
    if value is None or value == "":
        return None
    text = value.strip()
    if len(text) > 6 and text[-6] == " " and text[-3] == ":":
        text = f"{text[:-6]}+{text[-5:]}"
    try:
        return AwareDateTimeField().run_validation(text)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({field: exc.detail}) from None


class AwareIsoDateTimeFormField(django_filters.fields.IsoDateTimeField):
    """Query-string datetime that must carry a real offset; given to the query in UTC."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                raise forms.ValidationError(NAIVE_DATETIME_MESSAGE, code="naive")
            if parsed is not None and time_problem(parsed):
                raise forms.ValidationError(time_problem(parsed), code="invalid")
        result = super().to_python(value)
        if result is None:
            return None
        problem = time_problem(result)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return result.astimezone(UTC)


class AwareIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = AwareIsoDateTimeFormField


class GalliumModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose datetime fields refuse naive values."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
    }


# Lists count their rows up to this many, so a request never counts a whole table (five years of
# elutions, audit entries, doses); past it, `count` says "at least this" (`count_exact` false)
# and the pages still follow each other by `next`.
COUNT_LIMIT = 1000


class BoundedPage(Page):
    """A page that knows whether another follows without knowing how many there are."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class BoundedCountPaginator(Paginator):
    """Django's paginator with the count bounded: `COUNT(*)` over at most COUNT_LIMIT + 1 rows
    (a sliced subquery), then, beyond the limit, each page read with one row more to see if a
    next one exists. The cost is the same whatever the size of the table."""

    count_limit = COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if hasattr(rows, "query"):
            return rows[: self.count_limit + 1].count()
        return len(rows)

    @property
    def count_exact(self) -> bool:
        return self.count <= self.count_limit

    def validate_number(self, number):
        if self.count_exact:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        if self.count_exact:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return BoundedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class Pagination(PageNumberPagination):
    """SPEC §3 pages (`count`, `next`, `previous`, `results`), with `count` exact up to
    COUNT_LIMIT rows and `count_exact` false past it (then `count` is COUNT_LIMIT: "1000+")."""

    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = BoundedCountPaginator

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": min(paginator.count, paginator.count_limit),
                "count_exact": paginator.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        properties = described["properties"]
        properties["count"]["description"] = (
            f"Number of results, counted up to {COUNT_LIMIT}; when `count_exact` is false there "
            f"are more (show it as {COUNT_LIMIT}+) and the pages go on while `next` is set."
        )
        described["properties"] = {
            "count": properties["count"],
            "count_exact": {
                "type": "boolean",
                "example": True,
                "description": f"False when there are more than {COUNT_LIMIT} results.",
            },
            **{k: v for k, v in properties.items() if k != "count"},
        }
        described["required"] = ["count", "count_exact", "results"]
        return described


def _field_errors(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in error.message_dict.items()
        }
    return {"detail": " ".join(error.messages)}


def exception_handler(exc, context):
    """Map domain and input errors to 400/403/404/409 with a message; DRF does the rest."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(_field_errors(exc), status=400)
    if isinstance(exc, InputError):
        # The pure modules' word for impossible input (a naive time, a negative activity): the
        # caller's mistake. Any other exception is ours: DRF re-raises it, Django answers 500
        # and logs it with its traceback (django.request).
        return Response({"detail": str(exc)}, status=400)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


# --- Errors outside the API views: JSON under /api/, like every other API answer --------------

API_PREFIX = "/api/"


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """An unknown path under /api/ (any method): a JSON 404, never the HTML page."""
    detail = "No such API endpoint."
    if not request.path.endswith("/"):
        detail += " API paths end with a slash."
    return JsonResponse({"detail": detail}, status=404)


def _request_id(request) -> str:
    return getattr(request, "request_id", "") or ""


def page_not_found(request, exception=None):
    """handler404: JSON under /api/, the site's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON under /api/ (with the request id the log line carries), else the page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "Server error.", "request_id": _request_id(request)}, status=500
        )
    return defaults.server_error(request)
