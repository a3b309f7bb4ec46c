"""The dosing numbers through the services: REFERENCE §4 worked example, prescription rule,
measurement and administration (DST included)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radiopharmacy import physics
from scheduling.services import bookings, doses
from tests.factories import ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _after_the_doses():
    """Syringes here are measured and injected on 24 November: nothing is measured or injected
    in the future, so look at them two days later, whatever day the suite runs."""
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=AMS), tick=True):
        yield


def at(hhmm: str, day=(2026, 11, 24)) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(*day, h, m, tzinfo=AMS)


@pytest.mark.parametrize(("weight", "expected"), [(50, 100.0), (75, 150.0), (120, 200.0)])
@pytest.mark.requirement("DOS-01")
def test_prescription_is_2_mbq_per_kg_capped_at_200(scheduler, weight, expected):
    booking = bookings.booking_create(
        actor=scheduler, patient_ref="P-0001", weight_kg=weight, injection_at=at("10:30")
    )
    assert booking.prescribed_activity_mbq == expected
    assert booking.tolerance_percent == 10.0


@pytest.mark.requirement("DOS-02")
def test_worked_example_of_reference_section_4(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"), concentration_at_eos_mbq_per_ml=200.0)
    booking = bookings.booking_create(
        actor=scheduler,
        patient_ref="P-0002",
        weight_kg=80,
        injection_at=at("10:30"),
        prescribed_activity_mbq=150,
    )
    dose = doses.dose_assign(
        actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=at("10:10")
    )
    assert round(dose.activity_to_draw_mbq, 1) == 184.1
    assert round(dose.volume_to_draw_ml, 2) == 1.25
    assert dose.activity_to_draw_mbq == pytest.approx(150 * 2 ** (20 / 67.71))
    assert dose.concentration_at_draw_mbq_per_ml == pytest.approx(200 * 2 ** (-30 / 67.71))


@pytest.mark.requirement("DOS-04")
def test_measurement_gives_activity_at_planned_injection_and_tolerance(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = bookings.booking_create(
        actor=scheduler, patient_ref="P-0003", weight_kg=75, injection_at=at("10:30")
    )
    dose = doses.dose_assign(
        actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=at("10:10")
    )
    # 190 MBq measured at 10:12 is 190 · 0.5^(18/67.71) at 10:30.
    dose = doses.dose_measure(
        actor=radiopharmacist, dose_id=dose.pk, activity_mbq=190, measured_at=at("10:12")
    )
    expected = 190 * 2 ** (-18 / 67.71)
    assert dose.activity_at_injection_mbq == pytest.approx(expected)
    assert dose.deviation_percent == pytest.approx(100 * (expected - 150) / 150)
    assert dose.within_tolerance is True
    assert dose.status == "dispensed"
    booking.refresh_from_db()
    assert booking.status == "dispensed"


@pytest.mark.requirement("DOS-04")
def test_measurement_outside_tolerance_is_flagged(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = bookings.booking_create(
        actor=scheduler, patient_ref="P-0004", weight_kg=75, injection_at=at("10:30")
    )
    dose = doses.dose_assign(
        actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=at("10:10")
    )
    dose = doses.dose_measure(
        actor=radiopharmacist, dose_id=dose.pk, activity_mbq=150, measured_at=at("10:10")
    )
    assert dose.deviation_percent == pytest.approx(100 * (150 * 2 ** (-20 / 67.71) - 150) / 150)
    assert dose.deviation_percent < -10
    assert dose.within_tolerance is False


@pytest.mark.requirement("DOS-05")
def test_administered_is_syringe_minus_residual_both_at_injection(scheduler, radiopharmacist):
    batch = ReleasedBatchFactory(eos_at=at("09:40"))
    booking = bookings.booking_create(
        actor=scheduler, patient_ref="P-0005", weight_kg=75, injection_at=at("10:30")
    )
    dose = doses.dose_assign(
        actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=at("10:10")
    )
    doses.dose_measure(
        actor=radiopharmacist, dose_id=dose.pk, activity_mbq=184, measured_at=at("10:12")
    )
    dose = doses.dose_administer(
        actor=radiopharmacist,
        dose_id=dose.pk,
        injected_at=at("10:35"),
        residual_activity_mbq=5.0,
        residual_measured_at=at("10:45"),
    )
    expected = 184 * 2 ** (-23 / 67.71) - 5.0 * 2 ** (10 / 67.71)
    assert dose.administered_activity_mbq == pytest.approx(expected)
    assert dose.status == "administered"
    booking.refresh_from_db()
    assert booking.status == "administered"


@pytest.mark.requirement("PHY-03", "DOS-05")
def test_dst_end_measured_0150_cest_injected_0220_cet_is_90_real_minutes(
    scheduler, radiopharmacist
):
    # 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET.
    measured = datetime(2026, 10, 25, 1, 50, tzinfo=AMS)  # CEST, UTC+2
    injected = datetime(2026, 10, 25, 2, 20, fold=1, tzinfo=AMS)  # CET, UTC+1
    assert measured.utcoffset().total_seconds() == 7200
    assert injected.utcoffset().total_seconds() == 3600
    assert physics.elapsed_minutes(measured, injected) == pytest.approx(90)
    batch = ReleasedBatchFactory(eos_at=datetime(2026, 10, 25, 1, 0, tzinfo=AMS))
    booking = bookings.booking_create(
        actor=scheduler, patient_ref="P-0006", weight_kg=50, injection_at=injected
    )
    dose = doses.dose_assign(
        actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=measured
    )
    # Drawn 90 real minutes before the injection, not 30.
    assert dose.activity_to_draw_mbq == pytest.approx(100 * 2 ** (90 / 67.71))
    dose = doses.dose_measure(
        actor=radiopharmacist, dose_id=dose.pk, activity_mbq=250, measured_at=measured
    )
    assert dose.activity_at_injection_mbq == pytest.approx(250 * 2 ** (-90 / 67.71))
    assert dose.activity_at_injection_mbq != pytest.approx(250 * 2 ** (-30 / 67.71))
    dose = doses.dose_administer(
        actor=radiopharmacist,
        dose_id=dose.pk,
        injected_at=injected,
        residual_activity_mbq=0,
        residual_measured_at=injected,
    )
    assert dose.administered_activity_mbq == pytest.approx(250 * 2 ** (-90 / 67.71))
