"""The outbox against Redis and a real `celery worker` process (PostgreSQL, REQUIRE_SERVICES)."""

import pytest
from django.db import transaction

from radiopharmacy.core import outbox
from radiopharmacy.models import OutboxJob
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.mark.requirement("OPS-02")
def test_job_published_on_commit_is_run_by_the_worker(celery_worker_process):
    with transaction.atomic():
        job = outbox.enqueue(task_name="radiopharmacy.audit_verify", key="verify:worker")
    wait_for(lambda: OutboxJob.objects.filter(pk=job.pk, status=OutboxJob.Status.DONE).exists())


def test_job_left_pending_by_a_broker_outage_is_run_after_a_sweep(celery_worker_process):
    from datetime import timedelta

    from django.utils import timezone

    job = OutboxJob.objects.create(task_name="radiopharmacy.audit_verify", key="verify:swept")
    assert outbox.sweep(now=timezone.now() + timedelta(minutes=1)) == 1
    wait_for(lambda: OutboxJob.objects.filter(pk=job.pk, status=OutboxJob.Status.DONE).exists())


def test_task_failing_in_the_worker_is_counted_on_its_job(celery_worker_process):
    # No such signature: the render raises in the worker, and the job records it.
    job = OutboxJob.objects.create(
        task_name="qc.render_certificate", key="certificate:missing", kwargs={"signature_id": 0}
    )
    assert outbox.publish(job.pk) is True
    failed = wait_for(lambda: OutboxJob.objects.filter(pk=job.pk, attempts=1).first())
    assert failed.status == OutboxJob.Status.PENDING  # the sweeper sends it again
    assert "DoesNotExist" in failed.last_error
