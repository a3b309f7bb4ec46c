"""Transactional outbox: queue Celery work so that a broker outage delays it but never loses it.

`enqueue` writes an OutboxJob row in the caller's transaction and publishes it after commit;
a failed publish leaves the row pending and `sweep` (Celery beat, every minute) publishes it
again. Tasks are declared with `@outbox_task`, which marks the job done when the task returns
and counts a failure when it raises; they must be safe to run twice. A job that has failed
OUTBOX_MAX_ATTEMPTS times (broker refused, task raised, or never finished) becomes `failed`:
it is not published again, a critical alert names it, and an administrator retries it with
`job_retry`.
"""

import functools
import inspect
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from radiopharmacy.core import audit
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.core.models import OutboxJob

logger = logging.getLogger("gallium")

# A published job that has not finished after this long is published again (lost message,
# worker killed before acks_late could redeliver); tasks are idempotent, so this is safe.
REPUBLISH_AFTER = timedelta(minutes=10)
# Give the on_commit publish a moment before the sweeper competes with it.
SWEEP_GRACE = timedelta(seconds=30)
_ERROR_CHARS = 2000

Status = OutboxJob.Status
# A failure is counted only while the job is still waiting to run or running: a duplicate run
# that fails after another one finished (redelivery) changes nothing.
_IN_FLIGHT = (Status.PENDING, Status.PUBLISHED)


def enqueue(*, task_name: str, key: str, kwargs: dict | None = None) -> OutboxJob:
    """Record a job to run after the current transaction commits (one job per key)."""
    job, created = OutboxJob.objects.get_or_create(
        key=key, defaults={"task_name": task_name, "kwargs": kwargs or {}}
    )
    if created:
        _publish_on_commit(job.pk)
    return job


def _publish_on_commit(job_id: int) -> None:
    # A lambda, not functools.partial: on_commit(partial, robust=True) crashes on
    # Django 5.2 (ticket 36487). robust=True: a failing publish must not fail the request.
    transaction.on_commit(lambda: publish(job_id), robust=True)


def publish(job_id: int) -> bool:
    """Send one pending job to the broker. Never raises: a failure leaves it pending (or failed,
    at the cap). Returns whether the job went (in the embedded default: ran and succeeded)."""
    from radiopharmacy.celery import app

    # Claimed before sending, conditionally on the status: the on_commit publish and a sweep
    # (or two sweeps) send a pending job once, and a fast worker's outcome (done, or a counted
    # failure back to pending) can never be overwritten by a late "published".
    claimed = OutboxJob.objects.filter(pk=job_id, status=Status.PENDING).update(
        status=Status.PUBLISHED, published_at=timezone.now()
    )
    if not claimed:
        return False
    job = OutboxJob.objects.get(pk=job_id)
    kwargs = {**job.kwargs, "outbox_job_id": job.pk}
    try:
        if app.conf.task_always_eager:
            # The embedded default has no broker: run the task here, now. throw=False: the
            # task (outbox_task) has recorded its own failure; only errors around it land below.
            result = app.tasks[job.task_name].apply(kwargs=kwargs, throw=False)
        else:
            # retry=False: fail fast when the broker is down; the sweeper tries again.
            app.send_task(job.task_name, kwargs=kwargs, retry=False)
            result = None
    except Exception as exc:  # noqa: BLE001 - broker errors come in many types
        logger.warning("outbox: could not publish job %s (%s): %s", job.pk, job.key, exc)
        _attempt_failed(job.pk, error=str(exc), status=Status.PUBLISHED)
        return False
    # Celery has logged an eager task's failure with its traceback already.
    return result is None or result.successful()


def mark_done(job_id: int | None) -> None:
    """Mark a job done (outbox_task does it when the task returns)."""
    if job_id:
        OutboxJob.objects.filter(pk=job_id).update(
            status=Status.DONE, done_at=timezone.now(), last_error=""
        )


def _attempt_failed(job_id: int, *, error: str, **still) -> bool:
    """Count one failed attempt of an in-flight job; at OUTBOX_MAX_ATTEMPTS it becomes failed.

    `still` narrows the job's expected state (e.g. status=PUBLISHED); a job that has moved on
    meanwhile (done, failed, retried) is left alone. Returns whether the attempt was counted.
    """
    error = error[:_ERROR_CHARS]
    with transaction.atomic():
        before = OutboxJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        counted = (
            OutboxJob.objects.filter(pk=job_id, status__in=_IN_FLIGHT)
            .filter(**still)
            .update(status=Status.PENDING, attempts=F("attempts") + 1, last_error=error)
        )
        if not counted:
            return False
        # The UPDATE above holds the row until commit, so no publish or second failure comes
        # between it and this one; the status condition makes "became failed" happen once.
        became_failed = OutboxJob.objects.filter(
            pk=job_id, status=Status.PENDING, attempts__gte=settings.OUTBOX_MAX_ATTEMPTS
        ).update(status=Status.FAILED)
        if became_failed:
            _report_failed(OutboxJob.objects.get(pk=job_id), previous_status=before)
    return True


def _report_failed(job: OutboxJob, *, previous_status: str | None) -> None:
    logger.error(
        "outbox: job %s (%s) failed %s times, not retried: %s",
        job.pk,
        job.key,
        job.attempts,
        job.last_error,
    )
    audit.record(
        actor=None,
        action=AuditAction.OUTBOX_JOB_FAILED,
        obj=job,
        changes={"status": {"old": previous_status, "new": job.status}},
        reason=job.last_error,
    )
    alert_raise(
        key=f"outbox-failed:{job.pk}",
        kind="outbox_job_failed",
        level="critical",
        message=f"Background job {job.task_name} ({job.key}) failed {job.attempts} times and "
        f"is no longer retried; an administrator can retry it in the admin. "
        f"Last error: {job.last_error}",
        object_type="radiopharmacy.outboxjob",
        object_id=str(job.pk),
    )


def sweep(*, now=None) -> int:
    """Publish pending jobs (and published ones that never finished). Returns how many went."""
    now = now or timezone.now()
    cutoff = now - REPUBLISH_AFTER
    # A published job still not done this long after is a lost run (worker died, message
    # dropped): it counts as a failed attempt, then goes back to pending to be sent again.
    stale = OutboxJob.objects.filter(status=Status.PUBLISHED, published_at__lte=cutoff)
    for job_id in stale.order_by("id").values_list("id", flat=True):
        _attempt_failed(
            job_id,
            error=f"not finished within {REPUBLISH_AFTER} of being published "
            "(worker lost or message dropped)",
            status=Status.PUBLISHED,
            published_at__lte=cutoff,
        )
    due = OutboxJob.objects.filter(status=Status.PENDING, created_at__lte=now - SWEEP_GRACE)
    sent = 0
    for job_id in due.order_by("id").values_list("id", flat=True):
        if publish(job_id):
            sent += 1
    return sent


@transaction.atomic
def job_retry(*, job_id: int, actor: User) -> OutboxJob:
    """Put a failed job back in the queue with its attempts at 0 (the last error is kept).

    Refused (StateConflict) for a job that is not failed.
    """
    job = OutboxJob.objects.get(pk=job_id)
    # Conditional on the status: two administrators retrying at once publish it once.
    reset = OutboxJob.objects.filter(pk=job_id, status=Status.FAILED).update(
        status=Status.PENDING, attempts=0
    )
    if not reset:
        job.refresh_from_db()
        raise StateConflict(
            f"Job {job.pk} is {job.get_status_display().lower()}, not failed.",
            blocking=[f"status is {job.get_status_display()}"],
        )
    attempts = job.attempts
    job.refresh_from_db()
    audit.record(
        actor=actor,
        action=AuditAction.OUTBOX_JOB_RETRIED,
        obj=job,
        changes={
            "status": {"old": Status.FAILED.value, "new": job.status},
            "attempts": {"old": attempts, "new": job.attempts},
        },
    )
    _publish_on_commit(job.pk)
    return job


def outbox_task(*, name: str, **celery_options):
    """Declare a Celery task that the outbox runs: `@outbox_task(name="qc.render_certificate")`.

    The task accepts an optional `outbox_job_id` keyword besides the function's own arguments.
    When the function returns, the job is marked done; when it raises, the failure is counted
    on the job (attempts, last error; failed at the cap) and the exception re-raised, so Celery
    and the embedded default see it. Called without `outbox_job_id` (beat, tests) it just runs.
    """

    def decorate(func):
        @functools.wraps(func)
        def run(*args, outbox_job_id: int | None = None, **kwargs):
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                if outbox_job_id:
                    _count_task_failure(outbox_job_id, exc)
                raise
            mark_done(outbox_job_id)
            return result

        # Celery checks call arguments against this signature: the function's own plus the id.
        run.__signature__ = _with_outbox_job_id(inspect.signature(func))
        return shared_task(name=name, **celery_options)(run)

    return decorate


def _count_task_failure(job_id: int, exc: Exception) -> None:
    try:
        _attempt_failed(job_id, error=f"{type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 - the task's own exception is the one to report
        logger.exception("outbox: could not record the failure of job %s", job_id)


def _with_outbox_job_id(signature: inspect.Signature) -> inspect.Signature:
    params = list(signature.parameters.values())
    extra = inspect.Parameter(
        "outbox_job_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int | None
    )
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    return signature.replace(parameters=[*params[:at], extra, *params[at:]])
