"""Reads of batches: the list queryset and the doses to follow up after a recall."""

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
