"""Reads for bookings and doses, and a batch's activity balance (all decay-corrected)."""

from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.db.models import Prefetch, QuerySet, Sum

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.sitetime import site_day_bounds
from radiopharmacy.models import Batch
from scheduling.choices import DoseStatus
from scheduling.models import Booking, Dose


def active_doses_prefetch() -> Prefetch:
    return Prefetch(
        "doses",
        queryset=Dose.objects.exclude(status=DoseStatus.CANCELLED).select_related("batch"),
        to_attr="active_doses",
    )


def booking_list(*, day: date | None = None, status: str | None = None) -> QuerySet[Booking]:
    """Bookings with product, creator and active dose loaded (constant number of queries)."""
    qs = Booking.objects.select_related("product", "created_by").prefetch_related(
        active_doses_prefetch()
    )
    if day is not None:
        start, end = site_day_bounds(day)
        qs = qs.filter(injection_at__gte=start, injection_at__lt=end)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("injection_at", "id")


def dose_list(
    *, day: date | None = None, status: str | None = None, batch_id: int | None = None
) -> QuerySet[Dose]:
    """Doses with booking, product and batch loaded (constant number of queries)."""
    qs = Dose.objects.select_related("booking", "booking__product", "batch", "batch__product")
    if day is not None:
        start, end = site_day_bounds(day)
        qs = qs.filter(draw_at__gte=start, draw_at__lt=end)
    if status:
        qs = qs.filter(status=status)
    if batch_id is not None:
        qs = qs.filter(batch_id=batch_id)
    return qs.order_by("draw_at", "id")


def dispensable_batches(*, at: datetime) -> QuerySet[Batch]:
    """Released batches not yet expired at `at`, newest first."""
    return (
        Batch.objects.filter(status=BatchStatus.RELEASED, expires_at__gt=at)
        .select_related("product")
        .order_by("-eos_at")
    )


# --- batch allocation and balance -----------------------------------------------------------


def prefetched_doses(batch: Batch) -> list[Dose] | None:
    """The batch's doses when the caller prefetched them (`doses`, the batch record page: its
    activity, balance and allocation all read them, once), else None: each reads its own."""
    return getattr(batch, "_prefetched_objects_cache", {}).get("doses")


def _holding_doses(batch: Batch) -> QuerySet[Dose]:
    """Doses that hold volume of the batch: assigned, drawn, administered, or cancelled after
    drawing (an undrawn cancelled dose gave its volume back: allocated_volume_ul = 0)."""
    return Dose.objects.filter(batch_id=batch.pk, allocated_volume_ul__gt=0)


def batch_allocated_volume_ml(batch: Batch) -> float:
    """Volume of the batch promised to or drawn for doses (mL). Equals the BatchAllocation
    counter that dose_assign guards (volume does not decay)."""
    doses = prefetched_doses(batch)
    if doses is not None:
        return sum(d.allocated_volume_ul for d in doses if d.allocated_volume_ul > 0) / 1000
    total_ul = _holding_doses(batch).aggregate(total=Sum("allocated_volume_ul"))["total"]
    return (total_ul or 0) / 1000


def batch_concentration_at(batch: Batch, at: datetime) -> float:
    return physics.decay_activity(
        batch.concentration_at_eos_mbq_per_ml, from_time=batch.eos_at, to_time=at
    )


def batch_allocated_mbq(batch: Batch, at: datetime) -> float:
    """Activity at `at` promised to or drawn for doses: each dose's activity to draw,
    decay-corrected from its draw time to `at` (= its volume × the concentration at `at`)."""
    physics.require_aware(at, "at")
    doses = prefetched_doses(batch)
    holding = (
        [(d.activity_to_draw_mbq, d.draw_at) for d in doses if d.allocated_volume_ul > 0]
        if doses is not None
        else _holding_doses(batch).values_list("activity_to_draw_mbq", "draw_at")
    )
    return sum(
        physics.decay_activity(activity, from_time=draw_at, to_time=at)
        for activity, draw_at in holding
    )


@dataclass(frozen=True)
class BatchBalance:
    at: datetime
    produced_mbq: float  # the whole batch, decayed to `at`
    concentration_mbq_per_ml: float
    allocated_mbq: float  # assigned doses not yet drawn
    drawn_mbq: float  # syringes measured (dispensed or administered), decayed to `at`
    administered_mbq: float  # given to patients, decayed to `at`
    left_mbq: float  # unassigned activity still in the vial
    allocated_volume_ml: float  # everything promised or drawn
    left_volume_ml: float

    def as_dict(self) -> dict:
        return asdict(self)


def batch_balance(batch: Batch, at: datetime) -> BatchBalance:
    """Where the batch's activity went, every figure decay-corrected to `at`."""
    physics.require_aware(at, "at")
    concentration = batch_concentration_at(batch, at)
    produced = physics.decay_activity(batch.activity_at_eos_mbq, from_time=batch.eos_at, to_time=at)
    drawn = administered = 0.0
    undrawn_ul = 0
    doses = prefetched_doses(batch)
    if doses is None:
        doses = Dose.objects.filter(batch_id=batch.pk)
    for dose in (d for d in doses if d.status != DoseStatus.CANCELLED):
        if dose.status == DoseStatus.ASSIGNED:
            undrawn_ul += dose.allocated_volume_ul
        if dose.measured_activity_mbq is not None:
            drawn += physics.decay_activity(
                dose.measured_activity_mbq, from_time=dose.measured_at, to_time=at
            )
        if dose.administered_activity_mbq is not None:
            administered += physics.decay_activity(
                dose.administered_activity_mbq, from_time=dose.injected_at, to_time=at
            )
    allocated_ml = batch_allocated_volume_ml(batch)
    left_ml = max(0.0, batch.volume_ml - allocated_ml)
    return BatchBalance(
        at=at,
        produced_mbq=produced,
        concentration_mbq_per_ml=concentration,
        allocated_mbq=undrawn_ul / 1000 * concentration,
        drawn_mbq=drawn,
        administered_mbq=administered,
        left_mbq=left_ml * concentration,
        allocated_volume_ml=allocated_ml,
        left_volume_ml=left_ml,
    )


def batch_activity(batch: Batch, at: datetime) -> dict:
    """The batch at `at` as its record page and `batches/{id}/activity/` show it: activity and
    concentration, the activity doses hold (promised or drawn, each decay-corrected from its
    draw) and what is left for new doses (from `batch_balance`, the one account of the vial)."""
    balance = batch_balance(batch, at)
    return {
        "at": at,
        "activity_mbq": balance.produced_mbq,
        "concentration_mbq_per_ml": balance.concentration_mbq_per_ml,
        "allocated_mbq": batch_allocated_mbq(batch, at),
        "available_mbq": balance.left_mbq,
        "available_volume_ml": balance.left_volume_ml,
    }
