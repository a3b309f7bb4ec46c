"""Batch records: numbering in the site's zone, derived numbers, validation, corrections."""

import math
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent, Batch
from radiopharmacy.services.batches import batch_correct, batch_create
from tests.factories import (
    REFERENCE_TIME,
    BatchFactory,
    ElutionFactory,
    GeneratorFactory,
    batch_inputs,
)

pytestmark = pytest.mark.django_db

LN2 = math.log(2)


@pytest.fixture(autouse=True)
def _after_the_batches():
    """The batches here are recorded on the factories' reference day (nothing is recorded
    before it happens): look at them two days later, whatever day the suite runs."""
    with time_machine.travel(REFERENCE_TIME + timedelta(days=2), tick=True):
        yield


def remaining(minutes):  # hand-computed Ga-68 decay, independent of radiopharmacy.physics
    return math.exp(-LN2 * minutes / 67.71)


def create(actor, **overrides):
    data = batch_inputs(**overrides)
    data.setdefault(
        "elutions", [ElutionFactory(eluted_at=data["started_at"] - timedelta(minutes=10))]
    )
    return batch_create(actor=actor, **data)


@pytest.mark.requirement("BAT-02", "GRPP-01")
def test_batch_number_is_product_code_site_date_and_sequence(radiopharmacist):
    batch = create(radiopharmacist)
    assert batch.batch_number == "GA68DOTATATE-20261124-01"
    assert batch.status == BatchStatus.QC_PENDING
    assert batch.operator == radiopharmacist


@pytest.mark.requirement("BAT-02", "GRPP-01")
def test_batch_date_is_taken_in_the_site_zone_across_midnight(radiopharmacist):
    eos = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 00:30 CET on 25 November
    batch = create(radiopharmacist, started_at=eos - timedelta(minutes=25), eos_at=eos)
    assert batch.batch_number == "GA68DOTATATE-20261125-01"
    assert str(batch.production_date) == "2026-11-25"


@pytest.mark.requirement("BAT-02", "GRPP-01")
def test_sequence_counts_per_day_and_restarts_next_day(radiopharmacist):
    numbers = [
        create(radiopharmacist, started_at=REFERENCE_TIME + timedelta(hours=h)).batch_number
        for h in (0, 3, 6)
    ]
    assert numbers == [f"GA68DOTATATE-20261124-0{i}" for i in (1, 2, 3)]
    next_day = create(radiopharmacist, started_at=REFERENCE_TIME + timedelta(days=1))
    assert next_day.batch_number == "GA68DOTATATE-20261125-01"


@pytest.mark.requirement("BAT-02", "GRPP-01")
def test_number_is_never_reused_after_a_correction_moves_eos(radiopharmacist):
    first = create(radiopharmacist)
    second = create(radiopharmacist, started_at=REFERENCE_TIME + timedelta(hours=2))
    batch_correct(
        actor=radiopharmacist,
        batch_id=second.pk,
        changes={"eos_at": second.eos_at + timedelta(minutes=1)},
        reason="EOS typo",
    )
    third = create(radiopharmacist, started_at=REFERENCE_TIME + timedelta(hours=4))
    assert {first.batch_number, second.batch_number, third.batch_number} == {
        f"GA68DOTATATE-20261124-0{i}" for i in (1, 2, 3)
    }


@pytest.mark.requirement("BAT-03", "GRPP-02", "GRPP-05")
def test_derived_numbers_match_hand_computation(radiopharmacist):
    batch = create(radiopharmacist)  # elution 1000 MBq at 07:00, EOS 07:35, 700 MBq at EOS
    assert batch.activity_at_eos_mbq == pytest.approx(700.0)
    assert batch.concentration_at_eos_mbq_per_ml == pytest.approx(70.0)
    assert batch.expires_at == datetime(2026, 11, 24, 11, 35, tzinfo=UTC)
    assert batch.yield_uncorrected_percent == pytest.approx(70.0)
    assert batch.yield_percent == pytest.approx(70.0 / remaining(35), rel=1e-9)


@pytest.mark.requirement("BAT-03", "GRPP-02", "GRPP-05")
def test_activity_measured_after_eos_is_decay_corrected_back(radiopharmacist):
    eos = REFERENCE_TIME + timedelta(minutes=35)
    batch = create(radiopharmacist, activity_mbq=350.0, measured_at=eos + timedelta(minutes=67.71))
    assert batch.activity_at_eos_mbq == pytest.approx(700.0, rel=1e-9)


@pytest.mark.requirement("BAT-03", "GRPP-02", "GRPP-05")
def test_activity_measured_before_eos_is_decayed_forward(radiopharmacist):
    eos = REFERENCE_TIME + timedelta(minutes=35)
    batch = create(radiopharmacist, activity_mbq=800.0, measured_at=eos - timedelta(minutes=10))
    assert batch.activity_at_eos_mbq == pytest.approx(800.0 * remaining(10), rel=1e-9)


@pytest.mark.requirement("BAT-03", "GRPP-02", "GRPP-05")
def test_yield_sums_several_elutions_each_decayed_to_eos(radiopharmacist):
    started = REFERENCE_TIME + timedelta(minutes=10)
    e1 = ElutionFactory(eluted_at=REFERENCE_TIME, activity_mbq=600.0)
    e2 = ElutionFactory(eluted_at=REFERENCE_TIME + timedelta(minutes=5), activity_mbq=400.0)
    batch = create(radiopharmacist, elutions=[e1, e2], started_at=started)
    eluate = 600 * remaining(35) + 400 * remaining(30)
    assert batch.yield_percent == pytest.approx(100 * 700 / eluate, rel=1e-9)
    assert batch.yield_uncorrected_percent == pytest.approx(70.0)
    assert set(batch.elutions.all()) == {e1, e2}


@pytest.mark.requirement("BAT-01", "AUD-01", "P11-11.10(e)")
def test_creation_is_audited(radiopharmacist):
    batch = create(radiopharmacist)
    event = AuditEvent.objects.get(object_type="radiopharmacy.batch", object_id=str(batch.pk))
    assert event.action == "created"
    assert event.changes["batch_number"]["new"] == batch.batch_number
    assert event.changes["elutions"]["new"] == [e.pk for e in batch.elutions.all()]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"elutions": []}, "elutions"),
        ({"elutions": [999999]}, "elutions"),
        ({"elutions": ["x"]}, "elutions"),
        ({"eos_at": REFERENCE_TIME}, "eos_at"),
        ({"activity_mbq": -1.0}, "activity_mbq"),
        ({"activity_mbq": 0.0}, "activity_mbq"),
        ({"volume_ml": 0.0}, "volume_ml"),
        ({"precursor_mass_ug": -5.0}, "precursor_mass_ug"),
        ({"method": "manual"}, "method"),
        ({"module_name": ""}, "module_name"),
        ({"method": "kit", "kit_lot": ""}, "kit_lot"),
        ({"measured_at": datetime(2026, 11, 24, 8, 0)}, "measured_at"),  # noqa: DTZ001
    ],
)
@pytest.mark.requirement("API-02")
def test_invalid_batch_input_is_a_field_error(radiopharmacist, overrides, field):
    data = batch_inputs(**overrides)
    data.setdefault("elutions", [ElutionFactory()])
    with pytest.raises(ApplicationError) as err:
        batch_create(actor=radiopharmacist, **data)
    assert field in err.value.fields
    assert not Batch.objects.exists()


@pytest.mark.requirement("P11-11.10(f)")
def test_elution_after_synthesis_start_is_refused(radiopharmacist):
    late = ElutionFactory(eluted_at=REFERENCE_TIME + timedelta(minutes=20))
    with pytest.raises(ApplicationError) as err:
        create(radiopharmacist, elutions=[late])
    assert "after the synthesis started" in err.value.fields["elutions"][0]


@pytest.mark.requirement("GEN-08", "P11-11.10(f)")
def test_elution_from_quarantined_generator_is_refused(radiopharmacist):
    generator = GeneratorFactory(status="quarantine")
    elution = ElutionFactory(generator=generator)
    with pytest.raises(ApplicationError) as err:
        create(radiopharmacist, elutions=[elution])
    assert "quarantine" in err.value.fields["elutions"][0]


@pytest.mark.requirement("BAT-01", "GRPP-03")
def test_kit_batch_needs_only_kit_lot(radiopharmacist):
    batch = create(radiopharmacist, method="kit", module_name="", kit_lot="SKT-1")
    assert batch.method == "kit"


@pytest.mark.requirement("BAT-06", "P11-11.10(e)", "A11-9")
def test_correction_recomputes_and_audits_old_and_new_with_reason(radiopharmacist):
    batch = create(radiopharmacist)
    batch_correct(
        actor=radiopharmacist,
        batch_id=batch.pk,
        changes={"activity_mbq": 650.0, "volume_ml": 13.0},
        reason="Dose calibrator reading mistyped",
    )
    batch.refresh_from_db()
    assert batch.activity_at_eos_mbq == pytest.approx(650.0)
    assert batch.concentration_at_eos_mbq_per_ml == pytest.approx(50.0)
    event = AuditEvent.objects.filter(object_id=str(batch.pk), action="corrected").get()
    assert event.reason == "Dose calibrator reading mistyped"
    assert event.changes["activity_mbq"] == {"old": 700.0, "new": 650.0}
    assert event.changes["concentration_at_eos_mbq_per_ml"]["old"] == pytest.approx(70.0)


@pytest.mark.requirement("BAT-06", "P11-11.10(e)", "A11-9")
def test_correction_without_reason_is_refused(radiopharmacist):
    batch = create(radiopharmacist)
    with pytest.raises(ApplicationError) as err:
        batch_correct(actor=radiopharmacist, batch_id=batch.pk, changes={"volume_ml": 9}, reason="")
    assert "reason" in err.value.fields


@pytest.mark.requirement("BAT-06")
def test_correction_of_unknown_or_derived_field_is_refused(radiopharmacist):
    batch = create(radiopharmacist)
    with pytest.raises(ApplicationError) as err:
        batch_correct(
            actor=radiopharmacist, batch_id=batch.pk, changes={"yield_percent": 99}, reason="x"
        )
    assert "yield_percent" in err.value.fields


@pytest.mark.parametrize("status", ["released", "rejected", "recalled"])
@pytest.mark.requirement("BAT-07")
def test_batch_record_is_frozen_after_disposition(radiopharmacist, status):
    batch = BatchFactory(status=status)
    with pytest.raises(StateConflict):
        batch_correct(
            actor=radiopharmacist, batch_id=batch.pk, changes={"volume_ml": 9}, reason="late"
        )
    batch.refresh_from_db()
    assert batch.volume_ml == 10.0
