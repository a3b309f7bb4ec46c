"""Input checks shared by every service: each raises ApplicationError naming the field, so the
API answers 400 with a message per field and a form shows it next to the input."""

import math
from datetime import datetime, timedelta

from django.utils import timezone

from radiopharmacy.core.errors import ApplicationError

# Tablet and calibrator clocks drift: a time a minute "in the future" is a clock, not a typo.
CLOCK_SKEW = timedelta(minutes=2)

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


def required_text(value, field: str, message: str) -> str:
    """The stripped text, or a 400 on `field` with `message` when it is empty."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise ApplicationError(message, fields={field: [message]})
    return text
