"""The bench data loader (tests/bench/loader.py) on a few days: what it writes goes through the
services (numbers, QC, signatures, doses, audit trail), and running it again adds nothing."""

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine

from qc.models import BatchSignature, QcResult, SignatureDecision
from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core.audit import verify_chain
from radiopharmacy.core.models import AuditEvent
from radiopharmacy.models import Batch, BreakthroughTest, Elution, Generator
from scheduling.models import Dose
from tests.bench import loader

# A Friday evening, site time: the week's five working days are all over.
FRIDAY_EVENING = datetime(2026, 11, 27, 19, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))

pytestmark = pytest.mark.django_db


def test_working_days_skip_weekends_and_end_today():
    days = loader.working_days(6, today=date(2026, 11, 30))  # a Monday
    assert days[-1] == date(2026, 11, 30)
    assert days[0] == date(2026, 11, 23)
    assert all(d.weekday() < 5 for d in days)


@pytest.fixture
def loaded(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 10**9  # no checkpoint files from this test
    # Two generators in five days, so the change of generator is loaded too.
    with (
        time_machine.travel(FRIDAY_EVENING, tick=False),
        mock.patch.object(loader, "GENERATOR_DAYS", 4),
    ):
        counts = loader.load(5, stdout=mock.Mock())
    return counts


def test_a_week_is_loaded_through_the_services(loaded):
    batches = Batch.objects.all()
    assert loaded["batches"] == batches.count() >= 10
    assert Elution.objects.count() == loaded["elutions"] == loaded["batches"]
    # every batch has its 12 release tests, the QP's signature and a final status
    for batch in batches:
        counted = {r.test_code for r in QcResult.objects.filter(batch=batch)}
        assert len(counted) == 12
        assert batch.status in (BatchStatus.RELEASED, BatchStatus.REJECTED)
        signature = BatchSignature.objects.get(batch=batch)
        assert signature.user.username == "qp"
        assert signature.user_id != batch.operator_id  # four eyes
        assert (signature.decision == SignatureDecision.RELEASE) == (
            batch.status == BatchStatus.RELEASED
        )
    # the patients of the released batches got their doses, measured and administered
    assert loaded["doses"] > 0
    assert Dose.objects.filter(status="administered").count() == loaded["doses"]
    # the first generator was retired when the second took over; the first was tested
    assert list(Generator.objects.order_by("received_at").values_list("status", flat=True)) == [
        GeneratorStatus.RETIRED,
        GeneratorStatus.IN_USE,
    ]
    assert BreakthroughTest.objects.exists()
    # and everything is in the audit trail, whose chain holds
    assert AuditEvent.objects.count() > 20 * loaded["batches"]
    assert verify_chain().first_broken_id is None


def test_loading_again_adds_nothing(loaded):
    before = (Batch.objects.count(), AuditEvent.objects.count())
    with (
        time_machine.travel(FRIDAY_EVENING, tick=False),
        mock.patch.object(loader, "GENERATOR_DAYS", 4),
    ):
        again = loader.load(5, stdout=mock.Mock())
    assert again["batches"] == 0
    assert (Batch.objects.count(), AuditEvent.objects.count()) == before
