"""Activity balance of a batch (SPEC §2.9): where the activity went, all decay-corrected to EOS.

Pure: plain values and aware datetimes in, a dataclass out; no Django. Ga-68 decay through
`radiopharmacy.physics`.

    eluate in  = product at EOS + synthesis losses (module, cassette, waste: the yield)
    product    = QC samples + doses drawn + left in the vial + unaccounted
    dose drawn = administered + residue in the syringe + unaccounted in the syringe

Measured activities are taken as measured, at their own times, and decay-corrected to EOS. What
is not measured is derived from volumes at the EOS concentration: the QC samples (the site's QC
sample volume), a dose drawn but not yet measured (its volume), and what is left in the vial (the
product volume less the samples and the doses). So a dose that reads less than its volume held
leaves that activity unaccounted (adsorbed, spilled, a calibrator error), and a remainder beyond
the tolerance (setting, default 5 % of the product) is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from radiopharmacy import physics
from radiopharmacy.core.errors import InputError


@dataclass(frozen=True)
class Measured:
    """An activity measured at a time."""

    activity_mbq: float
    at: datetime


@dataclass(frozen=True)
class DoseLine:
    """A dose of the batch: what was drawn (volume; the syringe's measurement when made) and, once
    given, what was administered and the residue measured after the injection."""

    label: str
    volume_ml: float
    measured: Measured | None = None
    administered: Measured | None = None
    residue: Measured | None = None


@dataclass(frozen=True)
class DoseBalance:
    label: str
    drawn_mbq: float  # at EOS
    measured: bool
    administered_mbq: float | None
    residue_mbq: float | None
    unaccounted_mbq: float | None  # drawn − administered − residue, once given


@dataclass(frozen=True)
class Balance:
    eos_at: datetime
    eluate_in_mbq: float
    product_at_eos_mbq: float
    synthesis_losses_mbq: float
    qc_samples_mbq: float
    doses_drawn_mbq: float
    administered_mbq: float
    residues_mbq: float
    left_in_vial_mbq: float
    unaccounted_mbq: float
    unaccounted_percent: float  # of the product at EOS
    tolerance_percent: float
    flagged: bool
    doses: list[DoseBalance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _at_eos(value: Measured, eos_at: datetime) -> float:
    return physics.decay_activity(value.activity_mbq, from_time=value.at, to_time=eos_at)


def _positive(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number.")
    return float(value)


def activity_balance(
    *,
    eos_at: datetime,
    eluates: Sequence[Measured],
    product: Measured,
    product_volume_ml: float,
    qc_sample_volume_ml: float,
    doses: Sequence[DoseLine] = (),
    tolerance_percent: float = 5.0,
) -> Balance:
    """The balance of one batch. `eluates` are the eluate activities used (at elution time),
    `product` the product measurement. Preconditions: aware datetimes; positive activities and
    volumes (the QC sample volume may be 0); else InputError."""
    physics.require_aware(eos_at, "eos_at")
    volume = _positive(product_volume_ml, "product_volume_ml")
    if not (math.isfinite(qc_sample_volume_ml) and qc_sample_volume_ml >= 0):
        raise InputError("qc_sample_volume_ml must be a number ≥ 0.")
    eluate_in = sum(_at_eos(e, eos_at) for e in eluates)
    at_eos = _at_eos(product, eos_at)
    concentration = at_eos / volume  # MBq/mL at EOS
    notes: list[str] = []

    qc_volume = min(qc_sample_volume_ml, volume)
    qc_samples = qc_volume * concentration
    lines: list[DoseBalance] = []
    drawn_volume = 0.0
    for dose in doses:
        drawn_volume += max(dose.volume_ml, 0.0)
        if dose.measured is not None:
            drawn = _at_eos(dose.measured, eos_at)
        else:
            drawn = max(dose.volume_ml, 0.0) * concentration
        administered = _at_eos(dose.administered, eos_at) if dose.administered is not None else None
        residue = _at_eos(dose.residue, eos_at) if dose.residue is not None else None
        lost = None
        if administered is not None:
            lost = drawn - administered - (residue or 0.0)
        lines.append(
            DoseBalance(
                label=dose.label,
                drawn_mbq=drawn,
                measured=dose.measured is not None,
                administered_mbq=administered,
                residue_mbq=residue,
                unaccounted_mbq=lost,
            )
        )
    left_volume = volume - qc_volume - drawn_volume
    if left_volume < 0:
        notes.append(
            f"The doses and QC samples add up to {qc_volume + drawn_volume:.3g} mL, more than the "
            f"{volume:.3g} mL of the batch: nothing is counted as left in the vial."
        )
        left_volume = 0.0
    left = left_volume * concentration
    drawn_total = sum(line.drawn_mbq for line in lines)
    unaccounted = at_eos - qc_samples - drawn_total - left
    percent = 100.0 * unaccounted / at_eos if at_eos > 0 else 0.0
    return Balance(
        eos_at=eos_at,
        eluate_in_mbq=eluate_in,
        product_at_eos_mbq=at_eos,
        synthesis_losses_mbq=eluate_in - at_eos,
        qc_samples_mbq=qc_samples,
        doses_drawn_mbq=drawn_total,
        administered_mbq=sum(line.administered_mbq or 0.0 for line in lines),
        residues_mbq=sum(line.residue_mbq or 0.0 for line in lines),
        left_in_vial_mbq=left,
        unaccounted_mbq=unaccounted,
        unaccounted_percent=percent,
        tolerance_percent=tolerance_percent,
        flagged=abs(percent) > tolerance_percent,
        doses=lines,
        notes=notes,
    )
