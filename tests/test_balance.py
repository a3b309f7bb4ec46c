"""Activity balance per batch (SPEC §2.9): the pure calculation and the batch's records."""

from datetime import timedelta

import pytest

from radiopharmacy import physics
from radiopharmacy.balance import DoseLine, Measured, activity_balance
from radiopharmacy.site.balance import batch_balance
from tests.factories import REFERENCE_TIME, BatchFactory, DoseFactory

EOS = REFERENCE_TIME + timedelta(minutes=35)  # BatchFactory's default synthesis


def _decayed(activity_mbq, minutes_after_eos):
    return physics.decay_over_minutes(activity_mbq, minutes_after_eos)


def _given_dose(concentration, volume_ml, *, drawn_min, injected_min, residue_mbq, short_mbq=0.0):
    """A dose of `volume_ml` measured `drawn_min` after EOS (holding what the volume held, less
    `short_mbq` at EOS), injected and its syringe residue measured afterwards."""
    measured = _decayed(concentration * volume_ml - short_mbq, drawn_min)
    residue_at_injection = residue_mbq
    administered = _decayed(measured, injected_min - drawn_min) - residue_at_injection
    at = EOS + timedelta(minutes=drawn_min)
    injected = EOS + timedelta(minutes=injected_min)
    return {
        "measured_activity_mbq": measured,
        "measured_at": at,
        "injected_at": injected,
        "administered_activity_mbq": administered,
        "residual_activity_mbq": _decayed(residue_at_injection, 5),
        "residual_measured_at": injected + timedelta(minutes=5),
        "volume_to_draw_ml": volume_ml,
    }


@pytest.mark.requirement("ANA-03")
def test_a_balance_of_known_activities_closes():
    eluted = EOS - timedelta(minutes=35)
    result = activity_balance(
        eos_at=EOS,
        eluates=[Measured(1000.0, eluted)],
        product=Measured(_decayed(700.0, 3), EOS + timedelta(minutes=3)),
        product_volume_ml=10.0,
        qc_sample_volume_ml=0.5,
        doses=[
            DoseLine(
                "P-1",
                2.0,
                measured=Measured(_decayed(140.0, 40), EOS + timedelta(minutes=40)),
                administered=Measured(_decayed(133.0, 50), EOS + timedelta(minutes=50)),
                residue=Measured(_decayed(7.0, 55), EOS + timedelta(minutes=55)),
            ),
            DoseLine("P-2", 1.5),  # drawn, not measured yet: its volume at the EOS concentration
        ],
    )
    assert result.eluate_in_mbq == pytest.approx(1000.0 * physics.decay_over_minutes(1.0, 35))
    assert result.product_at_eos_mbq == pytest.approx(700.0, rel=1e-12)
    assert result.synthesis_losses_mbq == pytest.approx(result.eluate_in_mbq - 700.0)
    assert result.qc_samples_mbq == pytest.approx(35.0)
    assert result.doses_drawn_mbq == pytest.approx(140.0 + 105.0)
    assert result.administered_mbq == pytest.approx(133.0)
    assert result.residues_mbq == pytest.approx(7.0)
    assert result.left_in_vial_mbq == pytest.approx(6.0 * 70.0)
    assert abs(result.unaccounted_mbq) / 700.0 < 1e-9
    assert abs(result.doses[0].unaccounted_mbq) / 140.0 < 1e-9
    assert not result.flagged


@pytest.mark.django_db
@pytest.mark.requirement("ANA-03")
def test_the_balance_of_a_batch_built_with_known_activities_closes_to_1e_9(api_as, auditor):
    batch = BatchFactory(recorded_at=EOS + timedelta(minutes=5))  # 700 MBq in 10 mL at EOS
    concentration = batch.activity_at_eos_mbq / batch.volume_ml
    DoseFactory(
        batch=batch,
        status="administered",
        **_given_dose(concentration, 2.0, drawn_min=40, injected_min=55, residue_mbq=4.0),
    )
    DoseFactory(
        batch=batch,
        status="administered",
        **_given_dose(concentration, 1.8, drawn_min=60, injected_min=70, residue_mbq=2.5),
    )
    DoseFactory(batch=batch, status="assigned", volume_to_draw_ml=1.0)  # still in the vial

    result = batch_balance(batch)
    assert result.product_at_eos_mbq == pytest.approx(batch.activity_at_eos_mbq, rel=1e-12)
    assert result.eluate_in_mbq == pytest.approx(
        result.product_at_eos_mbq + result.synthesis_losses_mbq, rel=1e-12
    )
    accounted = (
        result.qc_samples_mbq
        + result.doses_drawn_mbq
        + result.left_in_vial_mbq
        + result.unaccounted_mbq
    )
    assert accounted == pytest.approx(result.product_at_eos_mbq, rel=1e-12)
    assert abs(result.unaccounted_mbq) / result.product_at_eos_mbq < 1e-9
    assert result.left_in_vial_mbq == pytest.approx((10.0 - 0.5 - 3.8) * concentration)
    assert result.administered_mbq + result.residues_mbq == pytest.approx(
        result.doses_drawn_mbq, rel=1e-9
    )
    assert not result.flagged

    response = api_as(auditor).get(f"/api/v1/batches/{batch.pk}/balance/")
    assert response.status_code == 200
    assert response.json()["flagged"] is False
    assert len(response.json()["doses"]) == 2
    assert api_as(auditor).get("/api/v1/batches/999999/balance/").status_code == 404


@pytest.mark.django_db
@pytest.mark.requirement("ANA-03")
def test_a_missing_50_mbq_shows_as_unaccounted_and_is_flagged(api_as, radiopharmacist):
    batch = BatchFactory(recorded_at=EOS + timedelta(minutes=5))
    concentration = batch.activity_at_eos_mbq / batch.volume_ml
    DoseFactory(
        batch=batch,
        status="administered",
        **_given_dose(concentration, 2.0, drawn_min=40, injected_min=55, residue_mbq=4.0),
    )
    # this syringe holds 50 MBq (at EOS) less than the 1.8 mL drawn from the vial held
    DoseFactory(
        batch=batch,
        status="dispensed",
        **{
            k: v
            for k, v in _given_dose(
                concentration, 1.8, drawn_min=60, injected_min=70, residue_mbq=0, short_mbq=50
            ).items()
            if k in ("measured_activity_mbq", "measured_at", "volume_to_draw_ml")
        },
    )
    result = batch_balance(batch)
    assert result.unaccounted_mbq == pytest.approx(50.0, rel=1e-9)
    assert result.unaccounted_percent == pytest.approx(100 * 50.0 / 700.0, rel=1e-6)
    assert result.flagged  # 7.1 % > 5 %

    body = api_as(radiopharmacist).get(f"/api/v1/batches/{batch.pk}/balance/").json()
    assert body["unaccounted_mbq"] == pytest.approx(50.0, rel=1e-9)
    assert body["flagged"] is True
