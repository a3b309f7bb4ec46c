"""release_blockers: one sentence per reason a batch cannot be released."""

from datetime import timedelta

import pytest

from qc.guards import release_blockers
from qc.services.deviations import deviation_close, deviation_open, investigation_record
from qc.services.results import qc_result_record
from tests.factories import TEST_PASSWORD, BatchFactory, as_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(radiopharmacist):
    """A batch with a passing result for every release test."""
    return BatchFactory(operator=radiopharmacist, qc="passing")


def at(batch, minutes=40):
    return batch.eos_at + timedelta(minutes=minutes)


@pytest.mark.requirement("REL-03", "QC-08")
def test_complete_passing_batch_has_no_blockers(batch):
    assert release_blockers(batch, at=at(batch)) == []


def test_optional_test_without_result_does_not_block(radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", skip={"hepes"})
    assert release_blockers(batch, at=at(batch)) == []


@pytest.mark.requirement("QC-01")
def test_post_release_tests_do_not_block_release(batch):
    assert not any("Sterility" in b for b in release_blockers(batch, at=at(batch)))


@pytest.mark.requirement("REL-03", "QC-08")
def test_each_missing_required_test_is_named(radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", skip={"rcp_itlc", "endotoxin"})
    assert release_blockers(batch, at=at(batch)) == [
        "RCP (ITLC) result missing",
        "Bacterial endotoxins result missing",
    ]


def test_kit_batch_is_not_asked_for_ethanol(radiopharmacist):
    kit = BatchFactory(
        operator=radiopharmacist, method="kit", module_name="", kit_lot="SKT-1", qc="passing"
    )
    assert release_blockers(kit, at=at(kit)) == []


def _record(batch, actor, value, **kwargs):
    with as_of(at(batch)):
        return qc_result_record(
            actor=actor,
            batch_id=batch.pk,
            test="rcp_itlc",
            value=value,
            performed_at=at(batch) - timedelta(minutes=1),
            **kwargs,
        )


@pytest.mark.requirement("REL-03", "QC-08")
def test_failed_test_and_its_oos_block(radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", skip={"rcp_itlc"})
    _record(batch, radiopharmacist, 94.0)
    blockers = release_blockers(batch, at=at(batch))
    oos = batch.deviations.get()
    assert blockers[0] == "RCP 94.0 % is below the 95 % limit"
    assert blockers[1] == f"Out of specification #{oos.pk} is open: RCP 94.0 % is below the " \
        "95 % limit (out of specification)"  # fmt: skip


@pytest.mark.requirement("QC-04", "QE-06")
def test_corrected_result_counts_but_open_oos_still_blocks_until_closed(
    radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", skip={"rcp_itlc"})
    _record(batch, radiopharmacist, 94.0)
    _record(batch, radiopharmacist, 96.0, reason="Strip mis-cut, repeated")
    blockers = release_blockers(batch, at=at(batch))
    assert len(blockers) == 1 and blockers[0].startswith("Out of specification #")
    oos = batch.deviations.get()
    investigation_record(
        deviation_id=oos.pk,
        actor=radiopharmacist,
        phase=1,
        findings="Strip cut through the origin",
        assignable_cause="sample preparation error",
    )
    assert "is investigating" in release_blockers(batch, at=at(batch))[0]
    deviation_close(
        deviation_id=oos.pk,
        actor=qualified_person,
        conclusion="invalidated",
        note="Lab error",
        password=TEST_PASSWORD,
    )
    assert release_blockers(batch, at=at(batch)) == []


@pytest.mark.requirement("QC-04", "QE-06")
def test_invalidated_result_without_a_repeat_still_blocks(radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", skip={"rcp_itlc"})
    _record(batch, radiopharmacist, 94.0)
    oos = batch.deviations.get()
    investigation_record(
        deviation_id=oos.pk, actor=radiopharmacist, phase=1, findings="x", assignable_cause="y"
    )
    deviation_close(
        deviation_id=oos.pk,
        actor=qualified_person,
        conclusion="invalidated",
        note="Lab error",
        password=TEST_PASSWORD,
    )
    assert release_blockers(batch, at=at(batch)) == [
        "RCP (ITLC): the result was invalidated by its OOS investigation; enter the valid result"
    ]


@pytest.mark.requirement("QE-06")
def test_any_open_quality_event_blocks(batch, radiopharmacist):
    event = deviation_open(
        batch=batch, kind="deviation", description="Label printer jam", actor=radiopharmacist
    )
    assert release_blockers(batch, at=at(batch)) == [
        f"Deviation #{event.pk} is open: Label printer jam"
    ]


@pytest.mark.requirement("REL-03")
def test_expired_batch_is_blocked_with_site_time(batch):
    # EOS 07:35 UTC + 4 h = 11:35 UTC = 12:35 CET
    assert release_blockers(batch, at=batch.expires_at) == ["Batch expired at 12:35 CET"]


@pytest.mark.parametrize("status", ["released", "rejected", "recalled"])
@pytest.mark.requirement("BAT-04", "P11-11.10(f)")
def test_status_other_than_qc_pending_blocks(radiopharmacist, status):
    batch = BatchFactory(status=status)
    blockers = release_blockers(batch, at=at(batch))
    assert blockers[0].startswith("Batch is ")
    assert "not QC pending" in blockers[0]
