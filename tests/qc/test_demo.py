"""Demo batches: a week of batches with full QC, two OOS (one a typing error corrected with a
reason), idempotent; the demo's quality events: the typed OOS investigated and closed as
invalidated (its batch then released), the other still under investigation, one CAPA."""

import io

import pytest

from qc.demo.batches import RCP_PRINTED, RCP_TYPED, load_batches
from qc.demo.quality_events import load_quality_events
from qc.demo.releases import load_releases
from qc.guards import release_blockers
from qc.models import BatchSignature, Capa, Deviation
from radiopharmacy.demo.generators import load_generators
from radiopharmacy.demo.users import load_users
from radiopharmacy.models import Batch

pytestmark = pytest.mark.django_db


def load(*loaders) -> str:
    out = io.StringIO()
    for loader in loaders:
        loader(stdout=out)
    return out.getvalue()


@pytest.mark.requirement("OPS-01")
def test_demo_batches_have_full_qc_two_oos_and_load_once():
    load(load_users, load_generators, load_batches)
    count = Batch.objects.count()
    assert count >= 5
    failed = Deviation.objects.get(description__contains="RCP 94.0 %")
    typo = Deviation.objects.get(qc_result__value_number=RCP_TYPED)
    assert Deviation.objects.count() == 2
    # the typed 93 % was corrected with a reason: the result that counts is 97.2 %
    counting = typo.batch.qc_results.get(test_code="rcp_itlc", superseded_by__isnull=True)
    assert counting.value_number == RCP_PRINTED and counting.passed
    assert counting.supersedes == typo.qc_result and "Transcription error" in counting.reason
    assert counting.instrument == typo.qc_result.instrument  # kept from the typed result
    # Every other batch has full, passing QC (whatever the hour: before the first elution of
    # the day the newest batch is yesterday's, which may be an OOS one).
    for batch in Batch.objects.exclude(pk__in=[failed.batch_id, typo.batch_id]):
        blockers = release_blockers(batch, at=batch.eos_at)
        assert blockers == [], (batch.batch_number, blockers)
    assert release_blockers(failed.batch, at=failed.batch.eos_at)
    assert release_blockers(typo.batch, at=typo.batch.eos_at) == [
        f"Out of specification #{typo.pk} is open: {typo.first_line}"
    ]
    assert "already loaded" in load(load_batches)
    assert Batch.objects.count() == count


def test_demo_quality_events_close_the_typed_oos_and_investigate_the_other(celery_eager):
    load(load_users, load_generators, load_batches, load_quality_events, load_releases)
    typo = Deviation.objects.get(qc_result__value_number=RCP_TYPED)
    assert typo.status == "closed" and typo.conclusion == "invalidated"
    assert typo.closed_by.username == "qp" and typo.closure_meaning == "Investigation closed"
    assert typo.closed_printed_name == typo.closed_by.get_full_name()
    (phase_one,) = typo.investigations.all()
    assert phase_one.phase == 1 and "Transcription error" in phase_one.assignable_cause
    # closed after the corrected result, released after the closing
    corrected = typo.batch.qc_results.get(test_code="rcp_itlc", superseded_by__isnull=True)
    release = BatchSignature.objects.get(batch=typo.batch, decision="release")
    assert corrected.performed_at < typo.closed_at < release.signed_at
    assert Batch.objects.get(pk=typo.batch_id).status == "released"

    failed = Deviation.objects.get(description__contains="RCP 94.0 %")
    assert failed.status == "investigating" and failed.conclusion == ""
    (phase_one,) = failed.investigations.all()
    assert phase_one.assignable_cause == ""  # no laboratory error: phase II to do
    assert Batch.objects.get(pk=failed.batch_id).status == "rejected"

    (capa,) = Capa.objects.all()
    assert (
        capa.deviation == typo
        and capa.status == "open"
        and capa.owner.username == "radiopharmacist"
    )

    counts = (Deviation.objects.count(), Capa.objects.count(), BatchSignature.objects.count())
    assert "already loaded" in load(load_quality_events)
    load(load_releases)
    assert (Deviation.objects.count(), Capa.objects.count(), BatchSignature.objects.count()) == (
        counts
    )
