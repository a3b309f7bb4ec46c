"""The activity balance of a batch (SPEC §2.9) from its records: the eluates, the product, the
QC samples and the doses (scheduling). Computed by the pure `radiopharmacy.balance`."""

from django.conf import settings

from radiopharmacy.balance import Balance, DoseLine, Measured, activity_balance
from radiopharmacy.models import Batch, BatchElution
from scheduling.choices import DoseStatus
from scheduling.models import Dose
from scheduling.selectors import prefetched_doses

# A dose counts as drawn once it left the vial: dispensed, administered, or cancelled after it
# was measured (its activity is then waste outside the vial).
DRAWN = (DoseStatus.DISPENSED, DoseStatus.ADMINISTERED)


def _dose_line(dose: Dose) -> DoseLine:
    measured = (
        Measured(dose.measured_activity_mbq, dose.measured_at)
        if dose.measured_activity_mbq is not None and dose.measured_at is not None
        else None
    )
    administered = (
        Measured(dose.administered_activity_mbq, dose.injected_at)
        if dose.administered_activity_mbq is not None and dose.injected_at is not None
        else None
    )
    residue = (
        Measured(dose.residual_activity_mbq, dose.residual_measured_at)
        if dose.residual_activity_mbq is not None and dose.residual_measured_at is not None
        else None
    )
    return DoseLine(
        label=f"{dose.booking.patient_ref} ({dose.get_status_display().lower()})",
        volume_ml=dose.volume_to_draw_ml,
        measured=measured,
        administered=administered,
        residue=residue,
    )


def batch_balance(batch: Batch) -> Balance:
    """The balance of `batch`, decay-corrected to its EOS (four queries)."""
    uses = BatchElution.objects.filter(batch=batch).select_related("elution")
    eluates = []
    for use in uses:
        elution = use.elution
        share = 1.0
        if use.volume_used_ml is not None and elution.volume_ml:
            share = min(use.volume_used_ml / elution.volume_ml, 1.0)  # a split eluate
        eluates.append(Measured(elution.activity_at_elution_mbq * share, elution.eluted_at))
    doses = prefetched_doses(batch)  # the record page's, with their bookings
    if doses is None:
        doses = Dose.objects.filter(batch=batch).select_related("booking")
    lines = [
        _dose_line(d)
        for d in sorted(doses, key=lambda d: (d.draw_at, d.pk))
        if d.status in DRAWN or (d.status == DoseStatus.CANCELLED and d.measured_at is not None)
    ]
    return activity_balance(
        eos_at=batch.eos_at,
        eluates=eluates,
        product=Measured(batch.activity_mbq, batch.measured_at),
        product_volume_ml=batch.volume_ml,
        qc_sample_volume_ml=settings.QC_SAMPLE_VOLUME_ML,
        doses=lines,
        tolerance_percent=settings.BALANCE_TOLERANCE_PERCENT,
    )
