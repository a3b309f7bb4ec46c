"""Reads of batches: list querysets, activity now, what doses have allocated from a batch."""

from django.db.models import Prefetch, QuerySet

from radiopharmacy import physics
from radiopharmacy.models import Batch, Elution

# Dose statuses whose activity is no longer taken from the batch.
RELEASED_DOSE_STATUSES = {"cancelled"}


def batches_for_list() -> QuerySet[Batch]:
    """Batches with what a list row shows, in a constant number of queries."""
    return Batch.objects.select_related("product", "operator").prefetch_related(
        Prefetch("elutions", queryset=Elution.objects.order_by("eluted_at", "id"))
    )


def _doses(batch: Batch) -> list:
    """The batch's doses when the scheduling Dose model exists (it has FK related_name="doses")."""
    manager = getattr(batch, "doses", None)
    if manager is None:
        return []
    return list(manager.all())


def _counts(dose) -> bool:
    return getattr(dose, "status", "") not in RELEASED_DOSE_STATUSES


def batch_allocation(batch: Batch, at) -> float:
    """MBq of the batch at `at` taken by doses assigned to it (decay-corrected to `at`)."""
    from scheduling.selectors import batch_allocated_mbq

    # One definition, in scheduling: the doses that hold volume of the batch (a dose cancelled
    # before drawing gives its volume back; one cancelled after drawing does not).
    return batch_allocated_mbq(batch, at)


def batch_allocated_volume(batch: Batch) -> float:
    """mL of the batch taken by doses assigned to it (volume does not decay)."""
    from scheduling.selectors import batch_allocated_volume_ml

    return batch_allocated_volume_ml(batch)


def batch_activity(batch: Batch, at) -> dict:
    """Activity and concentration of the batch at `at`, and what is still available."""
    activity = physics.decay_activity(batch.activity_at_eos_mbq, from_time=batch.eos_at, to_time=at)
    allocated = batch_allocation(batch, at)
    return {
        "at": at,
        "activity_mbq": activity,
        "concentration_mbq_per_ml": activity / batch.volume_ml,
        "allocated_mbq": allocated,
        "available_mbq": max(0.0, activity - allocated),
        "available_volume_ml": max(0.0, batch.volume_ml - batch_allocated_volume(batch)),
    }


def doses_for_followup(batch: Batch) -> list[dict]:
    """Every dose assigned to the batch, with its status, for follow-up after a recall.

    Cancelled doses are listed too: one cancelled after drawing did leave the vial.
    """
    rows = []
    for dose in _doses(batch):
        booking = getattr(dose, "booking", None)
        rows.append(
            {
                "dose": dose.pk,
                "booking": getattr(dose, "booking_id", None),
                "patient_ref": getattr(booking, "patient_ref", ""),
                "status": getattr(dose, "status", ""),
                "draw_at": physics.require_aware(dose.draw_at).isoformat()
                if getattr(dose, "draw_at", None)
                else None,
                "activity_to_draw_mbq": getattr(dose, "activity_to_draw_mbq", None),
            }
        )
    return rows
