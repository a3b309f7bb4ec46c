"""Demo batches: one synthesis per demo elution of the last week, each with full QC.

Every batch passes QC except one (RCP 94 %, an OOS) that the release demo rejects; and on the
batch before it the RCP was first typed as 93 % and corrected with a reason to 97.2 % (its OOS
is investigated and invalidated by `qc.demo.quality_events`, then the batch is released).
Recorded through the services as the demo radiopharmacist, so numbers, audit trail and
deviations are real. Idempotent: a second run finds the batches and adds nothing.
"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from qc.services.results import qc_result_record
from radiopharmacy import physics
from radiopharmacy.core.sitetime import site_date
from radiopharmacy.models import Batch, Elution
from radiopharmacy.services.batches import batch_create

DEMO_GENERATOR_SERIAL = "GP-DEMO-1850"
PASSING = {
    "appearance": "pass",
    "ph": 6.5,
    "rcp_itlc": 98.6,
    "colloid_itlc": 0.8,
    "free_ga68": 0.4,
    "half_life": 67.9,
    "gamma_spectrum": "pass",
    "filter_integrity": 3720.0,
    "endotoxin": 1.2,
    "ethanol": 6.2,
    "hepes": 8.5,
    "peptide_mass": 2.6,
}
# The transcription error of the demo: what was typed, and what the scanner printout said.
RCP_TYPED, RCP_PRINTED = 93.0, 97.2
RCP_CORRECTION_REASON = (
    "Transcription error: the scanner printout reads 97.2 %, 93 was typed; corrected from the "
    "printout"
)
SYNTHESIS_START_DELAY = timedelta(minutes=6)
SYNTHESIS_DURATION = timedelta(minutes=25)
QC_DELAY = timedelta(minutes=15)  # the QC results are in 15 min after EOS


@transaction.atomic
def load_batches(*, stdout) -> None:
    elutions = list(
        Elution.objects.filter(
            generator__serial_number=DEMO_GENERATOR_SERIAL, superseded_by__isnull=True
        ).order_by("eluted_at")
    )
    if not elutions:
        stdout.write("No demo elutions: demo batches skipped.")
        return
    if Batch.objects.filter(elutions__in=elutions).exists():
        stdout.write("Demo batches already loaded.")
        return
    actor = get_user_model().objects.get(username="radiopharmacist")
    now = timezone.now()
    rng = random.Random(4)
    # a batch whose QC is done by now: nothing is performed in the future
    usable = [
        e
        for e in elutions
        if e.eluted_at + SYNTHESIS_START_DELAY + SYNTHESIS_DURATION + QC_DELAY <= now
    ]
    # The OOS batch: the last one of an earlier day, so today's batches can be released and
    # dispensed from (the release demo leaves today's latest for the QP).
    today = site_date(now)
    earlier = [i for i, e in enumerate(usable) if site_date(e.eluted_at) < today]
    oos_index = earlier[-1] if earlier else None
    typo_index = earlier[-2] if len(earlier) > 1 else None
    batches = []
    for index, elution in enumerate(usable):
        started = elution.eluted_at + SYNTHESIS_START_DELAY
        eos = started + SYNTHESIS_DURATION
        eluate_at_eos = physics.decay_activity(
            elution.activity_at_elution_mbq, from_time=elution.eluted_at, to_time=eos
        )
        measured_at = eos + timedelta(minutes=3)
        activity = physics.decay_activity(
            # a slow yield drift over the week (about -0.6 points a batch) for the Trends page
            eluate_at_eos * (rng.uniform(0.77, 0.85) - 0.006 * index),
            from_time=eos,
            to_time=measured_at,
        )
        batch = batch_create(
            actor=actor,
            elutions=[elution],
            method="automated",
            module_name="Modular-Lab eazy",
            module_serial="MLE-2291",
            precursor_lot=f"DOTATATE-{eos:%y%m}",
            precursor_mass_ug=25.0,
            reagent_lots=[
                {"name": "HEPES buffer 1.5 M", "lot": f"HB-{eos:%y%m}"},
                {"name": "SCX cartridge", "lot": "SCX-2611-07"},
                {"name": "Sterile filter 0.22 µm", "lot": "MF-88412"},
            ],
            started_at=started,
            eos_at=eos,
            activity_mbq=round(activity, 1),
            measured_at=measured_at,
            volume_ml=round(rng.uniform(9.6, 10.4), 2),
        )
        performed_at = eos + QC_DELAY
        for code, value in PASSING.items():
            if index == oos_index and code == "rcp_itlc":
                value = 94.0
            if index == typo_index and code == "rcp_itlc":
                value = RCP_TYPED
            qc_result_record(
                actor=actor,
                batch_id=batch.pk,
                test=code,
                value=value,
                performed_at=performed_at,
                instrument={"rcp_itlc": "miniGita TLC scanner", "ph": "pH strip"}.get(code, ""),
            )
        if index == typo_index:
            # the correction: a new result superseding the typed one, with the reason
            qc_result_record(
                actor=actor,
                batch_id=batch.pk,
                test="rcp_itlc",
                value=RCP_PRINTED,
                performed_at=performed_at,
                reason=RCP_CORRECTION_REASON,
            )
        batches.append(batch)
    stdout.write(
        f"Demo batches: {len(batches)} with full QC"
        + (
            f"; {batches[oos_index].batch_number} has an OOS (RCP 94 %)"
            if oos_index is not None
            else ""
        )
        + (
            f"; {batches[typo_index].batch_number} has an OOS from a typed RCP of 93 %, "
            "corrected to 97.2 %."
            if typo_index is not None
            else "."
        )
    )
