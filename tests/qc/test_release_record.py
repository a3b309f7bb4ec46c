"""The canonical batch record that the release signature hashes: its JSON form and stability."""

import json

import pytest

from qc.services.release import batch_record, canonical_batch_record
from tests.factories import PASSING_RELEASE_VALUES, QC_TIME, BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(radiopharmacist):
    return BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)


@pytest.mark.requirement("REL-02", "P11-11.70")
def test_canonical_record_is_sorted_compact_json_of_the_whole_record(batch):
    raw = canonical_batch_record(batch)
    record = json.loads(raw)
    assert (
        raw
        == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert record["batch"]["batch_number"] == batch.batch_number
    assert record["specification"]["version"] == 1
    assert {t["code"] for t in record["qc_tests"]} >= set(PASSING_RELEASE_VALUES) | {"sterility"}
    rcp = next(r for r in record["qc_results"] if r["test_code"] == "rcp_itlc")
    assert (rcp["value"], rcp["limit"], rcp["passed"]) == (98.2, "≥ 95 %", True)
    assert record["elutions"][0]["generator"]["serial_number"]
    assert "status" not in record["batch"]  # the signature states the decision


@pytest.mark.requirement("REL-02", "P11-11.70")
def test_canonical_record_is_the_same_when_computed_twice(batch):
    assert canonical_batch_record(batch) == canonical_batch_record(batch)
    assert batch_record(batch) == json.loads(canonical_batch_record(batch))
