"""Thin Celery task of the release area: render a release certificate once (safe to run twice)."""

from celery import shared_task

from qc.services.release import CERTIFICATE_TASK, certificate_render
from radiopharmacy.core import outbox

__all__ = ["render_certificate_task"]


@shared_task(name=CERTIFICATE_TASK)
def render_certificate_task(signature_id: int, outbox_job_id: int | None = None) -> int:
    """Render the certificate of release signature `signature_id`; returns the certificate id.

    A second run (redelivery, sweeper) finds the stored certificate and does nothing more.
    """
    certificate = certificate_render(signature_id=signature_id)
    outbox.mark_done(outbox_job_id)
    return certificate.pk
