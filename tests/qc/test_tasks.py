"""Periodic QC jobs: each raises its alert once, however often it runs."""

from datetime import timedelta

import pytest

from qc import tasks
from qc.services import monitoring
from qc.services.results import qc_result_record
from radiopharmacy.models import Alert, BreakthroughTest
from tests.factories import BatchFactory, as_of

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("OPS-04")
def test_sterility_not_started_within_30_h_raises_once(radiopharmacist):
    batch = BatchFactory(status="released")
    assert monitoring.check_sterility_overdue(now=batch.eos_at + timedelta(hours=29)) == 0
    later = batch.eos_at + timedelta(hours=31)
    assert monitoring.check_sterility_overdue(now=later) == 1
    assert monitoring.check_sterility_overdue(now=later) == 0
    alert = Alert.objects.get(kind="sterility_overdue")
    assert alert.key == f"sterility-not-started:{batch.pk}"
    assert batch.batch_number in alert.message


def test_sterility_started_raises_nothing(radiopharmacist):
    batch = BatchFactory(status="released")
    started = batch.eos_at + timedelta(hours=20)
    with as_of(started + timedelta(minutes=1)):
        qc_result_record(
            actor=radiopharmacist,
            batch_id=batch.pk,
            test="sterility",
            value="pass",
            performed_at=started,
        )
    assert monitoring.check_sterility_overdue(now=batch.eos_at + timedelta(hours=31)) == 0


@pytest.mark.requirement("OPS-04")
def test_breakthrough_not_measured_within_7_days_raises_once(radiopharmacist):
    batch = BatchFactory()
    elution = batch.elutions.get()
    now = elution.eluted_at + timedelta(days=7, minutes=1)
    assert monitoring.check_breakthrough_overdue(now=now - timedelta(hours=1)) == 0
    assert monitoring.check_breakthrough_overdue(now=now) == 1
    assert monitoring.check_breakthrough_overdue(now=now) == 0
    assert Alert.objects.get().key == f"breakthrough-overdue:{elution.pk}"


def test_breakthrough_measured_raises_nothing(radiopharmacist):
    batch = BatchFactory()
    elution = batch.elutions.get()
    BreakthroughTest.objects.create(
        elution=elution,
        ge68_activity_kbq=0.001,
        measured_at=elution.eluted_at + timedelta(days=2),
        breakthrough_percent=0.0001,
        limit_percent=0.001,
        passed=True,
        performed_by=radiopharmacist,
    )
    assert monitoring.check_breakthrough_overdue(now=elution.eluted_at + timedelta(days=8)) == 0


@pytest.mark.requirement("OPS-04")
def test_batch_expiring_and_expired_unreleased_raise_once():
    batch = BatchFactory()
    soon = batch.expires_at - timedelta(minutes=20)
    assert monitoring.check_batch_expiry(now=soon - timedelta(minutes=15)) == 0
    assert monitoring.check_batch_expiry(now=soon) == 1
    assert monitoring.check_batch_expiry(now=soon) == 0
    after = batch.expires_at + timedelta(minutes=1)
    assert monitoring.check_batch_expiry(now=after) == 1
    assert monitoring.check_batch_expiry(now=after) == 0
    assert set(Alert.objects.values_list("kind", flat=True)) == {
        "batch_expiring",
        "batch_expired_unreleased",
    }


def test_released_batch_past_expiry_is_not_called_unreleased():
    batch = BatchFactory(status="released")
    assert monitoring.check_batch_expiry(now=batch.expires_at + timedelta(minutes=1)) == 0


def test_tasks_run_twice_raise_each_alert_once(celery_eager, time_machine):
    released = BatchFactory(status="released")
    BatchFactory(started_at=released.started_at + timedelta(hours=1))
    time_machine.move_to(released.eos_at + timedelta(days=8), tick=False)
    for _ in range(2):
        tasks.sterility_overdue_task.delay()
        tasks.breakthrough_overdue_task.delay()
        tasks.batch_expiry_task.delay()
    kinds = sorted(Alert.objects.values_list("kind", flat=True))
    assert kinds == [
        "batch_expired_unreleased",
        "breakthrough_overdue",
        "breakthrough_overdue",
        "sterility_overdue",
    ]


@pytest.mark.requirement("OPS-04")
def test_beat_schedule_names_the_qc_jobs(settings):
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"qc.sterility_overdue", "qc.breakthrough_overdue", "qc.batch_expiry"} <= names
