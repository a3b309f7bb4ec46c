"""QC results: type checks, pass/fail, corrections, OOS on failure, recall after release."""

from datetime import UTC, datetime, timedelta

import pytest

from qc.models import Deviation, QcResult, Specification, SpecificationTest
from qc.services.results import qc_result_record
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent
from radiopharmacy.selectors.batches import doses_for_followup
from tests.factories import REFERENCE_TIME, BatchFactory, DoseFactory, as_of

pytestmark = pytest.mark.django_db


def record(batch, actor, test, value, **kwargs):
    """Record a result when it was performed (10 min after EOS by default; a Ge-68
    breakthrough 49 h after, the earliest its method allows being 48 h)."""
    later = timedelta(hours=49) if test == "ge68_breakthrough" else timedelta(minutes=10)
    kwargs.setdefault("performed_at", batch.eos_at + later)
    with as_of(kwargs["performed_at"] + timedelta(minutes=1)):
        return qc_result_record(actor=actor, batch_id=batch.pk, test=test, value=value, **kwargs)


@pytest.fixture
def batch(radiopharmacist):
    return BatchFactory(operator=radiopharmacist)


@pytest.mark.requirement("QC-01")
def test_default_specification_v1_is_seeded_with_reference_tests():
    spec = Specification.objects.get(product__code="GA68DOTATATE", version=1)
    codes = [t.code for t in spec.tests.all()]
    assert codes.count("ph") == 2
    assert set(codes) == {
        "appearance", "ph", "rcp_itlc", "colloid_itlc", "free_ga68", "half_life",
        "gamma_spectrum", "filter_integrity", "endotoxin", "ethanol", "hepes", "peptide_mass",
        "ge68_breakthrough", "sterility",
    }  # fmt: skip
    post = {t.code for t in spec.tests.all() if t.stage == "post_release"}
    assert post == {"ge68_breakthrough", "sterility"}
    assert not spec.tests.get(code="hepes").required
    assert spec.tests.get(code="ethanol").applies_to_method == "automated"
    endotoxin = spec.tests.get(code="endotoxin")
    assert endotoxin.limit_per_volume and endotoxin.strict and endotoxin.max_value == 175


@pytest.mark.requirement("QC-03", "GRPP-07")
def test_passing_result_stores_passed_and_limit(batch, radiopharmacist):
    result = record(batch, radiopharmacist, "rcp_itlc", 98.2, instrument="TLC scanner")
    assert result.passed is True
    assert result.limit_text == "≥ 95 %"
    assert result.unit == "%"
    assert result.analyst == radiopharmacist
    assert not Deviation.objects.exists()
    assert AuditEvent.objects.filter(object_type="qc.qcresult", action="created").count() == 1


@pytest.mark.requirement("QC-10")
def test_endotoxin_limit_uses_the_product_volume(batch, radiopharmacist):
    assert record(batch, radiopharmacist, "endotoxin", 17.49).passed
    batch2 = BatchFactory()
    result = record(batch2, radiopharmacist, "endotoxin", 17.5)
    assert not result.passed
    assert result.limit_text == "< 17.5 IU/mL (175/V, V = 10 mL)"


@pytest.mark.requirement("QC-01")
def test_ph_limit_depends_on_the_method(radiopharmacist):
    kit = BatchFactory(method="kit", module_name="", kit_lot="SKT-1")
    assert record(kit, radiopharmacist, "ph", 3.5).passed
    assert not record(BatchFactory(), radiopharmacist, "ph", 3.5).passed


@pytest.mark.requirement("QC-01")
def test_ethanol_does_not_apply_to_kit_batches(radiopharmacist):
    kit = BatchFactory(method="kit", module_name="", kit_lot="SKT-1")
    with pytest.raises(ApplicationError) as err:
        record(kit, radiopharmacist, "ethanol", 5.0)
    assert "test" in err.value.fields


@pytest.mark.parametrize(
    ("test", "value", "field"),
    [
        ("rcp_itlc", "pass", "value"),
        ("rcp_itlc", "ninety", "value"),
        ("rcp_itlc", None, "value"),
        ("sterility", 1, "value"),
        ("sterility", "ok", "value"),
        ("no_such_test", 1.0, "test"),
    ],
)
@pytest.mark.requirement("QC-03", "API-02")
def test_bad_value_or_unknown_test_is_a_field_error(batch, radiopharmacist, test, value, field):
    with pytest.raises(ApplicationError) as err:
        record(batch, radiopharmacist, test, value)
    assert field in err.value.fields
    assert not QcResult.objects.exists()


@pytest.mark.requirement("API-01")
def test_naive_performed_at_is_refused(batch, radiopharmacist):
    with pytest.raises(ApplicationError) as err:
        record(batch, radiopharmacist, "rcp_itlc", 98.0, performed_at=datetime(2026, 11, 24, 8))  # noqa: DTZ001
    assert "performed_at" in err.value.fields


@pytest.mark.requirement("QC-03", "API-02")
def test_wrong_unit_is_refused(batch, radiopharmacist):
    with pytest.raises(ApplicationError) as err:
        record(batch, radiopharmacist, "half_life", 68.0, unit="s")
    assert "unit" in err.value.fields


@pytest.mark.requirement("QC-04", "P11-11.10(e)")
def test_correction_supersedes_and_latest_counts(batch, radiopharmacist):
    first = record(batch, radiopharmacist, "rcp_itlc", 98.0)
    second = record(
        batch, radiopharmacist, "rcp_itlc", 97.0, supersedes=first.pk, reason="strip re-read"
    )
    third = record(batch, radiopharmacist, "rcp_itlc", 96.5, reason="re-integrated")
    assert second.supersedes == first and third.supersedes == second
    from qc.selectors import latest_results

    assert latest_results(batch)["rcp_itlc"] == third
    event = AuditEvent.objects.filter(object_type="qc.qcresult", action="corrected").last()
    assert event.reason == "re-integrated"


@pytest.mark.requirement("QC-04", "P11-11.10(e)")
def test_correction_without_reason_is_refused(batch, radiopharmacist):
    record(batch, radiopharmacist, "rcp_itlc", 98.0)
    with pytest.raises(ApplicationError) as err:
        record(batch, radiopharmacist, "rcp_itlc", 97.0)
    assert "reason" in err.value.fields


@pytest.mark.requirement("QC-04", "P11-11.10(e)")
def test_correction_must_supersede_the_latest_result(batch, radiopharmacist):
    first = record(batch, radiopharmacist, "rcp_itlc", 98.0)
    record(batch, radiopharmacist, "rcp_itlc", 97.0, reason="re-read")
    with pytest.raises(ApplicationError) as err:
        record(batch, radiopharmacist, "rcp_itlc", 96.0, supersedes=first.pk, reason="again")
    assert "supersedes" in err.value.fields


@pytest.mark.requirement("QC-08")
def test_failing_release_test_opens_blocking_oos(batch, radiopharmacist):
    result = record(batch, radiopharmacist, "rcp_itlc", 94.0)
    assert result.passed is False
    deviation = Deviation.objects.get(batch=batch)
    assert deviation.kind == "oos" and deviation.status == "open"
    assert deviation.qc_result == result
    assert "RCP 94.0 % is below the 95 % limit" in deviation.description
    batch.refresh_from_db()
    assert batch.status == BatchStatus.QC_PENDING


@pytest.mark.requirement("BAT-07")
def test_released_batch_accepts_only_post_release_tests(radiopharmacist):
    batch = BatchFactory(status="released")
    with pytest.raises(StateConflict):
        record(batch, radiopharmacist, "rcp_itlc", 98.0)
    assert record(batch, radiopharmacist, "sterility", "pass").passed


@pytest.mark.parametrize("status", ["rejected", "recalled"])
@pytest.mark.requirement("BAT-07")
def test_rejected_or_recalled_batch_accepts_no_results(radiopharmacist, status):
    with pytest.raises(StateConflict):
        record(BatchFactory(status=status), radiopharmacist, "sterility", "pass")


@pytest.mark.requirement("QC-09")
def test_post_release_failure_holds_batch_and_lists_doses(radiopharmacist):
    batch = BatchFactory(status="released")
    dose = DoseFactory(batch=batch, booking__patient_ref="P-0042")
    result = record(
        batch, radiopharmacist, "sterility", "fail", performed_at=batch.eos_at + timedelta(days=14)
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ON_HOLD
    deviation = Deviation.objects.get(batch=batch)
    assert deviation.kind == "oos" and deviation.qc_result == result
    assert [d["dose"] for d in deviation.affected_doses] == [dose.pk]
    assert deviation.affected_doses[0]["patient_ref"] == "P-0042"
    assert "P-0042" in deviation.description and "on hold" in deviation.description
    assert result.hold_doses == deviation.affected_doses
    hold = AuditEvent.objects.get(object_type="radiopharmacy.batch", action="put_on_hold")
    assert hold.changes["status"] == {"old": "released", "new": "on_hold"}
    assert "Sterility failed" in hold.reason


@pytest.mark.requirement("QC-09")
def test_post_release_failure_without_doses_still_holds(radiopharmacist):
    batch = BatchFactory(status="released")
    record(batch, radiopharmacist, "ge68_breakthrough", 0.002)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ON_HOLD
    assert doses_for_followup(batch) == []
    assert "No dose was assigned" in Deviation.objects.get(batch=batch).description


@pytest.mark.requirement("QC-08")
def test_post_release_failure_before_release_blocks_release_without_hold(batch, radiopharmacist):
    record(batch, radiopharmacist, "ge68_breakthrough", 0.002)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.QC_PENDING
    assert Deviation.objects.get(batch=batch).status == "open"


@pytest.mark.requirement("QC-02")
def test_batch_is_judged_against_the_version_in_force_at_eos(radiopharmacist):
    v1 = Specification.objects.get(version=1)
    v2 = Specification.objects.create(
        product=v1.product, version=2, effective_from=datetime(2026, 11, 24, 9, tzinfo=UTC)
    )
    for test in v1.tests.all():
        SpecificationTest.objects.create(
            **{
                f.name: getattr(test, f.name)
                for f in SpecificationTest._meta.concrete_fields
                if f.name not in ("id", "spec")
            },
            spec=v2,
        )
    v2.tests.filter(code="rcp_itlc").update(min_value=97.0)
    before = BatchFactory()  # EOS 07:35 UTC: version 1
    after = BatchFactory(started_at=REFERENCE_TIME + timedelta(hours=3))  # EOS 10:35: version 2
    assert record(before, radiopharmacist, "rcp_itlc", 96.0).passed
    late = record(after, radiopharmacist, "rcp_itlc", 96.0)
    assert not late.passed and late.limit_text == "≥ 97 %"
    assert late.spec_test.spec == v2
