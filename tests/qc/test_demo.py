"""Demo batches: a week of batches with full QC, one OOS, idempotent."""

import io

import pytest

from qc.demo.batches import load_batches
from qc.guards import release_blockers
from qc.models import Deviation
from radiopharmacy.demo.generators import load_generators
from radiopharmacy.demo.users import load_users
from radiopharmacy.models import Batch

pytestmark = pytest.mark.django_db


def test_demo_batches_have_full_qc_one_oos_and_load_once():
    out = io.StringIO()
    load_users(stdout=out)
    load_generators(stdout=out)
    load_batches(stdout=out)
    count = Batch.objects.count()
    assert count >= 5
    oos = Deviation.objects.get()
    assert "RCP 94.0 %" in oos.description
    # Every batch but the OOS one has full, passing QC (whatever the hour: before the first
    # elution of the day the newest batch is yesterday's, which may be the OOS one).
    for batch in Batch.objects.exclude(pk=oos.batch_id):
        blockers = release_blockers(batch, at=batch.eos_at)
        assert blockers == [], (batch.batch_number, blockers)
    assert release_blockers(oos.batch, at=oos.batch.eos_at)
    load_batches(stdout=out)
    assert Batch.objects.count() == count
    assert "already loaded" in out.getvalue()
