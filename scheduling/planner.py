"""Production planner: the day's synthesis runs on real resources, with a proof (SPEC §2.7).

Pure Python (stdlib + `radiopharmacy.physics`), no Django: `scheduling.plan_inputs` turns the
database into a `GeneratorState`, `BookingRequest`s, `StockBatch`es, `Synthesis`es of the day
and `PlanParameters`; `plan_day` returns a `Plan` whose `to_dict()` is the shape of SPEC §3.

Model
-----
A run elutes at a grid slot t = earliest_elution_at + k·grid (never before the column state's
`at`), takes the eluate E = η·G(t) and leaves (1 − η)·G on the column (η the mean efficiency);
EOS = t + synthesis, release = EOS + QC, expiry = EOS + shelf life. Its planned activity at EOS
is A = q·G(t)·e^(−λ·synth), where q is the `confidence` quantile of yield × efficiency under a
normal model (mean μ_y·μ_η, variance μ_y²σ_η² + μ_η²σ_y² + σ_y²σ_η²); with no spread, or
confidence 0.5, q = μ_y·μ_η. Booking b (injection i_b, prescribed p_b, draw d_b = i_b − lead)
can be served by that run iff release ≤ d_b, i_b ≤ expiry and d_b ≤ working end; it needs
p_b·e^(λ(i_b − EOS)) at EOS, and a run's needs must not exceed A.

Resources: a run needs a free module at its elution (modules are freed at EOS + turnaround; with
equal durations and runs in time order, giving each run the module freed first is optimal), its
QC (EOS → release) does not overlap another's on the one QC bench, elutions of the generator
are at least one grid step apart, and the day has at most `max_syntheses` syntheses, counting
those already made (`Synthesis`). Batches of the day already released or in QC (`StockBatch`)
serve bookings first, lightest first (their activity decay-corrected, doses already assigned
subtracted); the runs are planned for the rest.

Objective, in this order: most bookings served; fewest syntheses; largest smallest relative
margin (A − needs)/needs over the runs; then earliest elutions (slot tuple, lexicographic) and
then the order in which the search meets the dose sets, which is fixed by booking ids.

Why the search is exact
-----------------------
In reference units (activities decay-corrected to earliest_elution_at) booking b weighs
w_b = p_b·e^(λ i_b) whatever run serves it, and a run at slot k offers C(k) = q·G(t_k)·e^(λ t_k).
A run with dose set S has margin ≥ m iff (1 + m)·Σ_S w ≤ C(k): asking for margin m is the same
problem with every weight scaled by s = 1 + m. Facts, from the Bateman solution (G' = λGa·(A_Ge −
G), linear in G):
 F1. C(k) increases with k for a given previous elution (d/dt[G·e^(λt)] = λ·A_Ge·e^(λt) > 0).
 F2. Eluting earlier leaves more on the column for every later time (the flow G ↦ a·G + I
     gives (1−η)aG + I against (1−η)(aG + I)), and leaving an elution out leaves even more.
 F3. Moving a run earlier only frees modules and the QC bench earlier: every resource rule is
     "later run ≥ earlier run + a constant".
 F4. Windows [lo_b, hi_b] are shifted copies of i_b, so sorting by injection sorts both ends.
For a fixed scale s and a plan whose runs all fit at s, moving each run in turn to the earliest
slot where its set is in time, fits at s and the resources allow, keeps every run fitting at s
(F1, F2) and every later slot allowed (F3). And each set can be made maximal at its slot: a
booking b in time there that fits is moved there from a later run (whose load only falls; an
emptied run is dropped, which F2 allows) or added if unserved. So for every s there is a best
plan made of maximal sets (under the weights scaled by s) at their earliest slots, and a
depth-first search over runs in time order that branches on such sets finds it.

Phase 1 (s = 1) maximises (served, −runs) by branch and bound: a completion can serve at most
(i) the available bookings, (ii) r runs × the most bookings one run can take at any later slot
with the column grown since the last elution (a child run is tested this way before it is
built), (iii) the largest set that a single machine with processing times w_b and due dates
C_none(hi_b)·(1 − (1 − η)^r)/η schedules (Moore-Hodgson): H = G·e^(λt) grows at the same rate
λ·A_Ge·e^(λt) whatever it holds and each elution takes η·H, so r runs at slots ≤ q offer at most
that much, and (iv) the depletion bound. n_k(c), the number of the lightest bookings in time at
slot k whose weights sum to at most c, bounds what one run at k with capacity c serves. Two runs
in a row are at least g slots apart (one grid step, the QC bench: the next EOS after the last
release, and with one module its synthesis and turnaround: rules "later ≥ earlier + a constant",
F3). The first run of a completion, at k, has the node's capacity C(k); a run at b after one at
a has at most C_a(b) = cap(b)·((1 − η)·G_none(a)·decay(b − a) + Ge(a)·grow(b − a)): the column
at a is at most the never-eluted one G_none(a) (F2) and the flow is increasing in the residual.
The run table T_r(a), the most r runs after a run at a can serve, is a dynamic programme over
slots from the last one: T_0 = 0, T_r(a) = max(T_(r−1)(a), max over b ≥ a + g of n_b(C_a(b)) +
T_(r−1)(b)); so r runs serve at most max over k of n_k(C(k)) + T_(r−1)(k). It counts each run's
depletion of the column but not that runs share bookings, whereas (iii) counts that but treats
the column as fungible. One table serves the whole day; it is built once the search has spent
`rebuild_every` nodes (small days end sooner), and until then T_r(a) = r × the most one run
after a takes from a never-eluted column (F1, F2). A child run of d doses at slot k is tested
with d + T_(r−1)(k), and the listing of dose sets skips a set, with every set it extends, when
no slot k of its range [latest start, earliest end] has n_k(C(k)) + T_(r−1)(k) enough to pass
that test: a set that fits at k has at most n_k(C(k)) doses, and extending a set only narrows
its range. Two partial plans with the same last slot, module and QC-bench state and the same
still-open unserved bookings: the one with at least as much left on the column, as many served
and as few runs dominates (it can copy the other's future). Phase 2 raises the margin: with the
weights scaled by s = 1 + m it searches for a plan serving as many with as many runs (same
bounds, targets instead of an incumbent); each plan found sets m to its own smallest margin plus
MARGIN_RESOLUTION (0.2 percentage points) and the search goes on from there, one branch and
bound: a node whose runs so far fall below m is cut, a node re-lists its dose sets (maximal for
the new s) when m rose under it, and a partial plan dominates another only with at least its
smallest margin too (what it explored under a lower m covers the other's future at any higher
m). Bound (iv) holds at any s ≥ 1 with the table for s or for any lower s (weights scaled less
count more): phase 2 rebuilds it for the current threshold at most every `rebuild_every` nodes.
So the smallest margin is the largest to within that resolution. Last, each run of the plan
moves to the earliest slot where every run keeps that margin (F1-F3): earliest elutions.

The search has a CPU budget (`time_budget_s`; it also stops after 1.5 × as much wall time).
When it runs out the best plan found is returned with `optimal = False` and what was proven:
at most `bound_served` bookings can be served (when phase 1 finished: exactly as many as the
plan serves, with its number of syntheses, and only the margin is unproven).
`tests/scheduling` compare the planner with exhaustive searches (served, syntheses, margin) and
recompute every plan with an independent checker.
"""

from __future__ import annotations

import bisect
import heapq
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist

from radiopharmacy.core.errors import InputError
from radiopharmacy.physics import (
    GE68,
    decay_activity,
    decay_over_minutes,
    elapsed_minutes,
    expected_eluate_mbq,
    ingrowth_ga68_mbq,
    require_aware,
)

_US_PER_MIN = 60_000_000
_ONE_US = timedelta(microseconds=1)
_MARGIN_STEP = 1e-9  # a better margin must beat the incumbent's by this (float noise)
# The smallest relative margin is maximised to within this (0.2 percentage points): finer
# differences are far below what yield and efficiency vary by from run to run.
MARGIN_RESOLUTION = 0.002
WALL_FACTOR = 1.5  # the search also stops after 1.5 × its CPU budget of wall time
_NEG = -(10**18)  # "long ago" in microseconds: a module or bench that was never busy
_NEVER = 10**9  # more doses than any run takes: no child at that slot passes the bound test


class _Timeout(Exception):
    """The search's CPU budget ran out."""


# --- Input ----------------------------------------------------------------------------------------


def _number(value: float, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    # bool is an int subclass; True minutes is always a bug.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else "≥"
        raise InputError(f"{name} must be {relation} {minimum}, got {value!r}")
    return float(value)


def _integer(value: int, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class GeneratorState:
    """The column at `at`: Ge-68, Ga-68 on the column, and the efficiency's mean and spread.

    Preconditions: `at` aware; activities finite and ≥ 0; 0 < efficiency ≤ 100; spread ≥ 0;
    else InputError.
    """

    at: datetime
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    efficiency_percent: float
    efficiency_sd_percent: float = 0.0

    def __post_init__(self) -> None:
        require_aware(self.at, "generator_state.at")
        _number(self.ge68_activity_mbq, "ge68_activity_mbq")
        _number(self.ga68_on_column_mbq, "ga68_on_column_mbq")
        _number(self.efficiency_percent, "efficiency_percent", strict=True)
        _number(self.efficiency_sd_percent, "efficiency_sd_percent")
        if self.efficiency_percent > 100:
            raise InputError("efficiency_percent must be ≤ 100")


@dataclass(frozen=True)
class BookingRequest:
    """A patient dose to plan: `prescribed_activity_mbq` at `injection_at`.

    Preconditions: `injection_at` aware; prescribed activity finite and > 0; else InputError.
    """

    booking_id: int
    injection_at: datetime
    prescribed_activity_mbq: float

    def __post_init__(self) -> None:
        require_aware(self.injection_at, "injection_at")
        _number(self.prescribed_activity_mbq, "prescribed_activity_mbq", strict=True)


@dataclass(frozen=True)
class StockBatch:
    """A batch of the day released or in QC: `activity_mbq` left for new doses at `activity_at`
    (doses already assigned subtracted), usable from `available_at` until `expires_at`.

    Preconditions: datetimes aware; activity finite and ≥ 0; else InputError.
    """

    batch_id: int
    label: str
    available_at: datetime
    expires_at: datetime
    activity_mbq: float
    activity_at: datetime

    def __post_init__(self) -> None:
        for name in ("available_at", "expires_at", "activity_at"):
            require_aware(getattr(self, name), name)
        _number(self.activity_mbq, "stock activity_mbq")


@dataclass(frozen=True)
class Synthesis:
    """A synthesis of the day that is already made or running: it holds a module until
    `eos_at` + turnaround and the QC bench from `eos_at` to `release_at`, and counts towards
    `max_syntheses`. Preconditions: aware datetimes, elution ≤ EOS ≤ release; else InputError.
    """

    elution_at: datetime
    eos_at: datetime
    release_at: datetime

    def __post_init__(self) -> None:
        for name in ("elution_at", "eos_at", "release_at"):
            require_aware(getattr(self, name), name)
        if not self.elution_at <= self.eos_at <= self.release_at:
            raise InputError("a synthesis needs elution ≤ EOS ≤ release")


@dataclass(frozen=True, kw_only=True)
class PlanParameters:
    """Plan settings for one day (SPEC §2.7); durations in minutes.

    Preconditions: datetimes aware; durations finite and ≥ 0; grid and shelf life > 0;
    0 < yield ≤ 100; spreads ≥ 0; modules ≥ 1; max_syntheses ≥ 0; 0 < confidence < 1;
    time budget > 0; max_doses_per_run None or ≥ 1; else InputError.
    """

    earliest_elution_at: datetime
    working_end_at: datetime
    synthesis_duration_min: float = 25
    qc_duration_min: float = 25
    shelf_life_min: float = 240
    draw_lead_time_min: float = 10
    expected_yield_percent: float = 80.0
    yield_sd_percent: float = 0.0
    grid_min: float = 5
    synthesis_modules: int = 1
    module_turnaround_min: float = 10
    max_syntheses: int = 4
    confidence: float = 0.90
    time_budget_s: float = 1.0
    max_doses_per_run: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.earliest_elution_at, "earliest_elution_at")
        require_aware(self.working_end_at, "working_end_at")
        for name in (
            "synthesis_duration_min",
            "qc_duration_min",
            "draw_lead_time_min",
            "module_turnaround_min",
            "yield_sd_percent",
        ):
            _number(getattr(self, name), name)
        _number(self.shelf_life_min, "shelf_life_min", strict=True)
        # Below a second the microsecond grid arithmetic stops being meaningful.
        _number(self.grid_min, "grid_min", minimum=1 / 60)
        _number(self.expected_yield_percent, "expected_yield_percent", strict=True)
        if self.expected_yield_percent > 100:
            raise InputError("expected_yield_percent must be ≤ 100")
        _integer(self.synthesis_modules, "synthesis_modules", minimum=1)
        _integer(self.max_syntheses, "max_syntheses", minimum=0)
        _number(self.confidence, "confidence", strict=True)
        if self.confidence >= 1:
            raise InputError("confidence must be < 1")
        _number(self.time_budget_s, "time_budget_s", strict=True)
        if self.max_doses_per_run is not None:
            _integer(self.max_doses_per_run, "max_doses_per_run", minimum=1)


# --- Output ---------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _r(value: float, digits: int = 3) -> float:
    return round(value, digits)


@dataclass(frozen=True)
class PlannedDose:
    """One booking served by a run or a stock batch: when to draw and how much (MBq)."""

    booking_id: int
    injection_at: datetime
    draw_at: datetime
    prescribed_activity_mbq: float
    activity_to_draw_mbq: float
    activity_needed_at_eos_mbq: float

    def to_dict(self) -> dict:
        """SPEC §3 dose shape (plus the injection time and prescription)."""
        return {
            "booking": self.booking_id,
            "draw_at": _iso(self.draw_at),
            "activity_to_draw_mbq": self.activity_to_draw_mbq,
            "activity_needed_at_eos_mbq": self.activity_needed_at_eos_mbq,
            "injection_at": _iso(self.injection_at),
            "prescribed_activity_mbq": self.prescribed_activity_mbq,
        }


@dataclass(frozen=True)
class PlannedRun:
    """One synthesis run with its numbers, its margin and the doses it serves."""

    elution_at: datetime
    eos_at: datetime
    release_at: datetime
    expiry_at: datetime
    module: int
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    expected_eluate_mbq: float
    expected_activity_at_eos_mbq: float  # planned: the `confidence` quantile
    mean_activity_at_eos_mbq: float
    needed_at_eos_mbq: float
    margin_mbq: float
    margin_percent: float
    probability_all_served: float
    doses: tuple[PlannedDose, ...]
    explanation: tuple[str, ...]

    @property
    def wasted_activity_mbq(self) -> float:
        """Planned activity at EOS that no dose needs (the margin, in MBq)."""
        return self.margin_mbq

    def to_dict(self) -> dict:
        """SPEC §3 run shape plus expiry, module, eluate, margin, probability, explanation."""
        return {
            "elution_at": _iso(self.elution_at),
            "eos_at": _iso(self.eos_at),
            "release_at": _iso(self.release_at),
            "expected_activity_at_eos_mbq": self.expected_activity_at_eos_mbq,
            "doses": [dose.to_dict() for dose in self.doses],
            "expiry_at": _iso(self.expiry_at),
            "module": self.module,
            "ga68_on_column_mbq": self.ga68_on_column_mbq,
            "expected_eluate_mbq": self.expected_eluate_mbq,
            "mean_activity_at_eos_mbq": self.mean_activity_at_eos_mbq,
            "needed_at_eos_mbq": self.needed_at_eos_mbq,
            "margin_mbq": self.margin_mbq,
            "margin_percent": self.margin_percent,
            "probability_all_served": self.probability_all_served,
            "wasted_activity_mbq": self.margin_mbq,
            "explanation": list(self.explanation),
        }


@dataclass(frozen=True)
class StockUse:
    """Doses a batch already made (released or in QC) serves before any new run."""

    batch_id: int
    label: str
    available_at: datetime
    expires_at: datetime
    activity_mbq: float
    activity_at: datetime
    doses: tuple[PlannedDose, ...]

    def to_dict(self) -> dict:
        """The batch, what it had left and the doses it serves (needs at `activity_at`)."""
        return {
            "batch": self.batch_id,
            "label": self.label,
            "available_at": _iso(self.available_at),
            "expires_at": _iso(self.expires_at),
            "activity_mbq": self.activity_mbq,
            "activity_at": _iso(self.activity_at),
            "doses": [dose.to_dict() for dose in self.doses],
        }


@dataclass(frozen=True)
class UnservedBooking:
    """A booking the plan cannot serve, why, and the earliest injection time that would work."""

    booking_id: int
    reason: str
    suggested_injection_at: datetime | None

    def to_dict(self) -> dict:
        """SPEC §3 unserved shape."""
        return {
            "booking": self.booking_id,
            "reason": self.reason,
            "suggested_injection_at": _iso(self.suggested_injection_at),
        }


@dataclass(frozen=True)
class Plan:
    """The day's runs (in time order), the stock used, the bookings left unserved (by id) and
    whether the search proved the plan optimal within its budget."""

    date: date | None
    generator_id: int | None
    runs: tuple[PlannedRun, ...]
    unserved: tuple[UnservedBooking, ...]
    stock: tuple[StockUse, ...] = ()
    optimal: bool = True
    bound_served: int = 0
    nodes: int = 0
    cpu_ms: float = 0.0

    @property
    def served_count(self) -> int:
        """Number of bookings served, by runs and by stock."""
        return sum(len(run.doses) for run in self.runs) + sum(len(s.doses) for s in self.stock)

    @property
    def smallest_margin_percent(self) -> float | None:
        """The smallest relative margin over the runs (None without runs)."""
        return min((run.margin_percent for run in self.runs), default=None)

    @property
    def wasted_activity_mbq(self) -> float:
        """Σ over runs of planned activity at EOS minus the doses' needs at EOS."""
        return math.fsum(run.margin_mbq for run in self.runs)

    def to_dict(self) -> dict:
        """The plan as JSON-ready values in the shape of SPEC §3 (datetimes ISO 8601)."""
        margin = self.smallest_margin_percent
        return {
            "date": None if self.date is None else self.date.isoformat(),
            "generator": self.generator_id,
            "runs": [run.to_dict() for run in self.runs],
            "stock": [use.to_dict() for use in self.stock],
            "unserved": [item.to_dict() for item in self.unserved],
            "optimal": self.optimal,
            "bound": {"served_at_most": self.bound_served},
            "objective": {
                "served": self.served_count,
                "runs": len(self.runs),
                "smallest_margin_percent": None if margin is None else _r(margin),
                "wasted_activity_mbq": self.wasted_activity_mbq,
            },
        }


# --- The day --------------------------------------------------------------------------------------


def _us(minutes: float) -> int:
    return round(minutes * _US_PER_MIN)


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


@dataclass
class _Booking:
    request: BookingRequest
    inj_us: int  # microseconds after earliest_elution_at; integers keep the grid arithmetic exact
    lo: int  # first slot whose run is still in date at injection
    hi: int  # last slot whose run is released by draw time
    within_hours: bool
    weight: float  # p·e^(λ i): the need in reference units, the same for every run
    stock: int | None = None  # index of the stock batch that serves it

    @property
    def servable(self) -> bool:
        return self.within_hours and self.lo <= self.hi and self.stock is None


@dataclass(frozen=True)
class _Resources:
    """When the next run may elute: modules, QC bench, previous elution (µs after t0)."""

    modules: tuple[int, ...]  # when each module is free again, sorted
    bench_free: int  # release of the last QC
    last_elution: int

    def earliest(self, day: _Day) -> int:
        """The first slot a new run may elute at."""
        start = max(
            self.modules[0], self.bench_free - day.syn_us, self.last_elution + day.grid_us, 0
        )
        return max(day.k_min, _ceil_div(start, day.grid_us))

    def after(self, day: _Day, k: int) -> _Resources:
        """The resources once a run elutes at slot k (on the module freed first)."""
        t = k * day.grid_us
        eos = t + day.syn_us
        modules = tuple(sorted((*self.modules[1:], eos + day.turn_us)))
        return _Resources(modules, eos + day.qc_us, t)

    def key(self) -> tuple:
        return (self.modules, self.bench_free)


class _Day:
    """Everything about the day that does not depend on the plan: slots, windows, tables."""

    def __init__(
        self,
        state: GeneratorState,
        bookings: Sequence[BookingRequest],
        params: PlanParameters,
        stock: Sequence[StockBatch],
        syntheses: Sequence[Synthesis],
    ) -> None:
        self.state = state
        self.params = params
        self.t0 = params.earliest_elution_at.astimezone(UTC)
        self.grid_us = _us(params.grid_min)
        self.syn_us = _us(params.synthesis_duration_min)
        self.qc_us = _us(params.qc_duration_min)
        self.shelf_us = _us(params.shelf_life_min)
        self.lead_us = _us(params.draw_lead_time_min)
        self.turn_us = _us(params.module_turnaround_min)
        self.end_us = self._to_us(params.working_end_at)
        self.at_us = self._to_us(state.at)
        self.k_min = max(0, _ceil_div(self.at_us, self.grid_us))
        self.eta = state.efficiency_percent / 100.0
        self.max_runs = max(0, params.max_syntheses - len(syntheses))
        self.max_doses = params.max_doses_per_run or len(bookings) or 1

        # Yield × efficiency: mean, spread and the planned quantile (normal model).
        mu_y, sd_y = params.expected_yield_percent / 100.0, params.yield_sd_percent / 100.0
        mu_e, sd_e = self.eta, state.efficiency_sd_percent / 100.0
        self.factor_mean = mu_y * mu_e
        self.factor_sd = math.sqrt(mu_y**2 * sd_e**2 + mu_e**2 * sd_y**2 + sd_y**2 * sd_e**2)
        z = NormalDist().inv_cdf(params.confidence)
        self.factor_planned = max(self.factor_mean * 1e-6, self.factor_mean - z * self.factor_sd)
        self.syn_decay = decay_over_minutes(1.0, params.synthesis_duration_min)

        ids = [b.booking_id for b in bookings]
        if len(set(ids)) != len(ids):
            raise InputError("booking ids must be unique")
        rows = []
        for request in bookings:
            inj_us = self._to_us(request.injection_at)
            draw_us = inj_us - self.lead_us
            hi = (draw_us - self.syn_us - self.qc_us) // self.grid_us
            lo = max(self.k_min, _ceil_div(inj_us - self.syn_us - self.shelf_us, self.grid_us))
            weight = decay_over_minutes(request.prescribed_activity_mbq, -inj_us / _US_PER_MIN)
            rows.append(_Booking(request, inj_us, lo, hi, draw_us <= self.end_us, weight))
        # Sorting by injection sorts both window ends (F4); ids break ties deterministically.
        self.bookings = sorted(rows, key=lambda b: (b.inj_us, b.request.booking_id))
        self.stock = sorted(stock, key=lambda s: (s.available_at, s.batch_id))
        self._serve_from_stock()

        # Physical modules as [free at, number]: a synthesis takes the one freed first.
        self.modules = [[_NEG, n] for n in range(1, params.synthesis_modules + 1)]
        bench = last = _NEG
        for s in sorted(syntheses, key=lambda s: s.elution_at):
            min(self.modules)[0] = self._to_us(s.eos_at) + self.turn_us
            bench = max(bench, self._to_us(s.release_at))
            last = max(last, self._to_us(s.elution_at))
        self.resources = _Resources(tuple(sorted(m[0] for m in self.modules)), bench, last)
        self.syntheses = list(syntheses)

        servable = [b for b in self.bookings if b.servable]
        self.k_max = max((b.hi for b in servable), default=self.k_min - 1)
        last_release_slot = (self.end_us - self.syn_us - self.qc_us) // self.grid_us
        self.k_table_max = max(self.k_max, last_release_slot, self.k_min)
        span = max(0, self.k_table_max - self.k_min + 1)
        grid = params.grid_min
        # The Bateman flow is linear in (residual Ga-68, Ge-68): tabulate it once per gap length.
        self.decay_table = [decay_over_minutes(1.0, d * grid) for d in range(span + 1)]
        self.grow_table = [
            ingrowth_ga68_mbq(ge68_at_start_mbq=1.0, residual_mbq=0.0, minutes=d * grid)
            for d in range(span + 1)
        ]
        at_min = self.at_us / _US_PER_MIN
        self.ge_at_slot: dict[int, float] = {}
        self.first_column: dict[int, float] = {}
        self.ref_factor: dict[int, float] = {}
        self.cap_factor: dict[int, float] = {}
        for k in range(self.k_min, self.k_table_max + 1):
            t_min = k * grid
            self.ge_at_slot[k] = decay_over_minutes(state.ge68_activity_mbq, t_min - at_min, GE68)
            self.first_column[k] = ingrowth_ga68_mbq(
                ge68_at_start_mbq=state.ge68_activity_mbq,
                residual_mbq=state.ga68_on_column_mbq,
                minutes=t_min - at_min,
            )
            # e^(λ·EOS): converts MBq at this slot's EOS into reference units.
            self.ref_factor[k] = decay_over_minutes(1.0, -(t_min + params.synthesis_duration_min))
            # Column → planned capacity in reference units: q·e^(−λ·synth)·e^(λ·EOS).
            self.cap_factor[k] = self.factor_planned * self.syn_decay * self.ref_factor[k]

    def _to_us(self, value: datetime) -> int:
        return (value.astimezone(UTC) - self.t0) // _ONE_US

    def _serve_from_stock(self) -> None:
        """Stock first (SPEC §2.7): each batch, in order of availability, takes the lightest
        bookings it can serve in time."""
        self.stock_left: list[float] = []
        for index, batch in enumerate(self.stock):
            available = self._to_us(batch.available_at)
            expires = self._to_us(batch.expires_at)
            # What is left in the batch, in reference units.
            room = decay_over_minutes(batch.activity_mbq, -self._to_us(batch.activity_at) / 6e7)
            candidates = sorted(
                (
                    b
                    for b in self.bookings
                    if b.stock is None
                    and b.within_hours
                    and available <= b.inj_us - self.lead_us
                    and b.inj_us <= expires
                ),
                key=lambda b: (b.weight, b.request.booking_id),
            )
            count = 0
            for b in candidates:
                if count < self.max_doses and b.weight <= room * (1 + 1e-12):
                    b.stock = index
                    room -= b.weight
                    count += 1
            self.stock_left.append(room)

    def slot_time(self, k: int) -> datetime:
        """The elution time of slot k, in the zone of earliest_elution_at."""
        # Add in UTC: adding to a local time is wall-clock arithmetic and breaks across DST.
        moment = self.t0 + k * self.grid_us * _ONE_US
        return moment.astimezone(self.params.earliest_elution_at.tzinfo)

    def column_at(self, k: int, previous: tuple[int, float] | None) -> float:
        """Ga-68 on the column at slot k, given the previous elution (slot, residual) or none."""
        if previous is None:
            return self.first_column[k]
        p, residual = previous
        d = k - p
        return residual * self.decay_table[d] + self.ge_at_slot[p] * self.grow_table[d]

    def columns(self, previous: tuple[int, float] | None, start: int, stop: int) -> list[float]:
        """Column at each slot of [start, stop], given the previous elution or none."""
        if start > stop:
            return []
        if previous is None:
            return [self.first_column[k] for k in range(start, stop + 1)]
        p, residual = previous
        ge = self.ge_at_slot[p]
        dec = self.decay_table[start - p : stop - p + 1]
        grow = self.grow_table[start - p : stop - p + 1]
        return [residual * a + ge * b for a, b in zip(dec, grow, strict=True)]

    def evaluate(self, slots: Sequence[int]) -> list[tuple[float, float]] | None:
        """(column, capacity in reference units) per run at `slots`, or None when the slots
        break a resource rule or the day's limit."""
        if len(slots) > self.max_runs:
            return None
        out = []
        resources = self.resources
        previous = None
        for k in slots:
            if k < resources.earliest(self) or k > self.k_table_max:
                return None
            g = self.column_at(k, previous)
            out.append((g, g * self.cap_factor[k]))
            previous = (k, g * (1.0 - self.eta))
            resources = resources.after(self, k)
        return out


# --- Search ---------------------------------------------------------------------------------------


@dataclass
class _Best:
    served: int = -1
    runs: int = 0
    margin: float = -math.inf
    plan: tuple[tuple[int, tuple[int, ...]], ...] = ()


@dataclass
class _Node:
    previous: tuple[int, float] | None  # last elution: slot, residual on the column
    resources: _Resources
    mask: int
    served: int
    runs: int
    margin: float  # smallest relative margin so far (inf without runs)
    plan: tuple = field(default=())


class _Search:
    """Depth-first branch and bound over runs in time order (see the module docstring)."""

    check_every = 64  # nodes between two looks at the clock
    rebuild_every = 500  # nodes between two run tables (`_after`)

    def __init__(self, day: _Day, budget_s: float) -> None:
        self.day = day
        self.budget_s = budget_s
        self.servable = [i for i, b in enumerate(day.bookings) if b.servable]
        self.weights = [b.weight for b in day.bookings]
        self.lo = [b.lo for b in day.bookings]
        self.hi = [b.hi for b in day.bookings]
        self.k0 = day.k_min
        # Per slot: the lightest weights of the bookings in time there (served or not), summed,
        # for the bound on how many one run can take.
        self.prefix: dict[int, list[float]] = {}
        for k in range(day.k_min, day.k_max + 1):
            ws = sorted(self.weights[i] for i in self.servable if self.lo[i] <= k <= self.hi[i])
            sums, total = [], 0.0
            for w in ws[: day.max_doses]:
                total += w
                sums.append(total)
            self.prefix[k] = sums
        # Per slot: the bookings in time there, lightest first (the maximality test of a set).
        self.by_weight: dict[int, list[int]] = {
            k: sorted(
                (i for i in self.servable if self.lo[i] <= k <= self.hi[i]),
                key=lambda i: (self.weights[i], i),
            )
            for k in range(day.k_min, day.k_max + 1)
        }
        # Still-open bookings after an elution at p: the only ones the future depends on (F4).
        self.window_mask: dict[int, int] = {}
        for p in range(day.k_min, day.k_max + 1):
            mask = 0
            for i in self.servable:
                if self.lo[i] <= p < self.hi[i]:
                    mask |= 1 << i
            self.window_mask[p] = mask
        # Run tables (`_after`): one valid for every scale ≥ 1 and the latest one built, as
        # (scale, table, nodes when built, depletion counted).
        self.base_table: list[list[int]] | None = None
        self.table: tuple[float, list[list[int]], int, bool] = (1.0, [], 0, False)
        self.best = _Best()
        self.nodes = 0
        self.optimal = True
        self.phase1_done = False
        self.root_bound = 0
        self.margin_bound = math.inf
        self.threshold = 0.0  # phase 2: the smallest margin asked of every run
        self.first_only = False  # phase 2: stop at the first plan (a feasibility question)

    # -- shared --------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.nodes += 1
        if self.nodes % self.check_every == 0 and (
            time.process_time() > self.deadline or time.perf_counter() > self.wall_deadline
        ):
            raise _Timeout

    def _expand(self, node: _Node, scale: float):
        """(start, columns, capacities scaled down by `scale`, available bookings)."""
        day = self.day
        start = node.resources.earliest(day)
        if node.runs >= day.max_runs or start > day.k_max:
            return start, [], [], []
        columns = day.columns(node.previous, start, day.k_max)
        caps = [g * day.cap_factor[start + j] / scale for j, g in enumerate(columns)]
        hi, weights, mask = self.hi, self.weights, node.mask
        available = [
            i
            for i in self.servable
            if not (mask >> i) & 1 and hi[i] >= start and weights[i] <= caps[hi[i] - start]
        ]
        return start, columns, caps, available

    def _bound(
        self,
        start: int,
        caps: list[float],
        available: list[int],
        runs_left: int,
        scale: float = 1.0,
        counts: list[int] | None = None,
    ) -> int:
        """At most how many of `available` `runs_left` more runs can serve (docstring);
        `counts` are `_slot_counts(start, caps)` when the caller has them."""
        if runs_left <= 0 or not available:
            return 0
        # Moore-Hodgson on due dates C_none(hi)·(1 − (1 − η)^r)/η (r elutions take at most
        # that share of the column, which grows by the same amount whatever it holds), widened
        # by 1e-9 against float noise.
        eta = self.day.eta
        factor = (1.0 + 1e-9) * (1.0 - (1.0 - eta) ** runs_left) / eta
        heap: list[float] = []
        total = 0.0
        weights, hi = self.weights, self.hi
        for j in available:  # sorted by injection, so by hi (F4)
            w = weights[j]
            heapq.heappush(heap, -w)
            total += w
            if total > caps[hi[j] - start] * factor:
                total += heapq.heappop(heap)
        activity = len(heap)
        # Depletion: the first run takes what fits at its slot, the others at most what the
        # run table allows after it (valid only with weights scaled by ≥ 1, as they are).
        after = self._after(runs_left - 1, scale) if scale >= 1.0 else None
        if counts is None:
            counts = self._slot_counts(start, caps)
        bound = min(activity, max(counts) * runs_left, len(available))
        if after is None:
            return bound
        offset = start - self.k0
        chain = max(count + after[offset + j] for j, count in enumerate(counts))
        return min(bound, chain)

    def _slot_counts(self, start: int, caps: list[float]) -> list[int]:
        """Per slot offset j, the most bookings one run at slot start + j can take: the
        lightest in time there that fit its capacity (served ones included)."""
        prefix = self.prefix
        return [bisect.bisect_right(prefix[start + j], c * (1 + 1e-9)) for j, c in enumerate(caps)]

    def _after(self, runs: int, scale: float = 1.0) -> list[int]:
        """Per slot k (offset from k_min): at most how many bookings `runs` more runs after a
        run at k can serve, whatever came before, with the weights scaled by `scale` ≥ 1 (see
        the docstring: the run table)."""
        if self.base_table is None:
            self.base_table = self._crude_table()
            self.table = (1.0, self.base_table, self.nodes, False)
        table_scale, table, built_at, exact = self.table
        # Building a table costs about as much as a few hundred nodes: small searches keep the
        # crude one, and a table for a lower scale stays valid (it counts more), so phase 2
        # rebuilds it only every `rebuild_every` nodes.
        if (
            scale >= table_scale
            and (scale > table_scale or not exact)
            and self.nodes - built_at >= self.rebuild_every
        ):
            table = self._run_table(scale)
            self.table = (scale, table, self.nodes, True)
            if scale == 1.0:
                self.base_table = table
            table_scale = scale
        if scale < table_scale:
            table = self.base_table
        return table[min(runs, len(table) - 1)]

    def _crude_table(self) -> list[list[int]]:
        """The run table without depletion: r runs after slot k take at most r times the most
        one run at a later slot takes with the column never eluted (F1, F2)."""
        day = self.day
        k0, k1 = day.k_min, day.k_max
        span = k1 - k0 + 1
        best_later = [0] * (span + 1)
        for a in range(span - 1, -1, -1):
            k = k0 + a
            cap = day.first_column[k] * day.cap_factor[k] * (1 + 1e-9)
            best_later[a] = max(best_later[a + 1], bisect.bisect_right(self.prefix[k], cap))
        later = best_later[1 : span + 1]
        return [[r * c for c in later] for r in range(max(1, day.max_runs))]

    def _run_table(self, scale: float) -> list[list[int]]:
        day = self.day
        k0, k1 = day.k_min, day.k_max
        span = k1 - k0 + 1
        # The shortest gap between two consecutive elutions: one grid step, the QC bench
        # (the next EOS after the last release) and, with one module, its turnaround.
        gap_us = max(day.grid_us, day.qc_us)
        if day.params.synthesis_modules == 1:
            gap_us = max(gap_us, day.syn_us + day.turn_us)
        gap = _ceil_div(gap_us, day.grid_us)
        keep = 1.0 - day.eta
        prefix, cap_factor = self.prefix, day.cap_factor
        decay, grow = day.decay_table, day.grow_table
        # counts[a][b - a - gap]: the most bookings a run at slot b can take when the previous
        # run eluted at a, the column at a being at most the one never eluted (F2).
        counts: list[list[int]] = []
        for a in range(k0, k1 + 1):
            residual = keep * day.first_column[a]
            ge = day.ge_at_slot[a]
            row = []
            for b in range(a + gap, k1 + 1):
                d = b - a
                cap = cap_factor[b] * (residual * decay[d] + ge * grow[d]) / scale
                row.append(bisect.bisect_right(prefix[b], cap * (1 + 1e-9)))
            counts.append(row)
        table = [[0] * span]
        for _ in range(1, max(1, day.max_runs)):
            before = table[-1]
            current = list(before)
            for a in range(span):
                row = counts[a]
                best = current[a]
                for offset, count in enumerate(row):
                    value = count + before[a + gap + offset]
                    if value > best:
                        best = value
                current[a] = best
            table.append(current)
        return table

    @staticmethod
    def _later_counts(counts: list[int]) -> list[int]:
        """Per slot offset j, the most bookings one run at a slot ≥ start + j can take."""
        out = [0] * (len(counts) + 1)
        for j in range(len(counts) - 1, -1, -1):
            out[j] = max(out[j + 1], counts[j])
        return out

    def _children(
        self, start: int, available: list[int], caps: list[float], mask: int, need: list[int]
    ):
        """Maximal dose sets (bookings indices) with their earliest slot where they fit;
        `mask` holds the bookings already served. A child at slot start + j with fewer than
        `need[j]` doses cannot pass the caller's bound test: it is not listed, and neither is
        a set none of whose supersets can reach the need of a slot of its range (extending a
        set only narrows its range; each booking added weighs at least the lightest after it)."""
        lo, hi, weights, by_weight = self.lo, self.hi, self.weights, self.by_weight
        out: list[tuple[tuple[int, ...], int, float]] = []
        max_doses = self.day.max_doses
        n_avail = len(available)
        # lightest[q]: the lightest weight among available[q:].
        lightest = [math.inf] * (n_avail + 1)
        for q in range(n_avail - 1, -1, -1):
            lightest[q] = min(lightest[q + 1], weights[available[q]])
        # least[a]: the smallest need over slot offsets ≥ a, at most that of a range a..b.
        least = list(need)
        for x in range(len(least) - 2, -1, -1):
            if least[x + 1] < least[x]:
                least[x] = least[x + 1]

        def most(size: int, room: float, q: int) -> int:
            """At most how many doses a set of `size` reaches with `room` left, adding
            bookings from available[q:]."""
            if size < max_doses and lightest[q] <= room:
                # Widened against float noise: a count too low would cut a valid set.
                return min(max_doses, size + int(room * (1 + 1e-9) / lightest[q]))
            return size

        def emit(subset: list[int], taken: int, total: float, first_hi: int, last_lo: int):
            k_from = max(start, last_lo)
            # F1: capacity grows with the slot, so the first slot that fits is found by bisection.
            idx = bisect.bisect_left(caps, total, lo=k_from - start, hi=first_hi - start + 1)
            if idx > first_hi - start:
                return
            k = start + idx
            if len(subset) < need[idx]:
                return
            if len(subset) < max_doses:
                # Not maximal if the lightest booking in time at k that is neither served nor
                # in the set fits: the superset at the same slot is as good. (A booking left
                # out of `available` for its weight cannot fit here either: F1.)
                room = caps[idx] - total
                for j in by_weight[k]:
                    if weights[j] > room:
                        break
                    if not (taken >> j) & 1:
                        return
            out.append((tuple(subset), k, total))

        def extend(pos: int, subset: list[int], taken: int, total, first_hi, last_lo) -> None:
            self._tick()
            emit(subset, taken, total, first_hi, last_lo)
            if len(subset) >= max_doses:
                return
            cap_limit = caps[first_hi - start]
            for q in range(pos, n_avail):
                j = available[q]
                if lo[j] > first_hi:
                    break  # sorted by injection: every later booking starts even later (F4)
                w = weights[j]
                if total + w > cap_limit:
                    continue
                reach = most(len(subset) + 1, cap_limit - total - w, q + 1)
                if least[max(start, last_lo, lo[j]) - start] > reach:
                    continue
                subset.append(j)
                extend(q + 1, subset, taken | (1 << j), total + w, first_hi, max(last_lo, lo[j]))
                subset.pop()

        for q, i in enumerate(available):
            first_hi = hi[i]
            if max(start, lo[i]) > first_hi:
                continue
            reach = most(1, caps[first_hi - start] - weights[i], q + 1)
            if least[max(start, lo[i]) - start] > reach:
                continue
            extend(q + 1, [i], mask | (1 << i), weights[i], first_hi, lo[i])
        return out

    def _child(self, node: _Node, subset, k: int, total: float, columns, start, scale) -> _Node:
        day = self.day
        column = columns[k - start]
        capacity = column * day.cap_factor[k]
        margin = capacity / total - 1.0  # the true margin, whatever scale was asked for
        mask = node.mask
        for i in subset:
            mask |= 1 << i
        return _Node(
            previous=(k, column * (1.0 - day.eta)),
            resources=node.resources.after(day, k),
            mask=mask,
            served=node.served + len(subset),
            runs=node.runs + 1,
            margin=min(node.margin, margin),
            plan=(*node.plan, (k, tuple(subset))),
        )

    def _root(self) -> _Node:
        return _Node(None, self.day.resources, 0, 0, 0, math.inf, ())

    # -- phase 1: most served, fewest runs -----------------------------------------------------

    def _record(self, node: _Node) -> None:
        best = self.best
        # The margin breaks ties: phase 2 starts from the best margin phase 1 met.
        if (node.served, -node.runs, node.margin) > (best.served, -best.runs, best.margin):
            best.served, best.runs, best.margin, best.plan = (
                node.served,
                node.runs,
                node.margin,
                node.plan,
            )

    def _hopeless(self, node: _Node, bound) -> bool:
        best = self.best
        if node.served + bound(self.day.max_runs - node.runs) > best.served:
            return False
        fewer = best.runs - node.runs - 1
        return not (fewer >= 1 and node.served + bound(fewer) >= best.served)

    def _phase1(self, node: _Node, memo: dict) -> None:
        self._tick()
        self._record(node)
        start, columns, caps, available = self._expand(node, 1.0)
        if not available:
            return
        counts = self._slot_counts(start, caps)
        if self._hopeless(node, lambda r: self._bound(start, caps, available, r, counts=counts)):
            return
        # A child of d doses at slot k passes the test below only if d, at most counts[k], plus
        # what the runs after it can serve may beat the incumbent (which only gets better).
        best, offset = self.best, start - self.k0
        fewer = best.runs - node.runs - 1
        more = self._after(self.day.max_runs - node.runs - 1)
        less = self._after(fewer - 1) if fewer >= 1 else None
        need = []
        for j, c in enumerate(counts):
            d = best.served + 1 - node.served - more[offset + j]
            if less is not None:
                d = min(d, best.served - node.served - less[offset + j])
            need.append(max(1, d) if c >= d else _NEVER)
        children = self._children(start, available, caps, node.mask, need)
        # The most doses plus what the runs after them can serve first, then the most doses,
        # the tightest fit and the earliest slot: a strong incumbent early makes the bound
        # prune more.
        children.sort(
            key=lambda c: (
                -len(c[0]) - more[c[1] - self.k0],
                -len(c[0]),
                caps[c[1] - start] - c[2],
                c[1],
                c[0],
            )
        )
        later = self._later_counts(counts)
        n_avail = len(available)
        for subset, k, total in children:
            # Cheap test before building the child: each later run takes at most the most
            # bookings one run can take at a later slot with the column grown since the last
            # elution (an elution at k only lowers it).
            per_run = later[k - start + 1] if k - start + 1 < len(later) else 0
            size = len(subset)
            if self._hopeless(
                node,
                lambda r, n=size, c=per_run, k=k: min(
                    n_avail, n + (r - 1) * c, n + self._after(r - 1)[k - self.k0]
                ),
            ):
                continue
            child = self._child(node, subset, k, total, columns, start, 1.0)
            self._record(child)
            if self._dominated(child, memo):
                continue
            self._phase1(child, memo)

    def _dominated(self, node: _Node, memo: dict, margin: float = 0.0) -> bool:
        """Whether a partial plan met before, in the same state with at least as much on the
        column, as many served, as few runs and at least `margin` (the smallest margin so far,
        where the search asks for it), can copy this one's future."""
        k, residual = node.previous
        key = (k, node.resources.key(), self.window_mask.get(k, 0) & ~node.mask)
        entries = memo.setdefault(key, [])
        for g, s, r, m in entries:
            if g >= residual and s >= node.served and r <= node.runs and m >= margin:
                return True
        entries.append((residual, node.served, node.runs, margin))
        return False

    # -- phase 2: the largest smallest margin --------------------------------------------------

    def _phase2(self, node: _Node, memo: dict) -> _Node | None:
        """Plans in slot order serving best.served with at most best.runs runs, every run with
        a margin of at least `threshold`. With `first_only` the first one is returned. Else
        each one found becomes the best and raises `threshold` to its own smallest margin plus
        MARGIN_RESOLUTION, and the search goes on: one branch and bound instead of one search
        per threshold, so what was explored under a lower threshold is not explored again."""
        self._tick()
        target, runs = self.best.served, self.best.runs
        if node.served >= target:
            if node.runs > runs:
                return None
            if self.first_only:
                return node
            self.best.margin, self.best.plan = node.margin, node.plan
            self.threshold = node.margin + MARGIN_RESOLUTION
            return None
        bookings = self.day.bookings
        while True:
            if node.runs >= runs or node.margin < self.threshold - _MARGIN_STEP:
                return None
            scale = 1.0 + self.threshold
            start, columns, caps, available = self._expand(node, scale)
            if not available:
                return None
            counts = self._slot_counts(start, caps)
            bound = self._bound(start, caps, available, runs - node.runs, scale, counts)
            if node.served + bound < target:
                return None
            # A child of d doses at slot k reaches at most d, at most counts[k], plus what the
            # runs after it can serve.
            after = self._after(runs - node.runs - 1, scale)
            offset = start - self.k0
            need = []
            for j, c in enumerate(counts):
                d = target - node.served - after[offset + j]
                need.append(max(1, d) if c >= d else _NEVER)
            children = self._children(start, available, caps, node.mask, need)
            # The roomiest run first (a plan found early raises the margin to beat), then the
            # earliest slot and the lowest booking ids: deterministic.
            children.sort(
                key=lambda c: (
                    -caps[c[1] - start] / c[2],
                    c[1],
                    [bookings[i].request.booking_id for i in c[0]],
                )
            )
            later = self._later_counts(counts)
            n_avail = len(available)
            raised = False
            for subset, k, total in children:
                # Cheap test before building the child (as in phase 1): the runs after it take
                # at most `later` bookings each.
                per_run = later[k - start + 1] if k - start + 1 < len(later) else 0
                left = runs - node.runs - 1
                reach = len(subset) + min(
                    n_avail - len(subset), left * per_run, self._after(left, scale)[k - self.k0]
                )
                if node.served + reach < target:
                    continue
                child = self._child(node, subset, k, total, columns, start, scale)
                # A partial plan explored before, under a threshold no higher than now,
                # dominates only if its runs so far have at least this one's smallest margin.
                if self._dominated(child, memo, 0.0 if self.first_only else child.margin):
                    continue
                found = self._phase2(child, memo)
                if found is not None:
                    return found
                if 1.0 + self.threshold > scale:
                    raised = True
                    break
            if not raised:
                return None
            # A plan was found below: the dose sets were maximal for the old threshold, and
            # the new one needs its own (smaller) sets. List them again; those explored already
            # are dominated by their own memo entries and skipped.

    def run(self) -> _Best:
        self.deadline = time.process_time() + self.budget_s
        # On a busy machine wall time runs ahead of CPU time: a request still returns in time.
        self.wall_deadline = time.perf_counter() + WALL_FACTOR * self.budget_s
        root = self._root()
        start, _, caps, available = self._expand(root, 1.0)
        self.root_bound = self._bound(start, caps, available, self.day.max_runs)
        try:
            self._phase1(root, {})
            self.phase1_done = True
            if self.best.runs == 0:
                return self.best
            # The search was for counts: its margin is a start, not yet the largest. Ask for
            # MARGIN_RESOLUTION more than the best found until no plan has it.
            self.threshold = self.best.margin + MARGIN_RESOLUTION
            self._phase2(self._root(), {})
            self.margin_bound = self.threshold
        except _Timeout:
            self.optimal = False
            if not self.phase1_done:
                # The depletion bound costs little next to the search that ran out: prove
                # with it what can be proven (small searches start without it).
                self.rebuild_every = 0
                bound = self._bound(start, caps, available, self.day.max_runs)
                self.root_bound = min(self.root_bound, bound)
        self._compact()
        return self.best

    def _compact(self) -> None:
        """Each run of the best plan at the earliest slot where it and the runs after it keep
        the plan's smallest margin (F1-F3): the same dose sets, elutions as early as they go."""
        day, best = self.day, self.best
        if not best.plan or best.margin == math.inf:
            return
        scale = 1.0 + best.margin
        previous, resources, plan = None, day.resources, []
        for k_found, members in best.plan:
            total = math.fsum(self.weights[i] for i in members) * scale * (1 - 1e-12)
            k_from = max(resources.earliest(day), *(self.lo[i] for i in members))
            k = k_found
            for candidate in range(k_from, k_found):
                if day.column_at(candidate, previous) * day.cap_factor[candidate] >= total:
                    k = candidate
                    break
            plan.append((k, members))
            previous = (k, day.column_at(k, previous) * (1.0 - day.eta))
            resources = resources.after(day, k)
        slots = [k for k, _ in plan]
        numbers = day.evaluate(slots)
        if numbers is None:
            return
        margins = [
            cap / math.fsum(self.weights[i] for i in members) - 1.0
            for (_, cap), (_, members) in zip(numbers, plan, strict=True)
        ]
        if min(margins) >= best.margin - 1e-9 * (1 + abs(best.margin)):
            best.plan, best.margin = tuple(plan), min(margins)


# --- Building the plan ----------------------------------------------------------------------------


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M")


def _dose(day: _Day, request: BookingRequest, eos_at: datetime) -> PlannedDose:
    lead = day.params.draw_lead_time_min
    injection_at = request.injection_at
    draw_at = (injection_at.astimezone(UTC) - timedelta(minutes=lead)).astimezone(
        injection_at.tzinfo
    )
    return PlannedDose(
        booking_id=request.booking_id,
        injection_at=injection_at,
        draw_at=draw_at,
        prescribed_activity_mbq=request.prescribed_activity_mbq,
        activity_to_draw_mbq=decay_over_minutes(request.prescribed_activity_mbq, -lead),
        activity_needed_at_eos_mbq=decay_activity(
            request.prescribed_activity_mbq, from_time=injection_at, to_time=eos_at
        ),
    )


def _build_runs(day: _Day, plan: Sequence[tuple[int, Sequence[int]]]) -> list[PlannedRun]:
    params = day.params
    numbers = day.evaluate([k for k, _ in plan]) or []
    modules = [list(m) for m in day.modules]
    runs: list[PlannedRun] = []
    previous_elution: datetime | None = None
    normal = NormalDist()
    for (k, members), (column, _) in zip(plan, numbers, strict=True):
        free = min(modules)  # the module freed first, the lowest number on a tie
        module = free[1]
        free[0] = k * day.grid_us + day.syn_us + day.turn_us
        elution_at = day.slot_time(k)
        eos_at = elution_at + timedelta(minutes=params.synthesis_duration_min)
        release_at = eos_at + timedelta(minutes=params.qc_duration_min)
        expiry_at = eos_at + timedelta(minutes=params.shelf_life_min)
        ordered = sorted(
            members, key=lambda i: (day.bookings[i].inj_us, day.bookings[i].request.booking_id)
        )
        doses = tuple(_dose(day, day.bookings[i].request, eos_at) for i in ordered)
        needed = math.fsum(d.activity_needed_at_eos_mbq for d in doses)
        eluate = expected_eluate_mbq(
            ga68_on_column_mbq=column, efficiency_percent=day.state.efficiency_percent
        )
        at_eos_unit = column * day.syn_decay  # activity at EOS per unit of yield × efficiency
        planned = at_eos_unit * day.factor_planned
        mean = at_eos_unit * day.factor_mean
        margin = planned - needed
        margin_percent = 100.0 * margin / needed if needed > 0 else math.inf
        if day.factor_sd > 0:
            probability = 1.0 - normal.cdf((needed / at_eos_unit - day.factor_mean) / day.factor_sd)
        else:
            probability = 1.0 if needed <= mean * (1 + 1e-9) else 0.0
        ge_now = decay_activity(
            day.state.ge68_activity_mbq, from_time=day.state.at, to_time=elution_at, nuclide=GE68
        )
        if previous_elution is None:
            origin = f"column state of {_hhmm(day.state.at)} grown to {_hhmm(elution_at)}"
        else:
            gap = elapsed_minutes(previous_elution, elution_at)
            origin = f"regrown for {gap:.0f} min since the {_hhmm(previous_elution)} elution"
        explanation = (
            f"Ga-68 on the column at {_hhmm(elution_at)}: {column:.1f} MBq ({origin}; "
            f"Ge-68 {ge_now:.1f} MBq).",
            f"Expected eluate: {day.state.efficiency_percent:.1f} % efficiency × {column:.1f} MBq "
            f"= {eluate:.1f} MBq; at EOS {_hhmm(eos_at)} after {params.expected_yield_percent:.1f}"
            f" % yield and {params.synthesis_duration_min:g} min: {mean:.1f} MBq on average.",
            f"Planned at {100 * params.confidence:.0f} % confidence (yield × efficiency "
            f"{100 * day.factor_planned:.1f} % instead of {100 * day.factor_mean:.1f} %): "
            f"{planned:.1f} MBq on module {module}.",
            f"{len(doses)} dose(s) need {needed:.1f} MBq at EOS (each prescription decay-corrected "
            f"back from its injection): margin {margin:.1f} MBq ({margin_percent:.0f} %), all "
            f"served with probability {100 * probability:.0f} %. Release at {_hhmm(release_at)} "
            f"after {params.qc_duration_min:g} min QC, expires {_hhmm(expiry_at)}.",
        )
        runs.append(
            PlannedRun(
                elution_at=elution_at,
                eos_at=eos_at,
                release_at=release_at,
                expiry_at=expiry_at,
                module=module,
                ge68_activity_mbq=ge_now,
                ga68_on_column_mbq=column,
                expected_eluate_mbq=eluate,
                expected_activity_at_eos_mbq=planned,
                mean_activity_at_eos_mbq=mean,
                needed_at_eos_mbq=needed,
                margin_mbq=margin,
                margin_percent=margin_percent,
                probability_all_served=probability,
                doses=doses,
                explanation=explanation,
            )
        )
        previous_elution = elution_at
    return runs


def _build_stock(day: _Day) -> list[StockUse]:
    out = []
    for index, batch in enumerate(day.stock):
        members = [b for b in day.bookings if b.stock == index]
        doses = tuple(_dose(day, b.request, batch.activity_at) for b in members)
        out.append(
            StockUse(
                batch_id=batch.batch_id,
                label=batch.label,
                available_at=batch.available_at,
                expires_at=batch.expires_at,
                activity_mbq=batch.activity_mbq,
                activity_at=batch.activity_at,
                doses=doses,
            )
        )
    return out


class _Fit:
    """The chosen plan, to test whether one more booking fits (suggestions, slots)."""

    def __init__(self, day: _Day, plan: Sequence[tuple[int, Sequence[int]]]) -> None:
        self.day = day
        self.slots = [k for k, _ in plan]
        self.counts = [len(m) for _, m in plan]
        self.loads = [math.fsum(day.bookings[i].weight for i in m) for _, m in plan]
        numbers = day.evaluate(self.slots) or []
        self.caps = [c for _, c in numbers]
        self._with: dict[int, tuple[list[int], list[tuple[float, float]] | None]] = {}

    def existing(self, inj_us: int, weight: float) -> int | None:
        """A run of the plan that can also serve a booking of `weight` injected at `inj_us`."""
        day = self.day
        for idx, k in enumerate(self.slots):
            if self._in_time(k, inj_us) and self.counts[idx] < day.max_doses:
                if self.loads[idx] + weight <= self.caps[idx]:
                    return k
        return None

    def extra(self, inj_us: int, weight: float) -> int | None:
        """A slot where one more run serves it, the others unchanged and still covered."""
        day = self.day
        if len(self.slots) >= day.max_runs:
            return None
        hi = (inj_us - day.lead_us - day.syn_us - day.qc_us) // day.grid_us
        lo = max(day.k_min, _ceil_div(inj_us - day.syn_us - day.shelf_us, day.grid_us))
        for k in range(lo, min(hi, day.k_table_max) + 1):
            if k in self.slots:
                continue
            slots, numbers = self._with_run(k)
            if numbers is None:
                continue
            ok = True
            for kk, (_, cap) in zip(slots, numbers, strict=True):
                load = weight if kk == k else self.loads[self.slots.index(kk)]
                if load > cap:
                    ok = False
                    break
            if ok:
                return k
        return None

    def _with_run(self, k: int):
        """The plan's slots with one more run at k and their numbers (None if not allowed):
        the same for every booking tried, so computed once per slot."""
        found = self._with.get(k)
        if found is None:
            slots = sorted([*self.slots, k])
            found = self._with[k] = (slots, self.day.evaluate(slots))
        return found

    def _in_time(self, k: int, inj_us: int) -> bool:
        day = self.day
        eos = k * day.grid_us + day.syn_us
        draw = inj_us - day.lead_us
        return eos + day.qc_us <= draw <= day.end_us and inj_us <= eos + day.shelf_us


def _suggest(day: _Day, fit: _Fit, booking: _Booking) -> datetime | None:
    """Earliest grid injection time at which `booking` fits next to the plan for the others."""
    request = booking.request
    first = _ceil_div(day.k_min * day.grid_us + day.syn_us + day.qc_us + day.lead_us, day.grid_us)
    last = (day.end_us + day.lead_us) // day.grid_us
    for step in range(first, last + 1):
        inj_us = step * day.grid_us
        weight = decay_over_minutes(request.prescribed_activity_mbq, -inj_us / _US_PER_MIN)
        if fit.existing(inj_us, weight) is not None or fit.extra(inj_us, weight) is not None:
            moment = day.t0 + inj_us * _ONE_US
            return moment.astimezone(request.injection_at.tzinfo)
    return None


def _reason(day: _Day, fit: _Fit, booking: _Booking) -> str:
    """A human reason why `booking` is not served."""
    params = day.params
    request = booking.request
    draw_at = request.injection_at - timedelta(minutes=params.draw_lead_time_min)
    if not booking.within_hours:
        return (
            f"draw time {_hhmm(draw_at)} is after the end of working hours "
            f"{_hhmm(params.working_end_at)}"
        )
    if booking.hi < max(day.k_min, day.resources.earliest(day)) or booking.lo > booking.hi:
        earliest = max(day.k_min, day.resources.earliest(day))
        earliest_release = day.slot_time(earliest) + timedelta(
            minutes=params.synthesis_duration_min + params.qc_duration_min
        )
        return (
            f"no run can be released before {_hhmm(draw_at)} draw time (earliest release "
            f"{_hhmm(earliest_release)})"
        )
    best_free = None
    for idx, k in enumerate(fit.slots):
        if fit._in_time(k, booking.inj_us):
            free = (fit.caps[idx] - fit.loads[idx]) / day.ref_factor[k]
            need = booking.weight / day.ref_factor[k]
            if best_free is None or free - need > best_free[0] - best_free[1]:
                best_free = (free, need)
    if len(fit.slots) >= day.max_runs:
        if best_free is None:
            return (
                f"all {params.max_syntheses} syntheses of the day are used and none is in time "
                f"for {_hhmm(request.injection_at)}"
            )
        return (
            f"not enough activity: needs {best_free[1]:.0f} MBq at EOS, the best run in time "
            f"has {max(0.0, best_free[0]):.0f} MBq left at {100 * params.confidence:.0f} % "
            f"confidence, and all {params.max_syntheses} syntheses of the day are used"
        )
    if fit.extra(booking.inj_us, booking.weight) is not None:
        return (
            "one more synthesis could serve it, but the plan that serves the most patients "
            "with the fewest syntheses leaves it out"
        )
    if best_free is not None:
        return (
            f"not enough activity: needs {best_free[1]:.0f} MBq at EOS, the best run in time "
            f"has {max(0.0, best_free[0]):.0f} MBq left at {100 * params.confidence:.0f} % "
            "confidence"
        )
    return "no synthesis in time for it fits next to the others (activity, modules, QC bench)"


def plan_day(
    *,
    generator_state: GeneratorState,
    bookings: Iterable[BookingRequest],
    params: PlanParameters,
    stock: Iterable[StockBatch] = (),
    syntheses: Iterable[Synthesis] = (),
    plan_date: date | None = None,
    generator_id: int | None = None,
) -> Plan:
    """The best plan of synthesis runs for the day's bookings (SPEC §2.7), proven optimal
    unless the CPU budget ran out (`Plan.optimal`).

    Preconditions: valid dataclasses (their constructors check), unique booking ids.
    """
    started = time.process_time()
    day = _Day(generator_state, list(bookings), params, list(stock), list(syntheses))
    search = _Search(day, params.time_budget_s)
    best = search.run()
    runs = _build_runs(day, best.plan)
    fit = _Fit(day, best.plan)
    served = {i for _, members in best.plan for i in members}
    unserved = [
        UnservedBooking(
            booking_id=b.request.booking_id,
            reason=_reason(day, fit, b),
            suggested_injection_at=_suggest(day, fit, b),
        )
        for i, b in enumerate(day.bookings)
        if i not in served and b.stock is None
    ]
    unserved.sort(key=lambda u: u.booking_id)
    stock_uses = _build_stock(day)
    from_stock = sum(len(s.doses) for s in stock_uses)
    if search.optimal:
        bound = best.served + from_stock
    else:
        bound = from_stock + (best.served if search.phase1_done else search.root_bound)
    return Plan(
        date=params.earliest_elution_at.date() if plan_date is None else plan_date,
        generator_id=generator_id,
        runs=tuple(runs),
        unserved=tuple(unserved),
        stock=tuple(stock_uses),
        optimal=search.optimal,
        bound_served=max(bound, best.served + from_stock),
        nodes=search.nodes,
        cpu_ms=1000 * (time.process_time() - started),
    )


def slots_for_new_booking(
    *,
    generator_state: GeneratorState,
    bookings: Iterable[BookingRequest],
    params: PlanParameters,
    prescribed_activity_mbq: float,
    stock: Iterable[StockBatch] = (),
    syntheses: Iterable[Synthesis] = (),
) -> tuple[list[datetime], list[datetime]]:
    """Booking assistant (SPEC §2.7): grid injection times at which a new booking of
    `prescribed_activity_mbq` is served with no extra synthesis and nobody unserved, and the
    times that need one more synthesis.

    A time is offered when the new dose fits the optimal plan as it is (a run with room, the
    stock, or one new run), or else when a search over the day with the new booking finds a plan
    that serves everyone the optimal plan serves plus the new booking with as many (or one more)
    syntheses. Such a plan serves one more than the optimum without it, so the new booking is in
    it, and no plan serves as many with fewer. The searches share the CPU budget; times not
    decided within it are not offered.
    """
    _number(prescribed_activity_mbq, "prescribed_activity_mbq", strict=True)
    stock = list(stock)
    syntheses = list(syntheses)
    requests = list(bookings)
    day = _Day(generator_state, requests, params, stock, syntheses)
    search = _Search(day, params.time_budget_s)
    best = search.run()
    deadline = (search.deadline, search.wall_deadline)
    served_total = best.served + sum(1 for b in day.bookings if b.stock is not None)
    fit = _Fit(day, best.plan)
    first = _ceil_div(day.k_min * day.grid_us + day.syn_us + day.qc_us + day.lead_us, day.grid_us)
    last = (day.end_us + day.lead_us) // day.grid_us
    same: list[datetime] = []
    more: list[datetime] = []
    zone = params.earliest_elution_at.tzinfo
    new_id = max((r.booking_id for r in requests), default=0) + 1
    searching = search.optimal  # an unproven optimum proves nothing about one more
    # The trials keep everyone the plan serves (nobody is unserved) and add the new booking.
    served_ids = {day.bookings[i].request.booking_id for _, m in best.plan for i in m} | {
        b.request.booking_id for b in day.bookings if b.stock is not None
    }
    kept = [r for r in requests if r.booking_id in served_ids]
    for step in range(first, last + 1):
        inj_us = step * day.grid_us
        weight = decay_over_minutes(prescribed_activity_mbq, -inj_us / _US_PER_MIN)
        moment = (day.t0 + inj_us * _ONE_US).astimezone(zone)
        if _stock_fits(day, inj_us, weight) or fit.existing(inj_us, weight) is not None:
            same.append(moment)
            continue
        if searching:
            new = BookingRequest(
                booking_id=new_id,
                injection_at=moment,
                prescribed_activity_mbq=prescribed_activity_mbq,
            )
            try:
                if _serves_one_more(day, [*kept, new], served_total, best.runs, deadline):
                    same.append(moment)
                    continue
            except _Timeout:
                searching = False
        if fit.extra(inj_us, weight) is not None:
            more.append(moment)
        elif searching and best.runs < day.max_runs:
            new = BookingRequest(
                booking_id=new_id,
                injection_at=moment,
                prescribed_activity_mbq=prescribed_activity_mbq,
            )
            try:
                if _serves_one_more(day, [*kept, new], served_total, best.runs + 1, deadline):
                    more.append(moment)
            except _Timeout:
                searching = False
    return same, more


def _serves_one_more(day: _Day, requests, served_total: int, runs: int, deadline) -> bool:
    """Whether the day with `requests` (the served bookings and the new one) has a plan that
    serves them all, served_total + 1, with ≤ runs runs."""
    trial = _Day(day.state, requests, day.params, day.stock, _syntheses_of(day))
    search = _Search(trial, 0.0)
    search.deadline, search.wall_deadline = deadline
    from_stock = sum(1 for b in trial.bookings if b.stock is not None)
    search.best = _Best(served=served_total + 1 - from_stock, runs=runs)
    if search.best.served <= 0:
        return True
    search.threshold, search.first_only = 0.0, True
    return search._phase2(search._root(), {}) is not None


def _syntheses_of(day: _Day) -> list[Synthesis]:
    return day.syntheses


def _stock_fits(day: _Day, inj_us: int, weight: float) -> bool:
    for index, batch in enumerate(day.stock):
        if (
            day._to_us(batch.available_at) <= inj_us - day.lead_us <= day.end_us
            and inj_us <= day._to_us(batch.expires_at)
            and weight <= day.stock_left[index]
            and sum(1 for b in day.bookings if b.stock == index) < day.max_doses
        ):
            return True
    return False
