"""The periodic product quality review (SPEC §2.9): request it, render its PDF once.

`quality_review_request` stores the request and queues `qc.quality_review_render` through the
outbox in the same transaction; the task collects the period's batches, control charts, quality
events, CAPA and generators and draws them with the pure `qc.quality_review_pdf`.

Patients served per generator come from the doses, which live in `scheduling`, a layer qc does
not import: the function named by settings.QUALITY_REVIEW_PATIENTS (the site layer's
`radiopharmacy.site.quality_review.patients_served_per_generator`) supplies them.
"""

import hashlib
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from qc.models import Capa, Deviation, QcResult, QualityReview
from qc.quality_review_pdf import render_review_pdf
from qc.services import trends
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, NotFound
from radiopharmacy.core.outbox import enqueue
from radiopharmacy.core.sitetime import site_day_bounds, site_today, site_zone
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch, Product

RENDER_TASK = "qc.quality_review_render"
MAX_PERIOD_DAYS = 3 * 366


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


@transaction.atomic
def quality_review_request(
    *, actor: User | None, period_from: date, period_to: date
) -> QualityReview:
    """Store a request for the review of a period (site dates, both included) and queue its
    rendering. The period ends today at the latest and spans at most three years."""
    if period_from > period_to:
        raise _bad("period_from", "The period starts after it ends.")
    if period_to > site_today():
        raise _bad("period_to", "A review covers days that have happened: end it today at most.")
    if (period_to - period_from).days + 1 > MAX_PERIOD_DAYS:
        raise _bad("period_from", "A review covers at most three years.")
    review = QualityReview.objects.create(
        period_from=period_from,
        period_to=period_to,
        requested_by=actor,
        requested_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATED,
        obj=review,
        changes=audit.diff({}, audit.snapshot(review, ["period_from", "period_to", "status"])),
    )
    enqueue(
        task_name=RENDER_TASK, key=f"quality-review:{review.pk}", kwargs={"review_id": review.pk}
    )
    return review


def period_bounds(review: QualityReview) -> tuple[datetime, datetime]:
    start, _ = site_day_bounds(review.period_from)
    _, end = site_day_bounds(review.period_to)
    return start, end


def _generator_label(batch: Batch) -> str:
    return ", ".join(sorted({e.generator.serial_number for e in batch.elutions.all()}))


def _charts(start: datetime, end: datetime, generators: dict[int, dict]) -> list[dict]:
    charts = []
    for code in (trends.YIELD, trends.RCP, trends.PH):
        metric, points, chart = trends.trend_chart(code, start=start, end=end)
        charts.append({**trends.chart_as_dict(metric, points, chart), "title": metric.label})
    for generator_id, entry in sorted(generators.items()):
        metric, points, chart = trends.trend_chart(
            trends.EFFICIENCY, start=start, end=end, generator_id=generator_id
        )
        title = f"{metric.label}: {entry['generator']}"
        charts.append({**trends.chart_as_dict(metric, points, chart), "title": title})
    metric, points, chart = trends.trend_chart(trends.BREAKTHROUGH, start=start, end=end)
    charts.append({**trends.chart_as_dict(metric, points, chart), "title": metric.label})
    return charts


def review_data(review: QualityReview, *, now: datetime | None = None) -> dict:
    """The review of a period as the PDF renderer takes it (plain values)."""
    start, end = period_bounds(review)
    batches = list(
        Batch.objects.filter(eos_at__gte=start, eos_at__lt=end)
        .prefetch_related("elutions__generator")
        .order_by("eos_at", "id")
    )
    rcp = dict(
        QcResult.objects.filter(
            batch__in=batches,
            test_code__in=trends.METRICS[trends.RCP].test_codes,
            superseded_by__isnull=True,
        ).values_list("batch_id", "value_number")
    )
    counts = {s: sum(1 for b in batches if b.status == s) for s in BatchStatus.values}
    summary = {
        "made": len(batches),
        "released": counts.get(BatchStatus.RELEASED, 0),
        "rejected": counts.get(BatchStatus.REJECTED, 0),
        "recalled": counts.get(BatchStatus.RECALLED, 0),
        "on_hold": counts.get(BatchStatus.ON_HOLD, 0),
        "qc_pending": counts.get(BatchStatus.QC_PENDING, 0),
    }
    generators: dict[int, dict] = {}
    for batch in batches:
        for elution in batch.elutions.all():
            entry = generators.setdefault(
                elution.generator_id,
                {"generator": str(elution.generator), "batches": set(), "patients": None},
            )
            entry["batches"].add(batch.pk)

    events = list(
        Deviation.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .select_related("batch")
        .order_by("opened_at", "id")
    )
    capas = list(Capa.objects.filter(deviation__in=events).select_related("owner").order_by("id"))

    notes = []
    provider = getattr(settings, "QUALITY_REVIEW_PATIENTS", "")
    if provider and generators:
        served = import_string(provider)(start=start, end=end)
        for generator_id, entry in generators.items():
            entry["patients"] = served.get(generator_id, 0)
    elif generators:
        notes.append("Patients served per generator: not available on this installation.")
    product = Product.objects.order_by("id").first()
    return {
        "product": product.name if product else "",
        "period_from": f"{review.period_from:%Y-%m-%d}",
        "period_to": f"{review.period_to:%Y-%m-%d}",
        "generated_at": now or timezone.now(),
        "summary": summary,
        "batches": [
            {
                "batch_number": b.batch_number,
                "eos_at": b.eos_at,
                "status": BatchStatus(b.status).label,
                "yield_percent": b.yield_percent,
                "rcp_percent": rcp.get(b.pk),
                "generator": _generator_label(b),
            }
            for b in batches
        ],
        "charts": _charts(start, end, generators),
        "events": [
            {
                "id": e.pk,
                "kind": e.get_kind_display(),
                "batch_number": e.batch.batch_number if e.batch_id else "",
                "opened_at": e.opened_at,
                "status": e.get_status_display(),
                "conclusion": e.get_conclusion_display() if e.conclusion else "",
                "description": e.first_line,
            }
            for e in events
        ],
        "capas": [
            {
                "id": c.pk,
                "event": c.deviation_id,
                "description": c.description,
                "owner": c.owner.get_full_name() or c.owner.username,
                "due_on": f"{c.due_on:%Y-%m-%d}",
                "status": c.get_status_display(),
            }
            for c in capas
        ],
        "generators": [
            {"generator": g["generator"], "batches": len(g["batches"]), "patients": g["patients"]}
            for _, g in sorted(generators.items())
        ],
        "notes": notes,
    }


def quality_review_render(*, review_id: int) -> QualityReview:
    """Render and store the PDF of a review once; a second run returns it unchanged."""
    with transaction.atomic():
        # Two deliveries of the task at once: the row lock lets one of them render.
        review = QualityReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFound("No such quality review.")
        if review.status == QualityReview.Status.DONE:
            return review
        pdf = render_review_pdf(review_data(review), zone=site_zone())
        review.pdf = pdf
        review.save(update_fields=["pdf"])  # the bytes; their hash goes into the audit entry
        transition(
            review,
            QualityReview.Status.DONE,
            actor=None,
            also={"sha256": hashlib.sha256(pdf).hexdigest(), "rendered_at": timezone.now()},
        )
    return review
