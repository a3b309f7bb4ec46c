"""Input checks shared by every service: each raises ApplicationError naming the field, so the
API answers 400 with a message per field and a form shows it next to the input."""

import math
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from radiopharmacy.core.bounds import EARLIEST_TIME, LATEST_TIME, MAX_UTC_OFFSET, TEXT_MAX_LENGTH
from radiopharmacy.core.errors import ApplicationError

# Tablet and calibrator clocks drift: a time a minute "in the future" is a clock, not a typo
# (SPEC §2.4: 1 min of clock skew allowed).
CLOCK_SKEW = timedelta(minutes=1)

OFFSET_MESSAGE = "A UTC offset lies between -14:00 and +14:00."
RANGE_MESSAGE = (
    f"Give a time between {EARLIEST_TIME:%Y} and {LATEST_TIME:%Y}; this one cannot be right."
)


def time_problem(value: datetime) -> str | None:
    """Why an aware datetime cannot be a real record's time (an impossible UTC offset, a year
    like 0001 or 9999), or None. Never raises: a year-1 time with a positive offset overflows
    when converted, and that is an answer here, not an exception."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return OFFSET_MESSAGE
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return RANGE_MESSAGE
    if not EARLIEST_TIME <= utc < LATEST_TIME:
        return RANGE_MESSAGE
    return None


DAY_MESSAGE = f"Give a date between {EARLIEST_TIME:%Y} and {LATEST_TIME:%Y}."


def plausible_day(day) -> bool:
    """Whether a calendar day lies in the years a record can have (2000 to 2099): a day like
    0001-01-01 or 9999-12-31 overflows when its bounds are converted to UTC."""
    return EARLIEST_TIME.date() <= day < LATEST_TIME.date()


def to_utc(value: datetime, field: str) -> datetime:
    """An aware datetime normalised to UTC (what reaches the database), or a 400 on `field`."""
    require_aware(value, field)
    problem = time_problem(value)
    if problem:
        raise ApplicationError("Invalid time.", fields={field: [problem]})
    return value.astimezone(UTC)


NAIVE_MESSAGE = "Give the time with its UTC offset; a time without one is ambiguous."


def require_aware(value, field: str) -> datetime:
    """`value` if it is an aware datetime, else a 400 on `field`."""
    if not isinstance(value, datetime):
        raise ApplicationError("A date and time is required.", fields={field: ["Required."]})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApplicationError("Invalid time.", fields={field: [NAIVE_MESSAGE]})
    return value


def positive_number(
    value, field: str, label: str, *, unit: str = "", maximum: float | None = None
) -> float:
    """`value` as a float if it is a finite number above 0 (and at most `maximum`)."""
    if isinstance(value, bool):  # True MBq is always a bug
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            f"{label} must be a number.", fields={field: ["Enter a number."]}
        ) from None
    suffix = f" {unit}" if unit else ""
    if not math.isfinite(number) or number <= 0:
        raise ApplicationError(
            f"{label} must be positive.",
            fields={field: [f"{label} must be greater than 0{suffix}."]},
        )
    if maximum is not None and number > maximum:
        raise ApplicationError(
            f"{label} is implausibly large.",
            fields={
                field: [
                    f"{label} of {number:g}{suffix} cannot be right: at most "
                    f"{maximum:g}{suffix}. Check the unit."
                ]
            },
        )
    return number


def not_future(value: datetime, field: str, label: str, *, now: datetime | None = None) -> None:
    """A 400 on `field` when `value` is later than now (beyond the clock skew)."""
    if value > (now or timezone.now()) + CLOCK_SKEW:
        raise ApplicationError(
            f"{label} is in the future.",
            fields={field: [f"{label} cannot be in the future."]},
        )


def within_window(
    value: datetime,
    field: str,
    label: str,
    *,
    past: timedelta,
    future: timedelta,
    now: datetime | None = None,
) -> None:
    """A 400 on `field` when `value` is more than `past` before now or `future` after it."""
    now = now or timezone.now()
    if value < now - past or value > now + future:
        raise ApplicationError(
            f"{label} is outside the allowed window.",
            fields={
                field: [
                    f"{label} must lie within {past.days} days before and {future.days} days "
                    "after today."
                ]
            },
        )


def bounded_text(value, field: str, label: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
    """`value` as text, or a 400 on `field` when it is longer than `max_length` characters."""
    text = "" if value is None else str(value)
    if len(text) > max_length:
        raise ApplicationError(
            f"{label} is too long.",
            fields={field: [f"Ensure this field has no more than {max_length} characters."]},
        )
    return text


def required_text(value, field: str, message: str) -> str:
    """The stripped text, or a 400 on `field` with `message` when it is empty."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise ApplicationError(message, fields={field: [message]})
    return bounded_text(text, field, "The text")
