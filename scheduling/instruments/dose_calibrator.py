"""A dose calibrator's CSV export: one reading per row (time, nuclide, activity, calibrator id,
optionally the unit and the sample), matched to the syringe or the batch it measured.

Matching (what the review page proposes; nothing is saved until it is confirmed):
- a `sample` of `D<id>` (or a bare number) names a dose, a batch number names a batch;
- without a sample, a Ga-68 reading is proposed for the dose not yet measured whose draw time is
  within MATCH_WINDOW of the reading and whose activity to draw, decayed to the reading time, is
  closest to it and within MATCH_TOLERANCE_PERCENT; each dose is proposed once, the closest
  pairs first.
Readings of another nuclide (a Cs-137 or Co-57 constancy check) are listed and never proposed.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.instrument_csv import InstrumentFileError, read_table
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.models import Batch
from scheduling.choices import DoseStatus
from scheduling.models import Dose

REQUIRED = {
    "time": ("time", "measured_at", "date_time", "datetime", "timestamp"),
    "nuclide": ("nuclide", "isotope", "radionuclide"),
    "activity": ("activity", "activity_mbq", "reading"),
    "calibrator": ("calibrator", "calibrator_id", "instrument", "serial"),
}
OPTIONAL = {
    "unit": ("unit", "units"),
    "sample": ("sample", "sample_id", "label", "id"),
}
UNITS_MBQ = {"mbq": 1.0, "gbq": 1000.0, "kbq": 0.001, "mci": 37.0, "uci": 0.037, "µci": 0.037}
GA68_NAMES = {"ga-68", "ga68", "68ga", "ga 68", "gallium-68"}
MATCH_WINDOW = timedelta(minutes=60)
MATCH_TOLERANCE_PERCENT = 20.0
DOSE_SAMPLE = re.compile(r"^(?:d|dose)[\s#-]*(\d{1,18})$|^(\d{1,18})$", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    line: int
    measured_at: datetime
    nuclide: str
    activity_mbq: float
    calibrator: str
    sample: str

    @property
    def is_ga68(self) -> bool:
        return self.nuclide.strip().lower() in GA68_NAMES


@dataclass
class Proposal:
    """What one reading would record: a syringe measurement (dose), a batch measurement
    (batch), or nothing (`note` says why)."""

    reading: Reading
    dose: Dose | None = None
    batch: Batch | None = None
    expected_mbq: float | None = None  # the dose's activity to draw decayed to the reading
    note: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        """`dose:<id>`, `batch:<id>` or "" (how a confirmation names what it accepts)."""
        if self.dose is not None:
            return f"dose:{self.dose.pk}"
        if self.batch is not None:
            return f"batch:{self.batch.pk}"
        return ""

    @property
    def deviation_percent(self) -> float | None:
        if not self.expected_mbq:
            return None
        return 100.0 * (self.reading.activity_mbq - self.expected_mbq) / self.expected_mbq


def read_readings(content: bytes) -> list[Reading]:
    """The readings of a file; InstrumentFileError (400, line and column) when malformed."""
    table = read_table(content, required=REQUIRED, optional=OPTIONAL)
    readings = []
    for row in table.rows:
        unit = (row.values.get("unit") or "MBq").strip()
        factor = UNITS_MBQ.get(unit.lower())
        if factor is None:
            raise row.error("unit", f"{unit!r} is not an activity unit (MBq, GBq, kBq, mCi).")
        activity = row.number("activity", decimal_comma=table.decimal_comma) * factor
        if activity <= 0:
            raise row.error("activity", "An activity reading is more than 0.")
        readings.append(
            Reading(
                line=row.line,
                measured_at=row.time("time"),
                nuclide=row.values["nuclide"][:20],
                activity_mbq=activity,
                calibrator=row.values["calibrator"][:100],
                sample=(row.values.get("sample") or "")[:60],
            )
        )
    return readings


def _expected(dose: Dose, at: datetime) -> float:
    return physics.decay_activity(dose.activity_to_draw_mbq, from_time=dose.draw_at, to_time=at)


def _by_sample(reading: Reading, proposal: Proposal) -> None:
    match = DOSE_SAMPLE.match(reading.sample)
    if match:
        pk = int(match.group(1) or match.group(2))
        dose = Dose.objects.select_related("booking", "batch").filter(pk=pk).first()
        if dose is None:
            proposal.note = f"No dose {pk}."
        elif dose.status != DoseStatus.ASSIGNED:
            proposal.note = f"Dose {pk} is {dose.get_status_display().lower()} already."
        else:
            proposal.dose = dose
            proposal.expected_mbq = _expected(dose, reading.measured_at)
        return
    batch = Batch.objects.filter(batch_number__iexact=reading.sample).first()
    if batch is None:
        proposal.note = f"No dose or batch {reading.sample!r}."
    elif batch.status != BatchStatus.QC_PENDING:
        proposal.note = (
            f"Batch {batch.batch_number} is {BatchStatus(batch.status).label.lower()}: "
            "its record is frozen."
        )
    else:
        proposal.batch = batch


def propose(readings: list[Reading]) -> list[Proposal]:
    """One proposal per reading, in the file's order (see the module's docstring)."""
    proposals = [Proposal(reading=r) for r in readings]
    unmatched = []
    for proposal in proposals:
        reading = proposal.reading
        if not reading.is_ga68:
            proposal.note = f"{reading.nuclide}: not Ga-68, not recorded."
        elif reading.sample:
            _by_sample(reading, proposal)
        else:
            unmatched.append(proposal)
    if not unmatched:
        return proposals
    start = min(p.reading.measured_at for p in unmatched) - MATCH_WINDOW
    end = max(p.reading.measured_at for p in unmatched) + MATCH_WINDOW
    candidates = list(
        Dose.objects.filter(status=DoseStatus.ASSIGNED, draw_at__gte=start, draw_at__lte=end)
        .exclude(pk__in=[p.dose.pk for p in proposals if p.dose is not None])
        .select_related("booking", "batch")
    )
    pairs = []
    for proposal in unmatched:
        at = proposal.reading.measured_at
        for dose in candidates:
            if abs(physics.elapsed_minutes(dose.draw_at, at)) > MATCH_WINDOW.total_seconds() / 60:
                continue
            if physics.elapsed_minutes(dose.batch.eos_at, at) < 0:
                continue  # measured before the batch was made
            expected = _expected(dose, at)
            deviation = abs(proposal.reading.activity_mbq - expected) / expected * 100.0
            if deviation <= MATCH_TOLERANCE_PERCENT:
                pairs.append((deviation, proposal.reading.line, proposal, dose, expected))
    taken_doses, taken_lines = set(), set()
    for _, line, proposal, dose, expected in sorted(pairs, key=lambda p: (p[0], p[1])):
        if dose.pk in taken_doses or line in taken_lines:
            continue
        taken_doses.add(dose.pk)
        taken_lines.add(line)
        proposal.dose, proposal.expected_mbq = dose, expected
    for proposal in unmatched:
        if proposal.dose is None:
            proposal.note = (
                f"No dose to measure matches {proposal.reading.activity_mbq:.1f} MBq at "
                f"{site_time(proposal.reading.measured_at)} (draw time within "
                f"{MATCH_WINDOW.total_seconds() / 60:g} min, activity within "
                f"{MATCH_TOLERANCE_PERCENT:g} %)."
            )
    return proposals


def check_confirmation(proposals: list[Proposal], accept: dict[int, str]) -> list[Proposal]:
    """The proposals a confirmation accepts ({line: "dose:<id>" | "batch:<id>"}); a 400 when a
    line was not proposed or now proposes something else (the doses changed meanwhile)."""
    by_line = {p.reading.line: p for p in proposals}
    chosen, problems = [], []
    for line, target in sorted(accept.items()):
        proposal = by_line.get(line)
        if proposal is None or not proposal.target:
            problems.append(f"Line {line}: nothing to record from it.")
        elif proposal.target != target:
            problems.append(
                f"Line {line}: now proposed for {proposal.target or 'nothing'}, not {target}; "
                "review the file again."
            )
        else:
            chosen.append(proposal)
    if problems:
        raise InstrumentFileError(" ".join(problems))
    if not chosen:
        raise InstrumentFileError("Accept at least one proposed measurement.")
    return chosen
