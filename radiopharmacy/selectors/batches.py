"""Reads of batches: the list queryset and the doses to follow up after a recall."""

from django.db.models import F, Prefetch, QuerySet

from radiopharmacy import physics
from radiopharmacy.models import Batch, BatchElution, Elution

# Dose statuses whose activity is no longer taken from the batch.
RELEASED_DOSE_STATUSES = {"cancelled"}


def batches_for_list() -> QuerySet[Batch]:
    """Batches with what a list row shows, in a constant number of queries."""
    return Batch.objects.select_related("product", "operator").prefetch_related(
        # with what the eluate flags read (services.elutions.batch_eluate_flags)
        Prefetch(
            "elutions",
            queryset=Elution.objects.select_related("generator", "superseded_by").order_by(
                "eluted_at", "id"
            ),
        ),
    )


def batches_for_api() -> QuerySet[Batch]:
    """Batches with what the API's record shows: its eluates by id with the volume used (the
    elutions' own fields are read from the elutions' endpoint, so they are not fetched here)."""
    return Batch.objects.select_related("product", "operator").prefetch_related(
        Prefetch(
            "batchelution_set",
            queryset=BatchElution.objects.annotate(eluted_at=F("elution__eluted_at")).order_by(
                "id"
            ),
        )
    )


def _doses(batch: Batch) -> list:
    """The batch's doses when the scheduling Dose model exists (it has FK related_name="doses")."""
    manager = getattr(batch, "doses", None)
    if manager is None:
        return []
    return list(manager.select_related("booking"))


def _counts(dose) -> bool:
    return getattr(dose, "status", "") not in RELEASED_DOSE_STATUSES


def _iso(value) -> str | None:
    return physics.require_aware(value).isoformat() if value else None


def doses_for_followup(batch: Batch) -> list[dict]:
    """The look-back list of a batch (SPEC §2.4a): every dose assigned from it, with its
    patient reference, status, what was drawn and what was administered, when.

    Cancelled doses are listed too: one cancelled after drawing did leave the vial.
    """
    rows = []
    for dose in sorted(_doses(batch), key=lambda d: d.pk):
        booking = getattr(dose, "booking", None)
        rows.append(
            {
                "dose": dose.pk,
                "booking": getattr(dose, "booking_id", None),
                "patient_ref": getattr(booking, "patient_ref", ""),
                "planned_injection_at": _iso(getattr(booking, "injection_at", None)),
                "status": getattr(dose, "status", ""),
                "draw_at": _iso(getattr(dose, "draw_at", None)),
                "activity_to_draw_mbq": getattr(dose, "activity_to_draw_mbq", None),
                "drawn_activity_mbq": getattr(dose, "measured_activity_mbq", None),
                "drawn_at": _iso(getattr(dose, "measured_at", None)),
                "administered_activity_mbq": getattr(dose, "administered_activity_mbq", None),
                "administered_at": _iso(getattr(dose, "injected_at", None)),
            }
        )
    return rows
