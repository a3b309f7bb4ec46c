"""Writes for doses (SPEC §2.6): assign from a batch, measure, administer, cancel. Every write is
audited in the same transaction.

Decay arithmetic only through `radiopharmacy.physics` (real elapsed time in UTC).
"""

import math
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from radiopharmacy import physics
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.bounds import SYNTHESIS_SPAN_MAX, SYRINGE_ACTIVITY_MAX_MBQ
from radiopharmacy.core.checks import not_future, positive_number, required_text, to_utc
from radiopharmacy.core.errors import ApplicationError, NotFound, StateConflict
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.core.status import ensure_transition, transition
from radiopharmacy.models import Batch
from scheduling.choices import BookingStatus, DoseStatus
from scheduling.guards import DoseDraw, batch_use_blockers, dose_assignment_blockers
from scheduling.models import BatchAllocation, Booking, Dose
from scheduling.selectors import batch_concentration_at

# --- helpers ----------------------------------------------------------------------------------

# A syringe is measured, injected and its residual read within hours of each other.
SPAN_MINUTES = SYNTHESIS_SPAN_MAX.total_seconds() / 60
SPAN_HOURS = f"{SYNTHESIS_SPAN_MAX.total_seconds() / 3600:g} h"


def _lock_dose_and_booking(dose_id) -> tuple[Dose, Booking]:
    """Lock a dose's batch, its booking, then the dose: the order `dose_assign` uses (batch,
    then booking), so two of them never wait on each other. Locking the batch makes a hold
    committed by a failing post-release result visible here, and makes a hold wait for a
    measurement in flight, so its look-back list shows that dose as drawn."""
    ids = Dose.objects.filter(pk=dose_id).values_list("batch_id", "booking_id").first()
    if ids is None:
        raise NotFound(f"No dose {dose_id}.")
    batch = Batch.objects.select_for_update().select_related("product").get(pk=ids[0])
    booking = Booking.objects.select_for_update().get(pk=ids[1])
    dose = Dose.objects.select_for_update().get(pk=dose_id)
    dose.batch = batch
    return dose, booking


def _ensure_batch_usable(batch: Batch, *, at: datetime, what: str) -> None:
    blocking = batch_use_blockers(batch, at=at, what=what)
    if blocking:
        raise StateConflict(f"No dose may be {what} from this batch.", blocking=blocking)


def dose_plan(*, prescribed_mbq: float, injection_at: datetime, draw_at: datetime, batch: Batch):
    """(activity_to_draw_mbq, concentration_at_draw, volume_to_draw_ml) for one dose.

    activity_to_draw = prescribed · exp(λ (injection_at − draw_at)): the prescription
    decay-corrected back from the injection to the draw time.
    """
    activity = physics.decay_activity(prescribed_mbq, from_time=injection_at, to_time=draw_at)
    concentration = batch_concentration_at(batch, draw_at)
    if concentration <= 0:
        raise StateConflict("The batch holds no activity.", blocking=["concentration is zero"])
    return activity, concentration, activity / concentration


def _batch_volume_ul(batch: Batch) -> int:
    return int(math.floor(batch.volume_ml * 1000 + 1e-6))


def _allocation_for(batch: Batch) -> BatchAllocation:
    allocation, _ = BatchAllocation.objects.get_or_create(
        batch=batch, defaults={"total_volume_ul": _batch_volume_ul(batch)}
    )
    return allocation


def _draw(batch: Batch, booking: Booking, *, draw_at: datetime, left_volume_ul: int) -> DoseDraw:
    """What the booking's dose takes from the batch when drawn at `draw_at` (`dose_plan`)."""
    activity, concentration, volume = dose_plan(
        prescribed_mbq=booking.prescribed_activity_mbq,
        injection_at=booking.injection_at,
        draw_at=draw_at,
        batch=batch,
    )
    return DoseDraw(
        activity_mbq=activity,
        concentration_mbq_per_ml=concentration,
        volume_ml=volume,
        volume_ul=int(math.ceil(volume * 1000 - 1e-6)),
        left_volume_ul=left_volume_ul,
    )


# --- assignment -------------------------------------------------------------------------------


def dose_preview(*, booking_id: int, batch_id: int, draw_at: datetime) -> dict:
    """What `dose_assign` would assign, computed the same way and written nowhere (the dose form
    shows it as the radiopharmacist types): `{"draw": DoseDraw | None, "blocking": [reasons]}`.

    Read without locks: another dose assigned meanwhile can change it; `dose_assign` checks
    again under its lock.
    """
    draw_at = to_utc(draw_at, "draw_at")
    batch = Batch.objects.select_related("product").filter(pk=batch_id).first()
    booking = Booking.objects.select_related("product").filter(pk=booking_id).first()
    if batch is None or booking is None:
        raise NotFound("No such booking or batch.")
    blocking = dose_assignment_blockers(batch, booking, draw_at=draw_at)
    if blocking:
        return {"draw": None, "blocking": blocking}
    allocation = BatchAllocation.objects.filter(batch=batch).first()
    left_ul = allocation.remaining_volume_ul if allocation else _batch_volume_ul(batch)
    draw = _draw(batch, booking, draw_at=draw_at, left_volume_ul=left_ul)
    return {
        "draw": draw,
        "blocking": dose_assignment_blockers(batch, booking, draw_at=draw_at, draw=draw),
    }


@transaction.atomic
def dose_assign(*, actor: User, booking_id: int, batch_id: int, draw_at: datetime) -> Dose:
    """Assign a booking's dose to a released batch, drawn at `draw_at`.

    Refused (409 with the reasons of `dose_assignment_blockers`) when the batch is not released,
    expires before the injection, when the draw time is outside EOS..injection, when the volume
    exceeds the product's maximum per dose, or when the batch has not enough volume and activity
    left after its other doses.
    """
    draw_at = to_utc(draw_at, "draw_at")
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

    if booking.status != BookingStatus.BOOKED:
        raise StateConflict(
            f"Booking {booking.patient_ref} is {booking.get_status_display().lower()}; "
            "only a booked patient can be given a dose.",
            blocking=[f"booking status is {booking.get_status_display()}"],
        )
    # The volume and activity checks need the dose's numbers, which mean nothing for a batch
    # that cannot serve the booking at all: those reasons first, on their own.
    blocking = dose_assignment_blockers(batch, booking, draw_at=draw_at)
    if blocking:
        raise StateConflict("The dose cannot be assigned from this batch.", blocking=blocking)

    allocation = _allocation_for(batch)
    allocation.refresh_from_db()
    draw = _draw(batch, booking, draw_at=draw_at, left_volume_ul=allocation.remaining_volume_ul)
    activity, concentration, volume = (
        draw.activity_mbq,
        draw.concentration_mbq_per_ml,
        draw.volume_ml,
    )
    needed_ul = draw.volume_ul
    blocking = dose_assignment_blockers(batch, booking, draw_at=draw_at, draw=draw)
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
    audit.record(actor=actor, action=AuditAction.CREATED, obj=dose, changes=audit.created(dose))
    transition(booking, BookingStatus.DOSE_ASSIGNED, actor=actor, action=AuditAction.DOSE_ASSIGNED)
    return dose


# --- cancellation -----------------------------------------------------------------------------


def _dose_cancel(dose: Dose, *, actor: User, reason: str) -> Dose:
    if dose.status == DoseStatus.ASSIGNED and dose.allocated_volume_ul:
        # Release the undrawn volume, again with a conditional UPDATE: never below zero.
        released = BatchAllocation.objects.filter(
            batch_id=dose.batch_id, allocated_volume_ul__gte=dose.allocated_volume_ul
        ).update(allocated_volume_ul=F("allocated_volume_ul") - dose.allocated_volume_ul)
        if released != 1:
            raise StateConflict(
                "The batch allocation does not hold this dose's volume.",
                blocking=["allocation inconsistent; contact the administrator"],
            )
        allocated_ul = 0
    else:
        # A drawn syringe's volume has left the vial: it stays allocated.
        allocated_ul = dose.allocated_volume_ul
    return transition(
        dose,
        DoseStatus.CANCELLED,
        actor=actor,
        action=AuditAction.CANCELLED,
        reason=reason,
        also={"cancel_reason": reason, "allocated_volume_ul": allocated_ul},
    )


def dose_cancel_active(*, actor: User, booking: Booking, reason: str) -> Dose | None:
    """Cancel the booking's dose, if it has one that is not cancelled (an undrawn one gives its
    volume back). Call inside the booking service's transaction, with the booking locked."""
    dose = (
        Dose.objects.select_for_update()
        .filter(booking=booking)
        .exclude(status=DoseStatus.CANCELLED)
        .first()
    )
    if dose is not None:
        _dose_cancel(dose, actor=actor, reason=reason)
    return dose


@transaction.atomic
def dose_cancel(*, actor: User, dose_id: int, reason: str) -> Dose:
    """Cancel a dose; its booking is booked again and can be given another dose."""
    reason = required_text(reason, "reason", "A reason is required.")
    dose, booking = _lock_dose_and_booking(dose_id)
    if dose.status == DoseStatus.ADMINISTERED:
        raise StateConflict(
            "An administered dose cannot be cancelled.", blocking=["dose is administered"]
        )
    _dose_cancel(dose, actor=actor, reason=reason)
    if booking.status in (BookingStatus.DOSE_ASSIGNED, BookingStatus.DISPENSED):
        transition(
            booking,
            BookingStatus.BOOKED,
            actor=actor,
            action=AuditAction.DOSE_CANCELLED,
            reason=reason,
        )
    return dose


# --- measurement and administration -----------------------------------------------------------


@transaction.atomic
def dose_measure(*, actor: User, dose_id: int, activity_mbq: float, measured_at: datetime) -> Dose:
    """Record the syringe's dose-calibrator reading; compute the activity at the planned
    injection time, its deviation from the prescription and whether it is within tolerance."""
    errors: dict[str, list[str]] = {}
    try:
        activity = positive_number(
            activity_mbq,
            "activity_mbq",
            "Measured activity",
            unit="MBq",
            maximum=SYRINGE_ACTIVITY_MAX_MBQ,
        )
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        measured_at = to_utc(measured_at, "measured_at")
        not_future(measured_at, "measured_at", "The syringe measurement")
    except ApplicationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ApplicationError("The measurement has errors.", fields=errors)
    dose, booking = _lock_dose_and_booking(dose_id)
    batch = dose.batch
    _ensure_batch_usable(batch, at=measured_at, what="drawn or measured")
    if physics.elapsed_minutes(batch.eos_at, measured_at) < 0:
        raise ApplicationError(
            "The syringe cannot be measured before the batch was made.",
            fields={
                "measured_at": [
                    f"{site_time(measured_at)} is before the end of synthesis "
                    f"{site_time(batch.eos_at)}."
                ]
            },
        )
    if abs(physics.elapsed_minutes(measured_at, booking.injection_at)) > SPAN_MINUTES:
        raise ApplicationError(
            "The syringe is measured within hours of the injection.",
            fields={
                "measured_at": [
                    f"{site_time(measured_at)} is more than {SPAN_HOURS} away from the planned "
                    f"injection at {site_time(booking.injection_at)}."
                ]
            },
        )
    # Both moves are checked before anything is computed or saved; each record's audit entry
    # lists every field that changed.
    old_dose, old_booking = audit.snapshot(dose), audit.snapshot(booking)
    ensure_transition(DoseStatus, dose.status, DoseStatus.DISPENSED)
    ensure_transition(BookingStatus, booking.status, BookingStatus.DISPENSED)
    dose.status = DoseStatus.DISPENSED
    booking.status = BookingStatus.DISPENSED
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
    audit.record_change(actor=actor, action=AuditAction.MEASURED, obj=dose, before=old_dose)
    audit.record_change(actor=actor, action=AuditAction.DISPENSED, obj=booking, before=old_booking)
    return dose


@transaction.atomic
def dose_administer(
    *,
    actor: User,
    dose_id: int,
    injected_at: datetime,
    residual_activity_mbq: float,
    residual_measured_at: datetime,
) -> Dose:
    """Record the injection: administered = syringe activity decayed to the injection time −
    residual activity decay-corrected back to the injection time."""
    errors: dict[str, list[str]] = {}
    try:
        injected_at = to_utc(injected_at, "injected_at")
        not_future(injected_at, "injected_at", "The injection")
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        residual_measured_at = to_utc(residual_measured_at, "residual_measured_at")
        not_future(residual_measured_at, "residual_measured_at", "The residual measurement")
    except ApplicationError as exc:
        errors.update(exc.fields)
    try:
        residual = float(residual_activity_mbq)
        if not math.isfinite(residual) or not 0 <= residual <= SYRINGE_ACTIVITY_MAX_MBQ:
            raise ValueError
    except (TypeError, ValueError):
        errors["residual_activity_mbq"] = [
            f"Give the residual activity (0 to {SYRINGE_ACTIVITY_MAX_MBQ:g} MBq)."
        ]
    if errors:
        raise ApplicationError("The administration has errors.", fields=errors)
    dose, booking = _lock_dose_and_booking(dose_id)
    if dose.status != DoseStatus.DISPENSED:
        raise StateConflict(
            "Only a measured (dispensed) syringe can be administered.",
            blocking=[f"dose status is {dose.get_status_display()}"],
        )
    _ensure_batch_usable(dose.batch, at=injected_at, what="administered")
    if physics.elapsed_minutes(dose.measured_at, injected_at) < 0:
        errors["injected_at"] = [
            f"The injection at {site_time(injected_at)} is before the syringe was measured at "
            f"{site_time(dose.measured_at)}."
        ]
    if physics.elapsed_minutes(injected_at, residual_measured_at) < 0:
        errors["residual_measured_at"] = [
            f"The residual was measured at {site_time(residual_measured_at)}, before the "
            f"injection at {site_time(injected_at)}."
        ]
    # Ga-68 is gone after a day: an injection or residual reading days away is a typing error
    # (and its decay correction would overflow).
    if physics.elapsed_minutes(dose.measured_at, injected_at) > SPAN_MINUTES:
        errors.setdefault("injected_at", []).append(
            f"The injection at {site_time(injected_at)} is more than {SPAN_HOURS} after the "
            f"syringe was measured at {site_time(dose.measured_at)}."
        )
    if physics.elapsed_minutes(injected_at, residual_measured_at) > SPAN_MINUTES:
        errors.setdefault("residual_measured_at", []).append(
            f"The residual measured at {site_time(residual_measured_at)} is more than "
            f"{SPAN_HOURS} after the injection at {site_time(injected_at)}."
        )
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
    # As in dose_measure: both moves checked first, every changed field audited.
    old_dose, old_booking = audit.snapshot(dose), audit.snapshot(booking)
    ensure_transition(DoseStatus, dose.status, DoseStatus.ADMINISTERED)
    ensure_transition(BookingStatus, booking.status, BookingStatus.ADMINISTERED)
    dose.status = DoseStatus.ADMINISTERED
    booking.status = BookingStatus.ADMINISTERED
    dose.injected_at = injected_at
    dose.residual_activity_mbq = residual
    dose.residual_measured_at = residual_measured_at
    dose.administered_activity_mbq = syringe - residual_at_injection
    dose.administered_by = actor
    dose.save()
    booking.save(update_fields=["status"])
    audit.record_change(actor=actor, action=AuditAction.ADMINISTERED, obj=dose, before=old_dose)
    audit.record_change(
        actor=actor, action=AuditAction.ADMINISTERED, obj=booking, before=old_booking
    )
    return dose
