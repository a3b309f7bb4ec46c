"""Thin Celery tasks of the QC area: look rows up, call one service, safe to run twice.

The deadline and expiry checks run from Celery beat (CELERY_BEAT_SCHEDULE); the certificate is
rendered through the outbox after a release.
"""

from celery import shared_task

from qc.services import monitoring, quality_review, trends
from qc.services.capas import capa_overdue_alerts
from qc.services.certificates import certificate_render
from qc.services.release import CERTIFICATE_TASK
from radiopharmacy.core.outbox import outbox_task


@shared_task(name="qc.sterility_overdue")
def sterility_overdue_task() -> int:
    return monitoring.check_sterility_overdue()


@shared_task(name="qc.breakthrough_overdue")
def breakthrough_overdue_task() -> int:
    return monitoring.check_breakthrough_overdue()


@shared_task(name="qc.batch_expiry")
def batch_expiry_task() -> int:
    return monitoring.check_batch_expiry()


@shared_task(name="qc.capa_overdue")
def capa_overdue_task() -> int:
    return capa_overdue_alerts()


@shared_task(name="qc.trends_check")
def trends_check_task() -> int:
    """Judge the recent points of every control chart (yields corrected after QC, elutions,
    breakthrough results); opens each `oot` event once."""
    return trends.oot_check_recent()


@outbox_task(name=CERTIFICATE_TASK)
def render_certificate_task(signature_id: int) -> int:
    """Render the certificate of release signature `signature_id`, sign it (PAdES, the site's
    key) and store it as a file; returns the certificate id.

    A second run (redelivery, sweeper) finds the stored certificate and does nothing more.
    """
    return certificate_render(signature_id=signature_id).pk


@outbox_task(name=quality_review.RENDER_TASK)
def render_quality_review_task(review_id: int) -> int:
    """Render the PDF of quality review `review_id`; a second run finds it rendered."""
    return quality_review.quality_review_render(review_id=review_id).pk
