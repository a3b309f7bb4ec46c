"""Thin Celery tasks of the production area: look rows up, call one service, safe to run twice."""

from celery import shared_task

from radiopharmacy.core import outbox
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.audit import checkpoint_write, verify_chain
from radiopharmacy.core.audit_review import audit_review_overdue_alerts
from radiopharmacy.core.outbox import outbox_task


@shared_task(name="radiopharmacy.outbox_sweep")
def outbox_sweep_task() -> int:
    return outbox.sweep()


@outbox_task(name="radiopharmacy.audit_verify")
def audit_verify_task(full: bool = False) -> bool:
    """Check the audit chain; a broken chain raises a critical alert (once per broken entry).

    Hourly it checks the entries since the latest signed checkpoint (and that checkpoint);
    `full` (daily) the whole chain."""
    report = verify_chain(since_checkpoint=not full)
    if not report.ok:
        where = report.first_broken_id if report.first_broken_id is not None else "checkpoints"
        alert_raise(
            key=f"audit-chain-broken:{where}",
            kind="audit_chain_broken",
            level="critical",
            message=f"The audit trail is broken at entry {report.first_broken_id}: "
            f"{report.problem}."
            if report.first_broken_id is not None
            else f"The audit trail's checkpoints are broken: {report.problem}.",
            object_type="radiopharmacy.auditevent",
            object_id=str(report.first_broken_id or ""),
        )
    return report.ok


@outbox_task(name="radiopharmacy.audit_checkpoint")
def audit_checkpoint_task() -> bool:
    """Sign the audit chain's head into the checkpoint files (beat), if it moved since the last
    checkpoint. Returns whether one was written; one that cannot be written raises a critical
    alert (once) besides the task's failure."""
    try:
        return checkpoint_write(only_if_moved=True) is not None
    except OSError as exc:
        alert_raise(
            key="audit-checkpoint-unwritable",
            kind="audit_checkpoint_failed",
            level="critical",
            message=f"The audit trail's checkpoints cannot be written: {exc}.",
        )
        raise


@outbox_task(name="radiopharmacy.generator_warnings")
def generator_warnings_task() -> int:
    """Raise one alert per generator and warning (SPEC §2.2); running twice raises once.

    Returns how many new alerts were raised.
    """
    from radiopharmacy.services.generators import generator_warnings_raise

    return generator_warnings_raise()


@outbox_task(name="radiopharmacy.audit_review_overdue")
def audit_review_overdue_task() -> int:
    """Raise one alert when the audit trail has gone unreviewed beyond its interval (beat)."""
    return audit_review_overdue_alerts()
