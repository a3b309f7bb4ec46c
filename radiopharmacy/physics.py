"""Decay physics and the Ge-68/Ga-68 generator column model (SPEC §2.1-2.2).

Pure Python on purpose: the planner, the services and the tests all call it with plain values and
aware datetimes, and it must stay importable without Django.

Units are carried in names: `_mbq` (megabecquerel), `_kbq`, `_gbq`, `_mci`, `_min` (minutes),
`_percent`. Every datetime must be timezone-aware; elapsed time is real elapsed time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from radiopharmacy.core.errors import InputError

# --- Nuclear data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nuclide:
    """A radionuclide with its half-life in minutes.

    Preconditions: `half_life_min` is finite and > 0.
    """

    name: str
    half_life_min: float

    def __post_init__(self) -> None:
        if not (isinstance(self.half_life_min, int | float) and math.isfinite(self.half_life_min)):
            raise InputError(f"Half-life of {self.name} must be a finite number")
        if self.half_life_min <= 0:
            raise InputError(f"Half-life of {self.name} must be positive")

    @property
    def decay_constant_per_min(self) -> float:
        """Decay constant λ = ln 2 / T½, per minute."""
        return math.log(2) / self.half_life_min


# Source: NNDC NuDat / ENSDF, 67.71 min, as printed in the GalliaPharm and Galli Ad SmPCs
# (domain/REFERENCE.md §1). DDEP gives 67.83 min; we follow the product labels.
GA68 = Nuclide(name="Ga-68", half_life_min=67.71)
# Source: NNDC NuDat, 270.95 d, via the GalliaPharm SmPC (domain/REFERENCE.md §1).
GE68 = Nuclide(name="Ge-68", half_life_min=270.95 * 24 * 60)

NUCLIDES: dict[str, Nuclide] = {GA68.name: GA68, GE68.name: GE68}

# 1 Ci = 3.7e10 Bq by definition, so 1 mCi = 37 MBq exactly.
MBQ_PER_MCI = 37.0
MBQ_PER_GBQ = 1000.0
KBQ_PER_MBQ = 1000.0

# Ph. Eur. 2464 / Galli Ad SmPC: Ge-68 in the eluate ≤ 0.001 %, measured ≥ 48 h after elution
# (by then the Ga-68 of the eluate has decayed away and only Ge-68 and its fresh Ga-68 remain).
BREAKTHROUGH_LIMIT_PERCENT = 0.001
BREAKTHROUGH_MIN_DELAY = timedelta(hours=48)


def get_nuclide(name: str) -> Nuclide:
    """The nuclide called `name` ("Ga-68" or "Ge-68").

    Preconditions: `name` is one of NUCLIDES, else InputError.
    """
    try:
        return NUCLIDES[name]
    except (KeyError, TypeError):
        raise InputError(
            f"Unknown nuclide {name!r}; known: {', '.join(sorted(NUCLIDES))}"
        ) from None


# --- Validation helpers ---------------------------------------------------------------------------


def _finite(value: float, name: str) -> float:
    # bool is an int subclass; True MBq is always a bug.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value!r}")
    return value


def _non_negative(value: float, name: str) -> float:
    value = _finite(value, name)
    if value < 0:
        raise InputError(f"{name} must not be negative, got {value!r}")
    return value


def _remaining_fraction(nuclide: Nuclide, minutes: float) -> float:
    # 0.5 ** (t / T½) equals exp(−λt), and is exactly 0.5 after one half-life (exp(−ln2/T·T) is
    # not always, by an ulp). Decay-correcting far back in time can overflow: report it as bad
    # input, not a crash.
    try:
        return math.pow(0.5, minutes / nuclide.half_life_min)
    except OverflowError:
        raise InputError("Decay correction over this time span overflows") from None


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` unchanged if it is a timezone-aware datetime.

    Preconditions: `value` is a datetime whose tzinfo gives a UTC offset, else InputError.
    """
    if not isinstance(value, datetime):
        raise InputError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _utc(value: datetime, name: str) -> datetime:
    return require_aware(value, name).astimezone(UTC)


# --- Decay ----------------------------------------------------------------------------------------


def elapsed_minutes(start: datetime, end: datetime) -> float:
    """Real minutes from `start` to `end` (negative when `end` is before `start`).

    Preconditions: both aware, else InputError.
    """
    # Python subtracts two datetimes sharing a tzinfo as wall-clock times: across the end of DST
    # that is an hour wrong. In UTC wall-clock time is real time.
    return (_utc(end, "end") - _utc(start, "start")).total_seconds() / 60.0


def decay_over_minutes(activity_mbq: float, minutes: float, nuclide: Nuclide = GA68) -> float:
    """Activity after `minutes` (negative minutes decay-correct back in time).

    Preconditions: activity finite and ≥ 0, minutes finite, else InputError.
    """
    activity_mbq = _non_negative(activity_mbq, "activity_mbq")
    minutes = _finite(minutes, "minutes")
    return activity_mbq * _remaining_fraction(nuclide, minutes)


def decay_factor(nuclide: Nuclide, start: datetime, end: datetime) -> float:
    """exp(−λ·elapsed) from `start` to `end`; > 1 when `end` is before `start`.

    Preconditions: both aware, else InputError.
    """
    return _remaining_fraction(nuclide, elapsed_minutes(start, end))


def decay_activity(
    activity_mbq: float, *, from_time: datetime, to_time: datetime, nuclide: Nuclide = GA68
) -> float:
    """Activity at `to_time` given `activity_mbq` at `from_time`, in either direction.

    Preconditions: activity finite and ≥ 0; both datetimes aware; else InputError.
    """
    return decay_over_minutes(activity_mbq, elapsed_minutes(from_time, to_time), nuclide)


# --- Generator column model -----------------------------------------------------------------------


def _equilibrium_ratio() -> float:
    # Transient equilibrium of parent Ge-68 and daughter Ga-68: A_Ga / A_Ge = λGa / (λGa − λGe),
    # ≈ 1.00017 — slightly above 1 because the parent decays while the daughter grows in.
    lam_ga = GA68.decay_constant_per_min
    return lam_ga / (lam_ga - GE68.decay_constant_per_min)


def ge68_activity_mbq(
    *, nominal_activity_mbq: float, calibrated_at: datetime, at: datetime
) -> float:
    """Ge-68 activity of a generator at `at` from its nominal activity at calibration.

    Preconditions: nominal activity finite and ≥ 0; datetimes aware; else InputError.
    """
    nominal_activity_mbq = _non_negative(nominal_activity_mbq, "nominal_activity_mbq")
    return decay_activity(nominal_activity_mbq, from_time=calibrated_at, to_time=at, nuclide=GE68)


def equilibrium_ga68_mbq(ge68_activity_mbq: float) -> float:
    """Ga-68 on a column in transient equilibrium with `ge68_activity_mbq` of Ge-68.

    Preconditions: activity finite and ≥ 0, else InputError.
    """
    return _non_negative(ge68_activity_mbq, "ge68_activity_mbq") * _equilibrium_ratio()


def _ingrowth_term(minutes: float) -> float:
    # e^(−λGe Δ) − e^(−λGa Δ) written as e^(−λGe Δ)·(1 − e^(−(λGa−λGe) Δ)) with expm1: the plain
    # difference loses digits to cancellation for small Δ.
    lam_ga = GA68.decay_constant_per_min
    lam_ge = GE68.decay_constant_per_min
    return math.exp(-lam_ge * minutes) * -math.expm1(-(lam_ga - lam_ge) * minutes)


def ingrowth_ga68_mbq(*, ge68_at_start_mbq: float, residual_mbq: float, minutes: float) -> float:
    """Ga-68 on the column `minutes` after a state with Ge-68 and residual Ga-68 (Bateman).

    Preconditions: activities finite and ≥ 0; minutes finite and ≥ 0; else InputError.
    """
    ge68_at_start_mbq = _non_negative(ge68_at_start_mbq, "ge68_at_start_mbq")
    residual_mbq = _non_negative(residual_mbq, "residual_mbq")
    minutes = _non_negative(minutes, "minutes")
    residual_left = residual_mbq * math.exp(-GA68.decay_constant_per_min * minutes)
    grown = ge68_at_start_mbq * _equilibrium_ratio() * _ingrowth_term(minutes)
    return residual_left + grown


def ingrowth_fraction(minutes: float) -> float:
    """Fraction of the equilibrium Ga-68 content reached `minutes` after a complete elution.

    Relative to the equilibrium content at that same time, so it is 1 − e^(−(λGa−λGe) Δ).
    Preconditions: minutes finite and ≥ 0, else InputError.
    """
    minutes = _non_negative(minutes, "minutes")
    lam_diff = GA68.decay_constant_per_min - GE68.decay_constant_per_min
    return -math.expm1(-lam_diff * minutes)


@dataclass(frozen=True)
class ElutionRecord:
    """One elution: when, and the eluate activity decay-corrected to that time (E)."""

    eluted_at: datetime
    activity_at_elution_mbq: float


@dataclass(frozen=True)
class ColumnState:
    """The column at `at`: Ge-68, Ga-68 on the column, and what the last elution left behind."""

    at: datetime
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    last_elution_at: datetime | None
    residual_mbq: float


def _sorted_elutions(elutions: Iterable[ElutionRecord]) -> list[ElutionRecord]:
    records = list(elutions)
    for record in records:
        require_aware(record.eluted_at, "eluted_at")
        _non_negative(record.activity_at_elution_mbq, "activity_at_elution_mbq")
    # Sort on UTC: comparing datetimes that share a tzinfo ignores `fold`, so two elutions in the
    # repeated hour at the end of DST would otherwise compare by wall clock. sorted() is stable,
    # so simultaneous elutions keep their input order.
    return sorted(records, key=lambda r: r.eluted_at.astimezone(UTC))


@dataclass(frozen=True)
class ElutionState:
    """The column right after one elution: all a later prediction needs (SPEC §2.2).

    `on_column_mbq` is G(t_e) just before the elution, `residual_mbq` the R it left behind.
    Stored with each elution, so that a prediction starts from the latest one instead of
    replaying the whole history; `elution_states` derives it with the replay's own arithmetic.
    """

    eluted_at: datetime
    on_column_mbq: float
    residual_mbq: float


def _step(
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    last: ElutionState | None,
    record: ElutionRecord,
) -> ElutionState:
    """The state after `record`, from the state after the elution before it (None: the first)."""
    if last is None:
        # No earlier elution recorded: the column has been sitting in equilibrium.
        on_column = equilibrium_ga68_mbq(
            ge68_activity_mbq(
                nominal_activity_mbq=nominal_activity_mbq,
                calibrated_at=calibrated_at,
                at=record.eluted_at,
            )
        )
    else:
        ge68_then = ge68_activity_mbq(
            nominal_activity_mbq=nominal_activity_mbq,
            calibrated_at=calibrated_at,
            at=last.eluted_at,
        )
        on_column = ingrowth_ga68_mbq(
            ge68_at_start_mbq=ge68_then,
            residual_mbq=last.residual_mbq,
            minutes=elapsed_minutes(last.eluted_at, record.eluted_at),
        )
    # An eluate larger than the model's content (measurement error, model drift) cannot leave
    # a negative amount behind.
    return ElutionState(
        eluted_at=record.eluted_at,
        on_column_mbq=on_column,
        residual_mbq=max(0.0, on_column - record.activity_at_elution_mbq),
    )


def _walk(
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    elutions: list[ElutionRecord],
    last: ElutionState | None = None,
) -> list[ElutionState]:
    """The state after each elution, in order, continuing from `last` (None: from the start).

    Preconditions: `elutions` validated and sorted by time, none before `last`.
    """
    states: list[ElutionState] = []
    for record in elutions:
        last = _step(nominal_activity_mbq, calibrated_at, last, record)
        states.append(last)
    return states


def elution_states(
    *,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    elutions: Iterable[ElutionRecord],
    after: ElutionState | None = None,
) -> list[ElutionState]:
    """The column state right after each elution, in time order (stable for equal times).

    Continues from `after`, the state of the elution just before the first of `elutions`
    (None: they are the generator's whole history). The last state with `column_state_after`
    gives exactly what `column_state` computes from the whole history.
    Preconditions: as for `column_state`; no elution before `after.eluted_at`.
    """
    nominal_activity_mbq = _non_negative(nominal_activity_mbq, "nominal_activity_mbq")
    require_aware(calibrated_at, "calibrated_at")
    records = _sorted_elutions(elutions)
    if after is not None and records:
        if records[0].eluted_at.astimezone(UTC) < _utc(after.eluted_at, "after.eluted_at"):
            raise InputError("elution_states: an elution is before the state it continues from")
    return _walk(nominal_activity_mbq, calibrated_at, records, after)


def column_state_after(
    *,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    last: ElutionState | None,
    at: datetime,
) -> ColumnState:
    """The column at `at` from the state after the last elution before `at` (None: no elution).

    Preconditions: nominal activity finite and ≥ 0; datetimes aware; `last` before `at`.
    """
    nominal_activity_mbq = _non_negative(nominal_activity_mbq, "nominal_activity_mbq")
    require_aware(calibrated_at, "calibrated_at")
    require_aware(at, "at")
    ge68_now = ge68_activity_mbq(
        nominal_activity_mbq=nominal_activity_mbq, calibrated_at=calibrated_at, at=at
    )
    if last is None:
        return ColumnState(
            at=at,
            ge68_activity_mbq=ge68_now,
            ga68_on_column_mbq=equilibrium_ga68_mbq(ge68_now),
            last_elution_at=None,
            residual_mbq=0.0,
        )
    ge68_then = ge68_activity_mbq(
        nominal_activity_mbq=nominal_activity_mbq, calibrated_at=calibrated_at, at=last.eluted_at
    )
    on_column = ingrowth_ga68_mbq(
        ge68_at_start_mbq=ge68_then,
        residual_mbq=last.residual_mbq,
        minutes=elapsed_minutes(last.eluted_at, at),
    )
    return ColumnState(
        at=at,
        ge68_activity_mbq=ge68_now,
        ga68_on_column_mbq=on_column,
        last_elution_at=last.eluted_at,
        residual_mbq=last.residual_mbq,
    )


def column_state(
    *,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    elutions: Iterable[ElutionRecord],
    at: datetime,
) -> ColumnState:
    """The column at `at` after the elutions recorded strictly before `at` (SPEC §2.2).

    Preconditions: nominal activity finite and ≥ 0; all datetimes aware; elution activities
    finite and ≥ 0; else InputError. Elutions may come in any order.
    """
    nominal_activity_mbq = _non_negative(nominal_activity_mbq, "nominal_activity_mbq")
    require_aware(calibrated_at, "calibrated_at")
    at_utc = _utc(at, "at")
    history = [r for r in _sorted_elutions(elutions) if r.eluted_at.astimezone(UTC) < at_utc]
    states = _walk(nominal_activity_mbq, calibrated_at, history)
    return column_state_after(
        nominal_activity_mbq=nominal_activity_mbq,
        calibrated_at=calibrated_at,
        last=states[-1] if states else None,
        at=at,
    )


def columns_at_elutions(
    *,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    elutions: Iterable[ElutionRecord],
) -> list[float]:
    """G(t_i), the Ga-68 on the column just before each elution, in time order.

    The order is that of the elutions sorted by time (stable for equal times).
    Preconditions: as for `column_state`.
    """
    nominal_activity_mbq = _non_negative(nominal_activity_mbq, "nominal_activity_mbq")
    require_aware(calibrated_at, "calibrated_at")
    states = _walk(nominal_activity_mbq, calibrated_at, _sorted_elutions(elutions))
    return [state.on_column_mbq for state in states]


def column_advance(state: ColumnState, *, to: datetime) -> ColumnState:
    """The column at `to` from `state`, with no elution in between.

    The Bateman solution is memoryless, so starting from any state gives the same result as
    starting from the last elution. Preconditions: `to` aware and not before `state.at`.
    """
    minutes = elapsed_minutes(state.at, to)
    if minutes < 0:
        raise InputError("column_advance cannot go back in time")
    return ColumnState(
        at=to,
        ge68_activity_mbq=decay_over_minutes(state.ge68_activity_mbq, minutes, GE68),
        ga68_on_column_mbq=ingrowth_ga68_mbq(
            ge68_at_start_mbq=state.ge68_activity_mbq,
            residual_mbq=state.ga68_on_column_mbq,
            minutes=minutes,
        ),
        last_elution_at=state.last_elution_at,
        residual_mbq=state.residual_mbq,
    )


# --- Efficiency and expected eluate ---------------------------------------------------------------


def elution_efficiency_percent(*, activity_at_elution_mbq: float, on_column_mbq: float) -> float:
    """Elution efficiency 100·E/G of one elution.

    Preconditions: E finite and ≥ 0; G finite and > 0; else InputError.
    """
    activity_at_elution_mbq = _non_negative(activity_at_elution_mbq, "activity_at_elution_mbq")
    on_column_mbq = _non_negative(on_column_mbq, "on_column_mbq")
    if on_column_mbq == 0:
        raise InputError("on_column_mbq must be positive to compute an efficiency")
    return 100.0 * activity_at_elution_mbq / on_column_mbq


def efficiency_estimate_percent(
    efficiencies_percent: Sequence[float], *, nominal_percent: float = 65.0, window: int = 5
) -> float:
    """The generator's efficiency estimate η: mean of the last `window` efficiencies.

    `efficiencies_percent` runs oldest to newest; with none, `nominal_percent`.
    Preconditions: values finite and ≥ 0; window ≥ 1; else InputError.
    """
    nominal_percent = _non_negative(nominal_percent, "nominal_percent")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InputError(f"window must be a positive integer, got {window!r}")
    values = [_non_negative(v, "efficiency_percent") for v in efficiencies_percent]
    if not values:
        return nominal_percent
    recent = values[-window:]
    return math.fsum(recent) / len(recent)


# SPEC §2.2: η is the mean efficiency of the last 5 elutions.
EFFICIENCY_WINDOW = 5


def running_efficiency_estimates(
    efficiencies_percent: Sequence[float],
    *,
    before: Sequence[float] = (),
    nominal_percent: float = 65.0,
    window: int = EFFICIENCY_WINDOW,
) -> list[float]:
    """η right after each of `efficiencies_percent` (oldest first), the elutions `before` them
    (oldest first; only the last `window` − 1 matter) counting in the first windows.

    Each value is exactly `efficiency_estimate_percent` of the history up to that elution.
    Preconditions: as for `efficiency_estimate_percent`.
    """
    history = list(before)[-window:]
    estimates = []
    for value in efficiencies_percent:
        history = [*history, value][-window:]
        estimates.append(
            efficiency_estimate_percent(history, nominal_percent=nominal_percent, window=window)
        )
    return estimates


def expected_eluate_mbq(*, ga68_on_column_mbq: float, efficiency_percent: float) -> float:
    """Expected eluate activity η·G.

    Preconditions: both finite and ≥ 0, else InputError.
    """
    ga68_on_column_mbq = _non_negative(ga68_on_column_mbq, "ga68_on_column_mbq")
    efficiency_percent = _non_negative(efficiency_percent, "efficiency_percent")
    return ga68_on_column_mbq * efficiency_percent / 100.0


# --- Ge-68 breakthrough ---------------------------------------------------------------------------


def breakthrough_percent(
    *,
    ge68_activity_kbq: float,
    measured_at: datetime,
    eluted_at: datetime,
    ga68_at_elution_mbq: float,
) -> float:
    """Ge-68 breakthrough 100·A_Ge(t_e)/E, the sample decay-corrected back to the elution.

    Preconditions: Ge-68 activity finite and ≥ 0 (kBq); E finite and > 0 (MBq); datetimes aware;
    `measured_at` at least 48 h after `eluted_at` (Ph. Eur. 2464); else InputError.
    """
    ge68_activity_kbq = _non_negative(ge68_activity_kbq, "ge68_activity_kbq")
    ga68_at_elution_mbq = _non_negative(ga68_at_elution_mbq, "ga68_at_elution_mbq")
    if ga68_at_elution_mbq == 0:
        raise InputError("ga68_at_elution_mbq must be positive to compute a breakthrough")
    delay_min = elapsed_minutes(eluted_at, measured_at)
    required_min = BREAKTHROUGH_MIN_DELAY.total_seconds() / 60.0
    if delay_min < required_min:
        # Before 48 h the eluate's own Ga-68 is still measurable and would be counted as Ge-68.
        raise InputError(
            f"Ge-68 breakthrough must be measured at least 48 h after elution; "
            f"measured {delay_min / 60.0:.2f} h after"
        )
    ge68_at_elution_mbq = decay_activity(
        ge68_activity_kbq / KBQ_PER_MBQ, from_time=measured_at, to_time=eluted_at, nuclide=GE68
    )
    return 100.0 * ge68_at_elution_mbq / ga68_at_elution_mbq


def breakthrough_passed(percent: float) -> bool:
    """Whether a breakthrough result is within the 0.001 % limit.

    Preconditions: percent finite and ≥ 0, else InputError.
    """
    return _non_negative(percent, "breakthrough percent") <= BREAKTHROUGH_LIMIT_PERCENT


# --- Unit conversions (display and input conveniences) --------------------------------------------


def mbq_to_mci(mbq: float) -> float:
    """MBq to mCi. Preconditions: finite and ≥ 0, else InputError."""
    return _non_negative(mbq, "mbq") / MBQ_PER_MCI


def mci_to_mbq(mci: float) -> float:
    """mCi to MBq. Preconditions: finite and ≥ 0, else InputError."""
    return _non_negative(mci, "mci") * MBQ_PER_MCI


def mbq_to_gbq(mbq: float) -> float:
    """MBq to GBq. Preconditions: finite and ≥ 0, else InputError."""
    return _non_negative(mbq, "mbq") / MBQ_PER_GBQ


def gbq_to_mbq(gbq: float) -> float:
    """GBq to MBq. Preconditions: finite and ≥ 0, else InputError."""
    return _non_negative(gbq, "gbq") * MBQ_PER_GBQ
