"""The periodic product quality review (SPEC §2.9): a period's PDF, rendered by a Celery task."""

from django.conf import settings
from django.db import models

from radiopharmacy.core.status import register_transitions


class QualityReview(models.Model):
    """A product quality review of a period (site dates, both included), requested by a person
    and rendered once by `qc.quality_review_render` through the outbox."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being rendered"
        DONE = "done", "Ready"

    period_from = models.DateField()
    period_to = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # None: requested from the command line (`manage.py quality_review`)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    # Bytes in the database, like the certificates: written in the row's transaction.
    pdf = models.BinaryField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Quality review {self.period_from:%Y-%m-%d} to {self.period_to:%Y-%m-%d}"

    @property
    def filename(self) -> str:
        return f"quality-review-{self.period_from:%Y%m%d}-{self.period_to:%Y%m%d}.pdf"


register_transitions(
    QualityReview.Status,
    {QualityReview.Status.PENDING: {QualityReview.Status.DONE}, QualityReview.Status.DONE: set()},
)
