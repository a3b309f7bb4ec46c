"""Writes for bookings and doses (SPEC §2.6). Every write is audited in the same transaction.

Decay arithmetic only through `radiopharmacy.physics` (real elapsed time in UTC).
"""

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import ensure_transition
from radiopharmacy.models import Batch, Product
from scheduling.choices import OPEN_BOOKING_STATUSES, BookingStatus, DoseStatus
from scheduling.models import (
    MAX_WEIGHT_KG,
    MIN_WEIGHT_KG,
    PATIENT_REF_MESSAGE,
    BatchAllocation,
    Booking,
    Dose,
    patient_ref_validator,
)

ACTIVITY_DECIMALS = 1  # MBq shown and stored to 0.1 MBq for prescriptions


# --- helpers ----------------------------------------------------------------------------------


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.SITE_TIME_ZONE)


def local_hm(value: datetime) -> str:
    """'12:05 CET': a time in the site's zone with the zone's abbreviation."""
    return value.astimezone(site_zone()).strftime("%H:%M %Z")


def _positive_number(value, field: str, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            f"{label} must be a number.", fields={field: ["Not a number."]}
        ) from None
    if not math.isfinite(number) or number <= 0:
        raise ApplicationError(
            f"{label} must be a positive number.", fields={field: ["Must be greater than zero."]}
        )
    return number


def _aware(value, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ApplicationError("A date and time is required.", fields={field: ["Required."]})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApplicationError(
            "Give the time with its UTC offset.",
            fields={field: ["A time without an offset is ambiguous."]},
        )
    return value


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A reason is required.", fields={"reason": ["Give a reason."]})
    return reason


def default_product() -> Product:
    """The site's only product (SPEC §3: the product defaults to it)."""
    products = list(Product.objects.order_by("id")[:2])
    if len(products) != 1:
        raise ApplicationError(
            "Choose the product.", fields={"product": ["The site has more than one product."]}
        )
    return products[0]


def prescribed_activity_for(product: Product, weight_kg: float) -> float:
    """The product's default prescription: dose_per_kg × weight, capped at max_dose (2 MBq/kg,
    at most 200 MBq for Ga-68 DOTATATE, NETSPOT label §2.2)."""
    return round(min(product.dose_per_kg_mbq * weight_kg, product.max_dose_mbq), ACTIVITY_DECIMALS)


def _get(model, pk, field: str, label: str):
    try:
        return model.objects.get(pk=int(pk))
    except (model.DoesNotExist, TypeError, ValueError):
        raise ApplicationError(f"No {label} {pk}.", fields={field: [f"No {label} {pk}."]}) from None


class NotFound(ApplicationError):
    """The record named in the URL does not exist: a 404."""

    status_code = 404


def _lock(model, pk, label: str):
    try:
        return model.objects.select_for_update().get(pk=pk)
    except (model.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"No {label} {pk}.") from None


def _lock_dose_and_booking(dose_id) -> tuple[Dose, Booking]:
    """Lock a dose's booking, then the dose: the same order as the booking services use."""
    booking_id = Dose.objects.filter(pk=dose_id).values_list("booking_id", flat=True).first()
    if booking_id is None:
        raise NotFound(f"No dose {dose_id}.")
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    dose = Dose.objects.select_for_update().select_related("batch").get(pk=dose_id)
    return dose, booking


def _set_status(obj, choices, target: str) -> None:
    ensure_transition(choices, obj.status, target)
    obj.status = target


# --- bookings ---------------------------------------------------------------------------------


@transaction.atomic
def booking_create(
    *,
    actor,
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
        weight = _positive_number(weight_kg, "weight_kg", "Weight")
        if not MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
            errors["weight_kg"] = [
                f"{weight:g} kg is not a plausible weight ({MIN_WEIGHT_KG:g}–{MAX_WEIGHT_KG:g} kg)."
            ]
    except ApplicationError as exc:
        errors.update(exc.fields)
        weight = None
    try:
        _aware(injection_at, "injection_at")
    except ApplicationError as exc:
        errors.update(exc.fields)
    prescribed = tolerance = None
    if prescribed_activity_mbq is not None:
        try:
            prescribed = _positive_number(
                prescribed_activity_mbq, "prescribed_activity_mbq", "Prescribed activity"
            )
        except ApplicationError as exc:
            errors.update(exc.fields)
    if tolerance_percent is not None:
        try:
            tolerance = float(tolerance_percent)
            if not math.isfinite(tolerance) or not 0 < tolerance <= 50:
                raise ValueError
        except (TypeError, ValueError):
            errors["tolerance_percent"] = ["Give a tolerance between 0 and 50 %."]
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
    _queue_plan_recompute(booking, actor=actor)
    return booking


def _cancel_active_dose(booking: Booking, *, actor, reason: str) -> Dose | None:
    dose = (
        Dose.objects.select_for_update()
        .filter(booking=booking)
        .exclude(status=DoseStatus.CANCELLED)
        .first()
    )
    if dose is not None:
        _dose_cancel(dose, actor=actor, reason=reason, booking=booking)
    return dose


@transaction.atomic
def booking_cancel(*, actor, booking_id: int, reason: str) -> Booking:
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
def booking_reschedule(*, actor, booking_id: int, injection_at: datetime, reason: str) -> Booking:
    """Move a booking to a new injection time; a dose assigned for the old time is cancelled."""
    reason = _reason(reason)
    _aware(injection_at, "injection_at")
    booking = _lock(Booking, booking_id, "booking")
    if booking.status not in (*OPEN_BOOKING_STATUSES, BookingStatus.MISSED):
        raise StateConflict(
            f"A booking that is {booking.get_status_display().lower()} cannot be rescheduled.",
            blocking=[f"status is {booking.get_status_display()}"],
        )
    old = audit.snapshot(booking)
    old_injection_at = booking.injection_at
    # The dose was computed for the old time: its activity and volume no longer fit.
    _cancel_active_dose(booking, actor=actor, reason=f"booking rescheduled: {reason}")
    if booking.status != BookingStatus.BOOKED:
        _set_status(booking, BookingStatus, BookingStatus.BOOKED)
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
    _queue_plan_recompute(booking, actor=actor, previous_injection_at=old_injection_at)
    return booking


@transaction.atomic
def booking_mark_missed(
    *, actor, booking_id: int, reason: str = "patient did not attend"
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


def _booking_close(*, actor, booking_id: int, reason: str, status, action: str, why: str):
    """End a booking (cancelled or missed) with a reason; its undrawn dose gives back its volume."""
    reason = _reason(reason)
    booking = _lock(Booking, booking_id, "booking")
    old = audit.snapshot(booking)
    _cancel_active_dose(booking, actor=actor, reason=f"{why}: {reason}")
    _set_status(booking, BookingStatus, status)
    booking.status_reason = reason
    booking.save(update_fields=["status", "status_reason"])
    audit.record_change(
        actor=actor,
        action=action,
        obj=booking,
        before=old,
        reason=reason,
    )
    _queue_plan_recompute(booking, actor=actor)
    return booking


def _queue_plan_recompute(booking: Booking, *, actor, previous_injection_at=None) -> None:
    """The day's production plans follow the bookings: queue their recompute (issue 6)."""
    from scheduling.services.plans import queue_plan_recompute

    queue_plan_recompute(booking, actor=actor, previous_injection_at=previous_injection_at)


# --- doses: assignment ------------------------------------------------------------------------


def concentration_at(batch: Batch, at: datetime) -> float:
    """The batch's concentration (MBq/mL) decayed from EOS to `at`."""
    return physics.decay_activity(
        batch.concentration_at_eos_mbq_per_ml, from_time=batch.eos_at, to_time=at
    )


def dose_plan(*, prescribed_mbq: float, injection_at: datetime, draw_at: datetime, batch: Batch):
    """(activity_to_draw_mbq, concentration_at_draw, volume_to_draw_ml) for one dose.

    activity_to_draw = prescribed · exp(λ (injection_at − draw_at)): the prescription
    decay-corrected back from the injection to the draw time.
    """
    activity = physics.decay_activity(prescribed_mbq, from_time=injection_at, to_time=draw_at)
    concentration = concentration_at(batch, draw_at)
    if concentration <= 0:
        raise StateConflict("The batch holds no activity.", blocking=["concentration is zero"])
    return activity, concentration, activity / concentration


def _allocation_for(batch: Batch) -> BatchAllocation:
    allocation, _ = BatchAllocation.objects.get_or_create(
        batch=batch, defaults={"total_volume_ul": int(math.floor(batch.volume_ml * 1000 + 1e-6))}
    )
    return allocation


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


@transaction.atomic
def dose_assign(*, actor, booking_id: int, batch_id: int, draw_at: datetime) -> Dose:
    """Assign a booking's dose to a released batch, drawn at `draw_at`.

    Refused (409 with the reasons) when the batch is not released, expires before the injection,
    when the draw time is outside EOS..injection, when the volume exceeds the product's maximum
    per dose, or when the batch has not enough volume and activity left after its other doses.
    """
    _aware(draw_at, "draw_at")
    errors: dict[str, list[str]] = {}
    for model, pk, field in ((Booking, booking_id, "booking"), (Batch, batch_id, "batch")):
        try:
            if not model.objects.filter(pk=int(pk)).exists():
                errors[field] = [f"No {field} {pk}."]
        except (TypeError, ValueError):
            errors[field] = [f"No {field} {pk}."]
    if errors:
        raise ApplicationError("Unknown booking or batch.", fields=errors)

    # Race: two radiopharmacists assigning from the same batch. The batch row lock serialises
    # them on PostgreSQL (a no-op on SQLite, where the IMMEDIATE transaction serialises writers);
    # the conditional UPDATE on BatchAllocation below is the guard that holds regardless.
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch_id)
    booking = Booking.objects.select_for_update().select_related("product").get(pk=booking_id)
    injection_at = booking.injection_at

    if booking.status != BookingStatus.BOOKED:
        raise StateConflict(
            f"Booking {booking.patient_ref} is {booking.get_status_display().lower()}; "
            "only a booked patient can be given a dose.",
            blocking=[f"booking status is {booking.get_status_display()}"],
        )
    blocking: list[str] = []
    if batch.status != BatchStatus.RELEASED:
        blocking.append(
            f"Batch {batch.batch_number} is {batch.get_status_display().lower()}, not released."
        )
    if batch.product_id != booking.product_id:
        blocking.append(f"Batch {batch.batch_number} is {batch.product}, not {booking.product}.")
    if physics.elapsed_minutes(batch.expires_at, injection_at) > 0:
        blocking.append(
            f"Batch expires at {local_hm(batch.expires_at)}, "
            f"injection is at {local_hm(injection_at)}."
        )
    if physics.elapsed_minutes(batch.eos_at, draw_at) < 0:
        blocking.append(
            f"Draw time {local_hm(draw_at)} is before the end of synthesis "
            f"{local_hm(batch.eos_at)}."
        )
    if physics.elapsed_minutes(draw_at, injection_at) < 0:
        blocking.append(
            f"Draw time {local_hm(draw_at)} is after the injection at {local_hm(injection_at)}."
        )
    if blocking:
        raise StateConflict("The dose cannot be assigned from this batch.", blocking=blocking)

    activity, concentration, volume = dose_plan(
        prescribed_mbq=booking.prescribed_activity_mbq,
        injection_at=injection_at,
        draw_at=draw_at,
        batch=batch,
    )
    needed_ul = int(math.ceil(volume * 1000 - 1e-6))
    allocation = _allocation_for(batch)
    allocation.refresh_from_db()
    remaining_ml = allocation.remaining_volume_ul / 1000
    max_volume = batch.product.max_volume_per_dose_ml
    if volume > max_volume:
        blocking.append(
            f"Volume to draw {_fmt(volume, 2)} mL is above the maximum of "
            f"{max_volume:g} mL per dose."
        )
    if needed_ul > allocation.remaining_volume_ul:
        blocking.append(
            f"Batch {batch.batch_number} has {_fmt(remaining_ml, 2)} mL left after the doses "
            f"already assigned; this dose needs {_fmt(volume, 2)} mL."
        )
    if activity > remaining_ml * concentration:
        blocking.append(
            f"Batch {batch.batch_number} holds {_fmt(remaining_ml * concentration)} MBq "
            f"unassigned at {local_hm(draw_at)}; this dose needs {_fmt(activity)} MBq."
        )
    if blocking:
        raise StateConflict("The dose cannot be assigned from this batch.", blocking=blocking)

    # The guard that holds even if the lock above did not (SQL: UPDATE ... SET allocated =
    # allocated + x WHERE allocated + x <= total): 0 rows means another dose took the volume.
    updated = BatchAllocation.objects.filter(
        pk=allocation.pk, allocated_volume_ul__lte=F("total_volume_ul") - needed_ul
    ).update(allocated_volume_ul=F("allocated_volume_ul") + needed_ul)
    if updated != 1:
        raise StateConflict(
            "The dose cannot be assigned from this batch.",
            blocking=[f"Batch {batch.batch_number} has not enough volume left for this dose."],
        )
    old_booking = audit.snapshot(booking)
    try:
        with transaction.atomic():
            dose = Dose.objects.create(
                booking=booking,
                batch=batch,
                draw_at=draw_at,
                activity_at_injection_planned_mbq=booking.prescribed_activity_mbq,
                activity_to_draw_mbq=activity,
                concentration_at_draw_mbq_per_ml=concentration,
                volume_to_draw_ml=volume,
                allocated_volume_ul=needed_ul,
                assigned_by=actor,
            )
    except IntegrityError:
        raise StateConflict(
            "The booking already has a dose.", blocking=["booking already has a dose"]
        ) from None
    _set_status(booking, BookingStatus, BookingStatus.DOSE_ASSIGNED)
    booking.save(update_fields=["status"])
    audit.record(actor=actor, action=AuditAction.CREATED, obj=dose, changes=audit.created(dose))
    audit.record_change(
        actor=actor,
        action=AuditAction.DOSE_ASSIGNED,
        obj=booking,
        before=old_booking,
    )
    return dose


def _dose_cancel(dose: Dose, *, actor, reason: str, booking: Booking) -> Dose:
    old = audit.snapshot(dose)
    was_drawn = dose.status != DoseStatus.ASSIGNED
    _set_status(dose, DoseStatus, DoseStatus.CANCELLED)
    dose.cancel_reason = reason
    if not was_drawn and dose.allocated_volume_ul:
        # Release the undrawn volume, again with a conditional UPDATE: never below zero.
        released = BatchAllocation.objects.filter(
            batch_id=dose.batch_id, allocated_volume_ul__gte=dose.allocated_volume_ul
        ).update(allocated_volume_ul=F("allocated_volume_ul") - dose.allocated_volume_ul)
        if released != 1:
            raise StateConflict(
                "The batch allocation does not hold this dose's volume.",
                blocking=["allocation inconsistent; contact the administrator"],
            )
        dose.allocated_volume_ul = 0
    # A drawn syringe's volume has left the vial: it stays allocated.
    dose.save(update_fields=["status", "cancel_reason", "allocated_volume_ul"])
    audit.record_change(
        actor=actor,
        action=AuditAction.CANCELLED,
        obj=dose,
        before=old,
        reason=reason,
    )
    return dose


@transaction.atomic
def dose_cancel(*, actor, dose_id: int, reason: str) -> Dose:
    """Cancel a dose; its booking is booked again and can be given another dose."""
    reason = _reason(reason)
    dose, booking = _lock_dose_and_booking(dose_id)
    if dose.status == DoseStatus.ADMINISTERED:
        raise StateConflict(
            "An administered dose cannot be cancelled.", blocking=["dose is administered"]
        )
    _dose_cancel(dose, actor=actor, reason=reason, booking=booking)
    if booking.status in (BookingStatus.DOSE_ASSIGNED, BookingStatus.DISPENSED):
        old = audit.snapshot(booking)
        _set_status(booking, BookingStatus, BookingStatus.BOOKED)
        booking.save(update_fields=["status"])
        audit.record_change(
            actor=actor,
            action=AuditAction.DOSE_CANCELLED,
            obj=booking,
            before=old,
            reason=reason,
        )
    return dose


# --- doses: measurement and administration ----------------------------------------------------


@transaction.atomic
def dose_measure(*, actor, dose_id: int, activity_mbq: float, measured_at: datetime) -> Dose:
    """Record the syringe's dose-calibrator reading; compute the activity at the planned
    injection time, its deviation from the prescription and whether it is within tolerance."""
    errors: dict[str, list[str]] = {}
    try:
        activity = _positive_number(activity_mbq, "activity_mbq", "Measured activity")
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        _aware(measured_at, "measured_at")
    except ApplicationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ApplicationError("The measurement has errors.", fields=errors)
    dose, booking = _lock_dose_and_booking(dose_id)
    batch = dose.batch
    if physics.elapsed_minutes(batch.eos_at, measured_at) < 0:
        raise ApplicationError(
            "The syringe cannot be measured before the batch was made.",
            fields={
                "measured_at": [
                    f"{local_hm(measured_at)} is before the end of synthesis "
                    f"{local_hm(batch.eos_at)}."
                ]
            },
        )
    old_dose, old_booking = audit.snapshot(dose), audit.snapshot(booking)
    _set_status(dose, DoseStatus, DoseStatus.DISPENSED)
    _set_status(booking, BookingStatus, BookingStatus.DISPENSED)
    at_injection = physics.decay_activity(
        activity, from_time=measured_at, to_time=booking.injection_at
    )
    prescribed = booking.prescribed_activity_mbq
    deviation = 100.0 * (at_injection - prescribed) / prescribed
    dose.measured_activity_mbq = activity
    dose.measured_at = measured_at
    dose.activity_at_injection_mbq = at_injection
    dose.deviation_percent = deviation
    # Compare rounded to 0.01 % so a reading exactly on the limit counts as within it.
    dose.within_tolerance = round(abs(deviation), 2) <= booking.tolerance_percent
    dose.dispensed_by = actor
    dose.save()
    booking.save(update_fields=["status"])
    audit.record_change(
        actor=actor,
        action=AuditAction.MEASURED,
        obj=dose,
        before=old_dose,
    )
    audit.record_change(
        actor=actor,
        action=AuditAction.DISPENSED,
        obj=booking,
        before=old_booking,
    )
    return dose


@transaction.atomic
def dose_administer(
    *,
    actor,
    dose_id: int,
    injected_at: datetime,
    residual_activity_mbq: float,
    residual_measured_at: datetime,
) -> Dose:
    """Record the injection: administered = syringe activity decayed to the injection time −
    residual activity decay-corrected back to the injection time."""
    errors: dict[str, list[str]] = {}
    try:
        _aware(injected_at, "injected_at")
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        _aware(residual_measured_at, "residual_measured_at")
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        residual = float(residual_activity_mbq)
        if not math.isfinite(residual) or residual < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["residual_activity_mbq"] = ["Give the residual activity (0 or more MBq)."]
    if errors:
        raise ApplicationError("The administration has errors.", fields=errors)
    dose, booking = _lock_dose_and_booking(dose_id)
    if dose.status != DoseStatus.DISPENSED:
        raise StateConflict(
            "Only a measured (dispensed) syringe can be administered.",
            blocking=[f"dose status is {dose.get_status_display()}"],
        )
    if physics.elapsed_minutes(dose.measured_at, injected_at) < 0:
        errors["injected_at"] = [
            f"The injection at {local_hm(injected_at)} is before the syringe was measured at "
            f"{local_hm(dose.measured_at)}."
        ]
    if physics.elapsed_minutes(injected_at, residual_measured_at) < 0:
        errors["residual_measured_at"] = [
            f"The residual was measured at {local_hm(residual_measured_at)}, before the "
            f"injection at {local_hm(injected_at)}."
        ]
    if errors:
        raise ApplicationError("The administration has errors.", fields=errors)
    syringe = physics.decay_activity(
        dose.measured_activity_mbq, from_time=dose.measured_at, to_time=injected_at
    )
    residual_at_injection = physics.decay_activity(
        residual, from_time=residual_measured_at, to_time=injected_at
    )
    if residual_at_injection > syringe:
        raise ApplicationError(
            "The residual is more than the syringe held.",
            fields={
                "residual_activity_mbq": [
                    f"{residual_at_injection:.1f} MBq at injection is more than the "
                    f"{syringe:.1f} MBq in the syringe."
                ]
            },
        )
    old_dose, old_booking = audit.snapshot(dose), audit.snapshot(booking)
    _set_status(dose, DoseStatus, DoseStatus.ADMINISTERED)
    _set_status(booking, BookingStatus, BookingStatus.ADMINISTERED)
    dose.injected_at = injected_at
    dose.residual_activity_mbq = residual
    dose.residual_measured_at = residual_measured_at
    dose.administered_activity_mbq = syringe - residual_at_injection
    dose.administered_by = actor
    dose.save()
    booking.save(update_fields=["status"])
    audit.record_change(
        actor=actor,
        action=AuditAction.ADMINISTERED,
        obj=dose,
        before=old_dose,
    )
    audit.record_change(
        actor=actor,
        action=AuditAction.ADMINISTERED,
        obj=booking,
        before=old_booking,
    )
    return dose
