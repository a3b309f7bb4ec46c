"""Thin Celery tasks of the production area: look rows up, call one service, safe to run twice."""

from celery import shared_task

from radiopharmacy.core import outbox
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.audit import verify_chain
from radiopharmacy.core.outbox import outbox_task


@shared_task(name="radiopharmacy.outbox_sweep")
def outbox_sweep_task() -> int:
    return outbox.sweep()


@outbox_task(name="radiopharmacy.audit_verify")
def audit_verify_task() -> bool:
    """Check the audit chain; a broken chain raises a critical alert (once per broken entry)."""
    report = verify_chain()
    if not report.ok:
        alert_raise(
            key=f"audit-chain-broken:{report.first_broken_id}",
            kind="audit_chain_broken",
            level="critical",
            message=f"The audit trail is broken at entry {report.first_broken_id}: "
            f"{report.problem}.",
            object_type="radiopharmacy.auditevent",
            object_id=str(report.first_broken_id),
        )
    return report.ok


@outbox_task(name="radiopharmacy.generator_warnings")
def generator_warnings_task() -> int:
    """Raise one alert per generator and warning (SPEC §2.2); running twice raises once.

    Returns how many new alerts were raised.
    """
    from radiopharmacy.services.generators import generator_warnings_raise

    return generator_warnings_raise()
