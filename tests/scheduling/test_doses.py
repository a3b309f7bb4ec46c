"""Dose assignment: every refusal, the allocation guard, cancellation, and the API."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent
from scheduling.models import BatchAllocation, Booking, Dose
from scheduling.selectors import batch_allocated_mbq, batch_allocated_volume_ml, batch_balance
from scheduling.services import bookings, doses
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _after_the_doses():
    """Syringes here are measured and injected on 24 November: nothing is measured or injected
    in the future, so look at them two days later, whatever day the suite runs."""
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=AMS), tick=True):
        yield


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, h, m, tzinfo=AMS)


def book(scheduler, injection="10:30", activity=150.0, ref=None):
    book.n = getattr(book, "n", 0) + 1
    return bookings.booking_create(
        actor=scheduler,
        patient_ref=ref or f"P-{book.n:04d}",
        weight_kg=80,
        injection_at=at(injection),
        prescribed_activity_mbq=activity,
    )


def assign(rp, booking, batch, draw="10:10"):
    return doses.dose_assign(actor=rp, booking_id=booking.pk, batch_id=batch.pk, draw_at=at(draw))


def refusal(rp, booking, batch, draw="10:10") -> list[str]:
    with pytest.raises(StateConflict) as info:
        assign(rp, booking, batch, draw)
    assert info.value.status_code == 409
    return info.value.blocking


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.requirement("DOS-03")
def test_refused_when_batch_has_not_enough_volume_or_activity_left(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"), volume_ml=2.0)  # 1.25 mL per dose
    assign(radiopharmacist, book(scheduler), batch)
    blocking = refusal(radiopharmacist, book(scheduler), batch)
    assert any("mL left after the doses already assigned" in b for b in blocking)
    assert any("MBq unassigned at 10:10 CET" in b for b in blocking)
    assert Dose.objects.count() == 1
    assert BatchAllocation.objects.get(batch=batch).allocated_volume_ul == 1252


@pytest.mark.requirement("DOS-03")
def test_refused_when_activity_left_is_short_even_though_first_dose_fits(
    scheduler, radiopharmacist
):
    # 3 mL at 200 MBq/mL: two 1.25 mL doses fit, a third (needs 1.25, 0.49 left) does not.
    batch = ReleasedBatchFactory(eos_at=at("09:40"), volume_ml=3.0)
    assign(radiopharmacist, book(scheduler), batch)
    assign(radiopharmacist, book(scheduler), batch)
    blocking = refusal(radiopharmacist, book(scheduler), batch)
    assert any("0.50 mL left" in b for b in blocking), blocking


@pytest.mark.requirement("DOS-03")
def test_refused_when_injection_is_after_expiry(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("08:05"))  # 4 h shelf life: expires 12:05
    blocking = refusal(radiopharmacist, book(scheduler, injection="12:20"), batch, draw="12:00")
    assert "Batch expires at 12:05 CET, injection is at 12:20 CET." in blocking


@pytest.mark.requirement("DOS-03")
def test_refused_when_volume_is_above_the_maximum_per_dose(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(
        eos_at=at("09:40"), concentration_at_eos_mbq_per_ml=10.0, volume_ml=50.0
    )
    blocking = refusal(radiopharmacist, book(scheduler), batch)
    assert any("above the maximum of 10 mL per dose" in b for b in blocking), blocking


@pytest.mark.requirement("DOS-02", "BAT-05")
def test_refused_when_batch_is_not_released(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"), status="qc_pending")
    blocking = refusal(radiopharmacist, book(scheduler), batch)
    assert any("not released" in b for b in blocking)


@pytest.mark.requirement("P11-11.10(f)")
def test_refused_when_draw_is_before_end_of_synthesis(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    blocking = refusal(radiopharmacist, book(scheduler), batch, draw="09:30")
    assert "Draw time 09:30 CET is before the end of synthesis 09:40 CET." in blocking


@pytest.mark.requirement("P11-11.10(f)")
def test_refused_when_draw_is_after_injection(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    blocking = refusal(radiopharmacist, book(scheduler), batch, draw="10:40")
    assert any("after the injection" in b for b in blocking)


def test_refused_when_booking_already_has_a_dose(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = book(scheduler)
    assign(radiopharmacist, booking, batch)
    booking.refresh_from_db()
    blocking = refusal(radiopharmacist, booking, batch)
    assert blocking == ["booking status is Dose assigned"]


def test_unknown_booking_or_batch_is_a_400(radiopharmacist):
    with pytest.raises(ApplicationError) as info:
        doses.dose_assign(actor=radiopharmacist, booking_id=999, batch_id=998, draw_at=at("10:00"))
    assert info.value.status_code == 400
    assert set(info.value.fields) == {"booking", "batch"}


@pytest.mark.requirement("DOS-06")
def test_allocation_cannot_exceed_total_even_bypassing_the_service(radiopharmacist):
    from django.db import IntegrityError, transaction

    batch = ReleasedBatchFactory(eos_at=at("09:40"), volume_ml=2.0)
    allocation = BatchAllocation.objects.create(batch=batch, total_volume_ul=2000)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchAllocation.objects.filter(pk=allocation.pk).update(allocated_volume_ul=2001)


# --- cancellation, reschedule and balance -------------------------------------------------


def test_cancelling_a_dose_releases_its_volume_and_rebooks(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"), volume_ml=2.0)
    first = book(scheduler)
    dose = assign(radiopharmacist, first, batch)
    second = book(scheduler)
    refusal(radiopharmacist, second, batch)
    doses.dose_cancel(actor=radiopharmacist, dose_id=dose.pk, reason="syringe dropped")
    assert BatchAllocation.objects.get(batch=batch).allocated_volume_ul == 0
    first.refresh_from_db()
    assert first.status == "booked"
    assert assign(radiopharmacist, second, batch).status == "assigned"
    event = AuditEvent.objects.filter(object_type="scheduling.dose", action="cancelled").get()
    assert event.reason == "syringe dropped"


def test_cancelling_a_drawn_dose_keeps_its_volume_out_of_the_vial(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    dose = assign(radiopharmacist, book(scheduler), batch)
    doses.dose_measure(
        actor=radiopharmacist, dose_id=dose.pk, activity_mbq=184, measured_at=at("10:11")
    )
    doses.dose_cancel(actor=radiopharmacist, dose_id=dose.pk, reason="patient unwell")
    assert batch_allocated_volume_ml(batch) == pytest.approx(1.252)


def test_reschedule_cancels_the_assigned_dose_with_the_reason(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = book(scheduler)
    dose = assign(radiopharmacist, booking, batch)
    bookings.booking_reschedule(
        actor=scheduler, booking_id=booking.pk, injection_at=at("11:30"), reason="late transport"
    )
    dose.refresh_from_db()
    booking.refresh_from_db()
    assert dose.status == "cancelled" and "late transport" in dose.cancel_reason
    assert booking.status == "booked" and booking.injection_at == at("11:30")
    assert batch_allocated_volume_ml(batch) == 0
    new = assign(radiopharmacist, booking, batch, draw="11:20")
    assert new.activity_to_draw_mbq == pytest.approx(150 * 2 ** (10 / 67.71))


def test_booking_cancel_cancels_its_dose(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = book(scheduler)
    assign(radiopharmacist, booking, batch)
    bookings.booking_cancel(actor=scheduler, booking_id=booking.pk, reason="scan postponed")
    assert Dose.objects.get().status == "cancelled"
    assert Booking.objects.get().status_reason == "scan postponed"
    assert batch_allocated_volume_ml(batch) == 0


@pytest.mark.requirement("DOS-03")
def test_batch_balance_is_decay_corrected_to_the_given_time(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"), volume_ml=10.0)
    d1 = assign(radiopharmacist, book(scheduler), batch)
    d2 = assign(radiopharmacist, book(scheduler, injection="11:00"), batch, draw="10:50")
    doses.dose_measure(
        actor=radiopharmacist, dose_id=d1.pk, activity_mbq=184, measured_at=at("10:10")
    )
    doses.dose_administer(
        actor=radiopharmacist,
        dose_id=d1.pk,
        injected_at=at("10:30"),
        residual_activity_mbq=4,
        residual_measured_at=at("10:31"),
    )
    balance = batch_balance(batch, at("10:40"))
    concentration = 200 * 2 ** (-60 / 67.71)
    assert balance.produced_mbq == pytest.approx(2000 * 2 ** (-60 / 67.71))
    assert balance.concentration_mbq_per_ml == pytest.approx(concentration)
    assert balance.allocated_mbq == pytest.approx(d2.allocated_volume_ul / 1000 * concentration)
    assert balance.drawn_mbq == pytest.approx(184 * 2 ** (-30 / 67.71))
    d1.refresh_from_db()
    assert balance.administered_mbq == pytest.approx(
        d1.administered_activity_mbq * 2 ** (-10 / 67.71)
    )
    held = (d1.allocated_volume_ul + d2.allocated_volume_ul) / 1000
    assert balance.left_volume_ml == pytest.approx(10 - held)
    assert balance.left_mbq == pytest.approx((10 - held) * concentration)
    drawn_volume = d1.volume_to_draw_ml + d2.volume_to_draw_ml
    assert batch_allocated_mbq(batch, at("10:40")) == pytest.approx(drawn_volume * concentration)


@pytest.mark.requirement("AUD-01")
def test_assignment_is_audited(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    dose = assign(radiopharmacist, book(scheduler), batch)
    event = AuditEvent.objects.get(object_type="scheduling.dose", object_id=str(dose.pk))
    assert event.action == "created" and event.username == radiopharmacist.username
    assert event.changes["volume_to_draw_ml"]["new"] == pytest.approx(dose.volume_to_draw_ml)


def test_booking_factory_makes_a_valid_booking():
    booking = BookingFactory(weight_kg=50)
    assert booking.prescribed_activity_mbq == 100.0 and booking.status == "booked"
