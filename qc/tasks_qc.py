"""Thin periodic tasks of QC deadlines and batch expiry (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from qc.services import monitoring

__all__ = ["batch_expiry_task", "breakthrough_overdue_task", "sterility_overdue_task"]


@shared_task(name="qc.sterility_overdue")
def sterility_overdue_task() -> int:
    return monitoring.check_sterility_overdue()


@shared_task(name="qc.breakthrough_overdue")
def breakthrough_overdue_task() -> int:
    return monitoring.check_breakthrough_overdue()


@shared_task(name="qc.batch_expiry")
def batch_expiry_task() -> int:
    return monitoring.check_batch_expiry()
