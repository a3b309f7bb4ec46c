"""Helpers for the release tests (a releasable batch at a fixed time) and the canonical record."""

import json
from datetime import timedelta

import pytest
import time_machine

from qc.services.release import batch_record, canonical_batch_record
from qc.services.results import qc_result_record
from tests.factories import REFERENCE_TIME
from tests.qc.factories import BatchFactory

# Every release test of the default specification v1 (automated synthesis), all passing.
PASSING = {
    "appearance": "pass",
    "ph": 6.5,
    "rcp_itlc": 98.2,
    "colloid_itlc": 0.8,
    "free_ga68": 0.4,
    "half_life": 67.9,
    "gamma_spectrum": "pass",
    "filter_integrity": 3600,
    "endotoxin": 2.0,
    "ethanol": 5.1,
    "hepes": 10,
    "peptide_mass": 2.5,
}
# The batch factory's EOS is REFERENCE_TIME + 35 min (08:35 CET); QC ends 20 min later.
QC_TIME = REFERENCE_TIME + timedelta(minutes=55)
RELEASE_TIME = REFERENCE_TIME + timedelta(minutes=60)  # 24 Nov 2026 08:00 UTC = 09:00 CET


def make_batch(operator, *, values=PASSING, skip=(), **kwargs):
    """A QC-pending batch with QC results recorded at QC_TIME (all passing by default)."""
    with time_machine.travel(QC_TIME, tick=False):
        batch = BatchFactory(operator=operator, **kwargs)
        for code, value in values.items():
            if code in skip:
                continue
            qc_result_record(
                actor=operator,
                batch_id=batch.pk,
                test=code,
                value=value,
                performed_at=QC_TIME - timedelta(minutes=5),
                instrument="ITLC scanner" if code.endswith("itlc") else "",
            )
    batch.refresh_from_db()
    return batch


@pytest.fixture
def at_release_time():
    with time_machine.travel(RELEASE_TIME, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_canonical_record_is_sorted_compact_json_of_the_whole_record(radiopharmacist):
    batch = make_batch(radiopharmacist)
    raw = canonical_batch_record(batch)
    record = json.loads(raw)
    assert (
        raw
        == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert record["batch"]["batch_number"] == batch.batch_number
    assert record["specification"]["version"] == 1
    assert {t["code"] for t in record["qc_tests"]} >= set(PASSING) | {"sterility"}
    rcp = next(r for r in record["qc_results"] if r["test_code"] == "rcp_itlc")
    assert (rcp["value"], rcp["limit"], rcp["passed"]) == (98.2, "≥ 95 %", True)
    assert record["elutions"][0]["generator"]["serial_number"]
    assert "status" not in record["batch"]  # the signature states the decision


@pytest.mark.django_db
def test_canonical_record_is_the_same_when_computed_twice(radiopharmacist):
    batch = make_batch(radiopharmacist)
    assert canonical_batch_record(batch) == canonical_batch_record(batch)
    assert batch_record(batch) == json.loads(canonical_batch_record(batch))
