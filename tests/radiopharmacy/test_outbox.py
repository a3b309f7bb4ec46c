from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from radiopharmacy.core import outbox
from radiopharmacy.models import OutboxJob

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
