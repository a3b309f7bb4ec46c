from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from radiopharmacy.core import outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.core.outbox import outbox_task
from radiopharmacy.models import Alert, AuditEvent, OutboxJob

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]


def test_job_runs_after_commit_in_the_embedded_default(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            job = outbox.enqueue(task_name="radiopharmacy.audit_verify", key="verify:1")
            assert OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.PENDING
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.DONE and job.done_at is not None


def test_one_job_per_key(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.enqueue(task_name="radiopharmacy.audit_verify", key="verify:2")
        second = outbox.enqueue(task_name="radiopharmacy.audit_verify", key="verify:2")
    assert first.pk == second.pk and len(callbacks) == 1


def test_failed_publish_keeps_the_job_pending_and_the_sweeper_sends_it(monkeypatch):
    from radiopharmacy.celery import app

    job = OutboxJob.objects.create(task_name="radiopharmacy.audit_verify", key="verify:3")
    task = app.tasks["radiopharmacy.audit_verify"]

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(task, "apply", broker_down)
        assert outbox.publish(job.pk) is False
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.PENDING and job.attempts == 1
    assert "unreachable" in job.last_error

    assert outbox.sweep(now=timezone.now()) == 0  # still within the grace period
    assert outbox.sweep(now=timezone.now() + timedelta(minutes=1)) == 1
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.DONE
    assert outbox.sweep(now=timezone.now() + timedelta(hours=1)) == 0  # done jobs stay done


# --- Failures, the cap, and the administrator's retry ----------------------------------------

FLAKY = {"failing": True}


@outbox_task(name="tests.outbox_flaky")
def flaky_task(*, value: int) -> int:
    if FLAKY["failing"]:
        raise RuntimeError("the dose calibrator is offline")
    return value * 2


@pytest.fixture
def failing(monkeypatch):
    monkeypatch.setitem(FLAKY, "failing", True)
    return FLAKY


@pytest.fixture
def succeeding(monkeypatch):
    monkeypatch.setitem(FLAKY, "failing", False)
    return FLAKY


@pytest.fixture
def publishes(monkeypatch):
    """Counts every publish, from on_commit, sweeps and retries alike."""
    calls = []
    real = outbox.publish

    def counting(job_id):
        calls.append(job_id)
        return real(job_id)

    monkeypatch.setattr(outbox, "publish", counting)
    return calls


class _Broker:
    """Stands in for Redis: records what is sent, or refuses like a broker that is down."""

    def __init__(self):
        self.refusing = False
        self.sent: list[tuple[str, dict]] = []

    def send_task(self, name, kwargs=None, **options):
        from kombu.exceptions import OperationalError

        if self.refusing:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append((name, kwargs))


@pytest.fixture
def broker(monkeypatch, celery_eager):
    """The publish path of a real deployment (not eager), against a stand-in broker."""
    fake = _Broker()
    monkeypatch.setitem(celery_eager.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_eager, "send_task", fake.send_task)
    return fake


def _enqueue_flaky(django_capture_on_commit_callbacks, key="flaky:1"):
    with django_capture_on_commit_callbacks(execute=True):
        return outbox.enqueue(task_name="tests.outbox_flaky", key=key, kwargs={"value": 21})


def _sweep_after_grace() -> int:
    return outbox.sweep(now=timezone.now() + timedelta(minutes=1))


def test_outbox_task_marks_its_job_done_and_returns_its_value(
    succeeding, django_capture_on_commit_callbacks
):
    job = _enqueue_flaky(django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.DONE and job.attempts == 0
    # The task's own return value and arguments are untouched; called without a job it runs.
    assert flaky_task.apply(kwargs={"value": 2, "outbox_job_id": job.pk}).get() == 4
    assert flaky_task(value=3) == 6


def test_outbox_task_failure_is_counted_and_re_raised(failing):
    job = OutboxJob.objects.create(task_name="tests.outbox_flaky", key="flaky:direct")
    with pytest.raises(RuntimeError, match="offline"):
        flaky_task.apply(kwargs={"value": 1, "outbox_job_id": job.pk}, throw=True)
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.PENDING and job.attempts == 1
    assert job.last_error == "RuntimeError: the dose calibrator is offline"


def test_outbox_task_refuses_arguments_the_function_does_not_take():
    with pytest.raises(TypeError):
        flaky_task.delay(value=1, colour="red")


@override_settings(OUTBOX_MAX_ATTEMPTS=3)
@pytest.mark.requirement("OPS-03")
def test_task_that_keeps_failing_becomes_failed_with_one_critical_alert(
    failing, publishes, django_capture_on_commit_callbacks
):
    job = _enqueue_flaky(django_capture_on_commit_callbacks)
    for expected_attempts in (1, 2):
        job.refresh_from_db()
        assert job.status == OutboxJob.Status.PENDING and job.attempts == expected_attempts
        assert _sweep_after_grace() == 0  # published, ran, failed again
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.FAILED and job.attempts == 3
    assert "offline" in job.last_error
    assert len(publishes) == 3

    alert = Alert.objects.get(kind="outbox_job_failed")
    assert alert.key == f"outbox-failed:{job.pk}" and alert.level == Alert.Level.CRITICAL
    assert "tests.outbox_flaky" in alert.message and "dose calibrator is offline" in alert.message
    assert (alert.object_type, alert.object_id) == ("radiopharmacy.outboxjob", str(job.pk))
    event = AuditEvent.objects.get(action=AuditAction.OUTBOX_JOB_FAILED)
    assert event.username == "system" and event.object_id == str(job.pk)
    assert event.changes["status"]["new"] == "failed"

    # Never published again, however long the sweeper goes on.
    for later in (timedelta(minutes=1), timedelta(minutes=11), timedelta(days=1)):
        assert outbox.sweep(now=timezone.now() + later) == 0
    assert len(publishes) == 3
    assert OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.FAILED
    assert Alert.objects.filter(kind="outbox_job_failed").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.OUTBOX_JOB_FAILED).count() == 1


@override_settings(OUTBOX_MAX_ATTEMPTS=3)
def test_broker_that_keeps_refusing_fails_the_job_at_the_cap(
    broker, publishes, django_capture_on_commit_callbacks
):
    broker.refusing = True
    job = _enqueue_flaky(django_capture_on_commit_callbacks)
    job.refresh_from_db()
    # Below the cap a refused publish leaves the job pending, for the sweeper.
    assert job.status == OutboxJob.Status.PENDING and job.attempts == 1
    assert "Connection refused" in job.last_error
    assert _sweep_after_grace() == 0
    assert OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.PENDING
    assert _sweep_after_grace() == 0
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.FAILED and job.attempts == 3
    assert Alert.objects.filter(key=f"outbox-failed:{job.pk}", level="critical").count() == 1

    broker.refusing = False  # the broker is back: a failed job still waits for a person
    assert _sweep_after_grace() == 0
    assert len(publishes) == 3 and broker.sent == []


@override_settings(OUTBOX_MAX_ATTEMPTS=2)
def test_a_run_lost_by_its_worker_counts_an_attempt(
    broker, publishes, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    job = _enqueue_flaky(django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.PUBLISHED and job.attempts == 0
    assert len(broker.sent) == 1

    # Nobody reports back (the worker died): after REPUBLISH_AFTER that is a failed attempt.
    time_machine.shift(outbox.REPUBLISH_AFTER - timedelta(seconds=1))
    assert outbox.sweep() == 0 and len(broker.sent) == 1
    time_machine.shift(timedelta(seconds=2))
    assert outbox.sweep() == 1 and len(broker.sent) == 2
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.PUBLISHED and job.attempts == 1
    assert "not finished" in job.last_error

    time_machine.shift(outbox.REPUBLISH_AFTER + timedelta(seconds=1))
    assert outbox.sweep() == 0 and len(broker.sent) == 2
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.FAILED and job.attempts == 2
    assert Alert.objects.filter(key=f"outbox-failed:{job.pk}").count() == 1
    assert len(publishes) == 2


@pytest.fixture
def failed_job(failing, django_capture_on_commit_callbacks, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    job = _enqueue_flaky(django_capture_on_commit_callbacks, key="flaky:failed")
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.FAILED
    return job


@pytest.fixture
def admin_client(client):
    from tests.factories import UserFactory

    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def test_retry_resets_a_failed_job_audits_it_and_publishes_it_on_commit(
    failed_job, django_capture_on_commit_callbacks, make_user
):
    actor = make_user()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = outbox.job_retry(job_id=failed_job.pk, actor=actor)
    assert job.status == OutboxJob.Status.PENDING and job.attempts == 0
    assert "offline" in job.last_error  # kept: what went wrong stays visible until it works
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action=AuditAction.OUTBOX_JOB_RETRIED)
    assert event.user == actor and event.object_id == str(job.pk)
    assert event.changes == {
        "status": {"old": "failed", "new": "pending"},
        "attempts": {"old": 1, "new": 0},
    }
    with pytest.raises(StateConflict):
        outbox.job_retry(job_id=job.pk, actor=actor)


def test_admin_lists_failed_jobs_and_retry_completes_a_now_succeeding_task(
    failed_job, admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    changelist = reverse("admin:radiopharmacy_outboxjob_changelist")
    page = admin_client.get(changelist, {"status__exact": "failed"})
    assert page.status_code == 200 and "flaky:failed" in page.content.decode()
    assert (
        "flaky:failed"
        not in admin_client.get(changelist, {"status__exact": "done"}).content.decode()
    )
    change = reverse("admin:radiopharmacy_outboxjob_change", args=[failed_job.pk])
    assert admin_client.post(change, {"status": "done"}).status_code == 403
    assert admin_client.get(reverse("admin:radiopharmacy_outboxjob_add")).status_code == 403

    monkeypatch.setitem(FLAKY, "failing", False)  # the calibrator is back
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist, {"action": "retry", "_selected_action": [failed_job.pk]}
        )
    assert response.status_code == 302
    failed_job.refresh_from_db()
    assert failed_job.status == OutboxJob.Status.DONE and failed_job.last_error == ""
    event = AuditEvent.objects.get(action=AuditAction.OUTBOX_JOB_RETRIED)
    assert event.user == admin_client.user


def test_staff_without_the_change_permission_cannot_retry(failed_job, client, make_user):
    from django.contrib.auth.models import Permission

    viewer = make_user(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxjob"))
    client.force_login(viewer)
    changelist = reverse("admin:radiopharmacy_outboxjob_changelist")
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "retry", "_selected_action": [failed_job.pk]})
    assert OutboxJob.objects.get(pk=failed_job.pk).status == OutboxJob.Status.FAILED
    assert not AuditEvent.objects.filter(action=AuditAction.OUTBOX_JOB_RETRIED).exists()
