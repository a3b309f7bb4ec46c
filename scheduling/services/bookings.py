"""Writes for bookings (SPEC §2.6): book, reschedule, cancel, mark missed. Every write is audited
in the same transaction, and the day's production plans are queued for a recompute.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.bounds import PRESCRIBED_ACTIVITY_MAX_MBQ, TOLERANCE_MAX_PERCENT
from radiopharmacy.core.checks import (
    bounded_text,
    positive_number,
    required_text,
    to_utc,
    within_window,
)
from radiopharmacy.core.errors import ApplicationError, NotFound, StateConflict
from radiopharmacy.core.status import ensure_transition, transition
from radiopharmacy.models import Product
from radiopharmacy.selectors.products import default_product
from scheduling.choices import OPEN_BOOKING_STATUSES, BookingStatus
from scheduling.models import (
    MAX_WEIGHT_KG,
    MIN_WEIGHT_KG,
    PATIENT_REF_MESSAGE,
    Booking,
    patient_ref_validator,
)
from scheduling.services.doses import dose_cancel_active
from scheduling.services.plans import queue_plan_recompute

ACTIVITY_DECIMALS = 1  # MBq shown and stored to 0.1 MBq for prescriptions


def prescribed_activity_for(product: Product, weight_kg: float) -> float:
    """The product's default prescription: dose_per_kg × weight, capped at max_dose (2 MBq/kg,
    at most 200 MBq for Ga-68 DOTATATE, NETSPOT label §2.2)."""
    return round(min(product.dose_per_kg_mbq * weight_kg, product.max_dose_mbq), ACTIVITY_DECIMALS)


def _injection_time(value, field: str = "injection_at") -> datetime:
    """The injection time in UTC, within the booking window around today (settings
    BOOKING_WINDOW_PAST_DAYS, BOOKING_WINDOW_FUTURE_DAYS); else a 400 on `field`."""
    value = to_utc(value, field)
    within_window(
        value,
        field,
        "The injection time",
        past=timedelta(days=settings.BOOKING_WINDOW_PAST_DAYS),
        future=timedelta(days=settings.BOOKING_WINDOW_FUTURE_DAYS),
    )
    return value


def _get(model, pk, field: str, label: str):
    try:
        return model.objects.get(pk=int(pk))
    except (model.DoesNotExist, TypeError, ValueError):
        raise ApplicationError(f"No {label} {pk}.", fields={field: [f"No {label} {pk}."]}) from None


def _lock(model, pk, label: str):
    try:
        return model.objects.select_for_update().get(pk=pk)
    except (model.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"No {label} {pk}.") from None


@transaction.atomic
def booking_create(
    *,
    actor: User,
    patient_ref: str,
    weight_kg: float,
    injection_at: datetime,
    prescribed_activity_mbq: float | None = None,
    tolerance_percent: float | None = None,
    product_id: int | None = None,
    notes: str = "",
) -> Booking:
    """Book a patient. The prescription follows the product rule unless one is given."""
    errors: dict[str, list[str]] = {}
    patient_ref = (patient_ref or "").strip()
    try:
        patient_ref_validator(patient_ref)
    except ValidationError:
        errors["patient_ref"] = [PATIENT_REF_MESSAGE]
    try:
        weight = positive_number(weight_kg, "weight_kg", "Weight", unit="kg")
        if not MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
            errors["weight_kg"] = [
                f"{weight:g} kg is not a plausible weight ({MIN_WEIGHT_KG:g}–{MAX_WEIGHT_KG:g} kg)."
            ]
    except ApplicationError as exc:
        errors.update(exc.fields)
        weight = None
    try:
        injection_at = _injection_time(injection_at)
    except ApplicationError as exc:
        errors.update(exc.fields)
    prescribed = tolerance = None
    if prescribed_activity_mbq is not None:
        try:
            prescribed = positive_number(
                prescribed_activity_mbq,
                "prescribed_activity_mbq",
                "Prescribed activity",
                unit="MBq",
                maximum=PRESCRIBED_ACTIVITY_MAX_MBQ,
            )
        except ApplicationError as exc:
            errors.update(exc.fields)
    if tolerance_percent is not None:
        try:
            tolerance = float(tolerance_percent)
            if not math.isfinite(tolerance) or not 0 < tolerance <= TOLERANCE_MAX_PERCENT:
                raise ValueError
        except (TypeError, ValueError):
            errors["tolerance_percent"] = [
                f"Give a tolerance between 0 and {TOLERANCE_MAX_PERCENT:g} %."
            ]
    try:
        notes = bounded_text(notes or "", "notes", "Notes")
    except ApplicationError as exc:
        errors.update(exc.fields)
    product = None
    if product_id is not None:
        try:
            product = _get(Product, product_id, "product", "product")
        except ApplicationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ApplicationError("The booking has errors.", fields=errors)
    product = product or default_product()
    booking = Booking.objects.create(
        patient_ref=patient_ref,
        product=product,
        weight_kg=weight,
        injection_at=injection_at,
        prescribed_activity_mbq=prescribed
        if prescribed is not None
        else prescribed_activity_for(product, weight),
        tolerance_percent=tolerance if tolerance is not None else product.dose_tolerance_percent,
        notes=notes or "",
        created_by=actor,
    )
    audit.record(
        actor=actor, action=AuditAction.CREATED, obj=booking, changes=audit.created(booking)
    )
    queue_plan_recompute(booking, actor=actor)
    return booking


@transaction.atomic
def booking_cancel(*, actor: User, booking_id: int, reason: str) -> Booking:
    """Cancel a booking (and its dose, releasing the dose's volume)."""
    return _booking_close(
        actor=actor,
        booking_id=booking_id,
        reason=reason,
        status=BookingStatus.CANCELLED,
        action=AuditAction.CANCELLED,
        why="booking cancelled",
    )


@transaction.atomic
def booking_reschedule(
    *, actor: User, booking_id: int, injection_at: datetime, reason: str
) -> Booking:
    """Move a booking to a new injection time; a dose assigned for the old time is cancelled."""
    reason = required_text(reason, "reason", "A reason is required.")
    injection_at = _injection_time(injection_at)
    booking = _lock(Booking, booking_id, "booking")
    if booking.status not in (*OPEN_BOOKING_STATUSES, BookingStatus.MISSED):
        raise StateConflict(
            f"A booking that is {booking.get_status_display().lower()} cannot be rescheduled.",
            blocking=[f"status is {booking.get_status_display()}"],
        )
    old = audit.snapshot(booking)
    old_injection_at = booking.injection_at
    # The dose was computed for the old time: its activity and volume no longer fit.
    dose_cancel_active(actor=actor, booking=booking, reason=f"booking rescheduled: {reason}")
    # Audited as one rescheduling with the new time, not as a status change of its own; a
    # booking that is booked already stays so.
    if booking.status != BookingStatus.BOOKED:
        ensure_transition(BookingStatus, booking.status, BookingStatus.BOOKED)
        booking.status = BookingStatus.BOOKED
    booking.injection_at = injection_at
    booking.status_reason = reason
    booking.save(update_fields=["status", "status_reason", "injection_at"])
    audit.record_change(
        actor=actor,
        action=AuditAction.RESCHEDULED,
        obj=booking,
        before=old,
        reason=reason,
    )
    queue_plan_recompute(booking, actor=actor, previous_injection_at=old_injection_at)
    return booking


@transaction.atomic
def booking_mark_missed(
    *, actor: User, booking_id: int, reason: str = "patient did not attend"
) -> Booking:
    """The patient did not come: the booking is missed and an undrawn dose's volume released."""
    return _booking_close(
        actor=actor,
        booking_id=booking_id,
        reason=reason,
        status=BookingStatus.MISSED,
        action=AuditAction.MISSED,
        why="booking missed",
    )


def _booking_close(
    *,
    actor: User,
    booking_id: int,
    reason: str,
    status: BookingStatus,
    action: AuditAction,
    why: str,
) -> Booking:
    """End a booking (cancelled or missed) with a reason; its undrawn dose gives back its volume."""
    reason = required_text(reason, "reason", "A reason is required.")
    booking = _lock(Booking, booking_id, "booking")
    dose_cancel_active(actor=actor, booking=booking, reason=f"{why}: {reason}")
    transition(
        booking, status, actor=actor, action=action, reason=reason, also={"status_reason": reason}
    )
    queue_plan_recompute(booking, actor=actor)
    return booking
