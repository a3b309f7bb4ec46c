"""`manage.py quality_review --from 2026-11-01 --to 2026-11-30 [--output review.pdf]`.

Requests the product quality review of a period (site dates, both included); its PDF is
rendered by the Celery task `qc.quality_review_render` (at once in the embedded default).
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from qc.models import QualityReview
from qc.services.quality_review import quality_review_request
from radiopharmacy.core.errors import ApplicationError


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Request the product quality review PDF of a period (SPEC §2.9)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="period_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="period_to", required=True, help="YYYY-MM-DD")
        parser.add_argument("--output", help="write the PDF here once it is rendered")

    def handle(self, *args, period_from, period_to, output=None, **options):
        try:
            with transaction.atomic():
                review = quality_review_request(
                    actor=None, period_from=_date(period_from), period_to=_date(period_to)
                )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None
        review = QualityReview.objects.get(pk=review.pk)  # the task ran after the commit
        if review.status != QualityReview.Status.DONE:
            self.stdout.write(f"Quality review {review.pk} queued; a worker renders it.")
            return
        if output:
            with open(output, "wb") as handle:
                handle.write(bytes(review.pdf))
        self.stdout.write(
            f"Quality review {review.pk} rendered ({len(review.pdf)} bytes, SHA-256 "
            f"{review.sha256})" + (f", written to {output}." if output else ".")
        )
