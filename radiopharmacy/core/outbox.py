"""Transactional outbox: queue Celery work so that a broker outage delays it but never loses it.

`enqueue` writes an OutboxJob row in the caller's transaction and publishes it after commit;
a failed publish leaves the row pending and `sweep` (Celery beat, every minute) publishes it
again. Tasks receive `outbox_job_id` and call `mark_done`; they must be safe to run twice.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from radiopharmacy.core.models import OutboxJob

logger = logging.getLogger("gallium")

# A published job that has not finished after this long is published again (lost message,
# worker killed before acks_late could redeliver); tasks are idempotent, so this is safe.
REPUBLISH_AFTER = timedelta(minutes=10)
# Give the on_commit publish a moment before the sweeper competes with it.
SWEEP_GRACE = timedelta(seconds=30)


def enqueue(*, task_name: str, key: str, kwargs: dict | None = None) -> OutboxJob:
    """Record a job to run after the current transaction commits (one job per key)."""
    job, created = OutboxJob.objects.get_or_create(
        key=key, defaults={"task_name": task_name, "kwargs": kwargs or {}}
    )
    if created:
        job_id = job.pk
        # A lambda, not functools.partial: on_commit(partial, robust=True) crashes on
        # Django 5.2 (ticket 36487). robust=True: a failing publish must not fail the request.
        transaction.on_commit(lambda: publish(job_id), robust=True)
    return job


def publish(job_id: int) -> bool:
    """Send one pending job to the broker. Never raises: a failure leaves it pending."""
    from radiopharmacy.celery import app

    job = OutboxJob.objects.filter(pk=job_id).first()
    if job is None or job.status == OutboxJob.Status.DONE:
        return False
    kwargs = {**job.kwargs, "outbox_job_id": job.pk}
    try:
        if app.conf.task_always_eager:
            # The embedded default has no broker: run the task here, now.
            app.tasks[job.task_name].apply(kwargs=kwargs, throw=True)
        else:
            # retry=False: fail fast when the broker is down; the sweeper tries again.
            app.send_task(job.task_name, kwargs=kwargs, retry=False)
    except Exception as exc:  # noqa: BLE001 - broker errors come in many types
        logger.warning("outbox: could not publish job %s (%s): %s", job.pk, job.key, exc)
        OutboxJob.objects.filter(pk=job.pk).update(
            attempts=F("attempts") + 1, last_error=str(exc)[:2000]
        )
        return False
    OutboxJob.objects.filter(pk=job.pk).exclude(status=OutboxJob.Status.DONE).update(
        status=OutboxJob.Status.PUBLISHED,
        published_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    return True


def mark_done(job_id: int | None) -> None:
    if job_id:
        OutboxJob.objects.filter(pk=job_id).update(
            status=OutboxJob.Status.DONE, done_at=timezone.now(), last_error=""
        )


def sweep(*, now=None) -> int:
    """Publish pending jobs (and published ones that never finished). Returns how many went."""
    now = now or timezone.now()
    due = OutboxJob.objects.filter(
        status=OutboxJob.Status.PENDING, created_at__lte=now - SWEEP_GRACE
    ) | OutboxJob.objects.filter(
        status=OutboxJob.Status.PUBLISHED, published_at__lte=now - REPUBLISH_AFTER
    )
    sent = 0
    for job_id in due.order_by("id").values_list("id", flat=True):
        if publish(job_id):
            sent += 1
    return sent
