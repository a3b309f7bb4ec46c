"""Production planner: the day's synthesis runs, exactly optimal (SPEC §2.7).

Pure Python (stdlib + `radiopharmacy.physics`), no Django: the service layer turns the database
into a `GeneratorState`, `BookingRequest`s and `PlanParameters`, calls `plan_day` and stores
`Plan.to_dict()` (the shape of SPEC §3).

Model
-----
A run elutes at a grid slot t = earliest_elution_at + k·grid (never before the column state's
`at`), takes the eluate E = η·G(t) and leaves G − E on the column; EOS = t + synthesis,
release = EOS + QC, expiry = EOS + shelf life, expected activity at EOS A = yield·E·e^(−λ·synth).
Booking b (injection i_b, prescribed p_b, draw d_b = i_b − lead) can be served by that run iff
release ≤ d_b, i_b ≤ expiry and d_b ≤ working end; it needs p_b·e^(λ(i_b − EOS)) at EOS. The
needs of a run's doses must not exceed A. Elutions are strictly increasing in time. Objective,
lexicographic: most bookings served, then fewest runs, then least waste Σ(A − Σ needs) in MBq.

Algorithm and why it is exact
-----------------------------
Notation: in "reference units" (activities decay-corrected to earliest_elution_at) booking b
weighs w_b = p_b·e^(λ i_b) whatever run serves it, and a run at slot k offers
C(k) = A(k)·e^(λ EOS_k) = y·η·G(t_k)·e^(λ t_k). A set S fits a run at k iff Σ_S w ≤ C(k).

Facts, all from the Bateman solution dG/dt = λGa·(A_Ge − G) (linear in G):
 F1. C(k) increases with k (d/dt[G·e^(λt)] = λ·A_Ge·e^(λt) > 0): a set that fits at k fits
     at every later slot of its time window.
 F2. Eluting earlier leaves more on the column for every later time: if the flow from t_e to
     t_e' is G ↦ a·G + I (a, I ≥ 0), eluting at t_e gives (1−η)(aG) + I at t_e' against
     (1−η)(aG + I) when eluting at t_e', a difference η·I ≥ 0, and the flow is monotone.
 F3. A run's own waste e^(−λ EOS)·(C(k) − Σ_S w) increases with k: its derivative has the sign
     of λ·Σ needs + y·η·e^(−λ·synth)·G'(t), and G' ≥ −λGe·G_eq, so it is positive as soon as a
     run's doses need more than λGe/λGa ≈ 1.7e-4 of its activity, which holds for any booking
     of at least 1 MBq (needs at EOS ≥ prescribed activity). `plan_day` checks this
     (`_slot_rule_exact`) and otherwise also tries every later slot.
 F4. Windows are "proper": a booking's slots are [lo_b, hi_b] with lo_b = i_b − synth − shelf
     and hi_b = i_b − lead − synth − QC, both shifted copies of i_b, so every booking's window
     has the same length and sorting by injection sorts both ends.
Hence, for any plan, given the previous elution, moving a run to the earliest slot after it
where its doses fit and are in time (i) keeps every later run feasible and at least as large
(F1, F2), (ii) keeps every later slot available, (iii) lowers waste (F3). So an optimal plan
exists where each run sits at the *earliest feasible slot of its dose set S*, and a run is
determined by S. Moreover S can be taken *maximal at that slot*: if another unserved booking b
that is in time also fits, adding b never hurts: if the rest of the plan leaves b unserved,
one more booking is served; if a later run serves b, moving it here frees that run's activity
and b's need at the earlier EOS is larger, so waste drops (the run's A is fixed by its slot).
The search is a depth-first branch and bound over runs in time order, each step choosing a
maximal set S (among the unserved bookings still in time) at its earliest slot. Pruning:
 - bound on the bookings r more runs can serve: the next run at each slot k counts the lightest
   bookings in time there that fit its actual capacity, and the runs after it are bounded by
   a table built once per day (each later run counted on its own, with the largest column the
   day allows at its slot); a completion must serve more, or as many with fewer runs, or as
   many with as many runs and less waste (each further run adds waste ≥ 0 and one run);
 - activity bound, whatever the number of runs: H(t) = G(t)·e^(λt) (the column in reference
   units) obeys dH/dt = λ·A_Ge(t)·e^(λt), whatever H is, and an elution takes η·H. So the
   runs at slots ≤ q after the last elution p offer Σ C_i = y·Σ η·H(t_i) ≤ y·H_none(q) =
   C_none(q)/η, where C_none(q) is the capacity at q with no elution since p (the `caps` of the
   node). Every booking served with hi_b ≤ q is served by a run at a slot ≤ q, so the served
   set S satisfies Σ_{b∈S, hi_b≤q} w_b ≤ C_none(q)/η for every q: a single machine with due
   dates C_none(hi_b)/η and processing times w_b, whose largest feasible set Moore-Hodgson
   finds (bookings by hi, dropping the heaviest chosen when a due date is missed). It is
   widened by 1e-9 against float noise;
 - children are tested before they are built: a child (a set S at slot k) whose completions
   cannot beat the incumbent even by the day's table future[r][k] (and the count of bookings
   still available) is dropped, and so are sets too small for that at their slot while they
   are enumerated (`_min_sizes`), unless the child could be a better plan on its own. The
   table bounds every plan after an elution at k (see above), so nothing better is lost;
 - dominance: two partial plans whose last elution is at the same slot and that leave the same
   set of still-servable bookings unserved: X dominates Y if X has ≥ column, ≤ runs, ≥ served
   and (more served, or fewer runs, or waste_X + slack·(G_X − G_Y) ≤ waste_Y), because X can
   copy Y's future and a larger column adds at most slack·ΔG of waste over Y's remaining runs
   (the difference decays and shrinks by (1 − η) at each elution). In the first pass, which
   settles only (served, runs), waste is left out of the test: X's copy of Y's future serves
   at least as many with at most as many runs.
Two passes: the first settles (served, runs) ignoring waste, so no time goes into lowering the
waste of plans that serve too few; the second restarts (memo cleared) with that plan as the
incumbent and also explores ties on (served, runs) with less waste.
Bookings whose window has closed are settled, so the key only holds bookings still in time.
Ties on (served, runs, waste rounded to 1 µMBq) go to the earliest elution slots, then to the
lowest booking ids, so the output is deterministic. `tests/scheduling` compare it with an
exhaustive search and recompute every plan with an independent checker.
"""

from __future__ import annotations

import bisect
import heapq
import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from radiopharmacy.core.errors import InputError
from radiopharmacy.physics import (
    GA68,
    GE68,
    decay_activity,
    decay_over_minutes,
    elapsed_minutes,
    equilibrium_ga68_mbq,
    expected_eluate_mbq,
    ingrowth_ga68_mbq,
    require_aware,
)

_US_PER_MIN = 60_000_000
_ONE_US = timedelta(microseconds=1)


# --- Input ----------------------------------------------------------------------------------------


def _number(value: float, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    # bool is an int subclass; True minutes is always a bug.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else "≥"
        raise InputError(f"{name} must be {relation} {minimum}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class GeneratorState:
    """The column at `at`: Ge-68, Ga-68 on the column and the efficiency estimate η.

    Preconditions: `at` aware; activities finite and ≥ 0; 0 < efficiency ≤ 100; else InputError.
    """

    at: datetime
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    efficiency_percent: float

    def __post_init__(self) -> None:
        require_aware(self.at, "generator_state.at")
        _number(self.ge68_activity_mbq, "ge68_activity_mbq")
        _number(self.ga68_on_column_mbq, "ga68_on_column_mbq")
        _number(self.efficiency_percent, "efficiency_percent", strict=True)
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


@dataclass(frozen=True, kw_only=True)
class PlanParameters:
    """Site settings for one day's plan; durations in minutes.

    Preconditions: datetimes aware; durations finite and ≥ 0; grid and shelf life > 0;
    0 < yield ≤ 100; max_runs ≥ 0; max_doses_per_run None or ≥ 1; else InputError.
    """

    earliest_elution_at: datetime
    working_end_at: datetime
    synthesis_duration_min: float = 25
    qc_duration_min: float = 25
    shelf_life_min: float = 240
    draw_lead_time_min: float = 10
    expected_yield_percent: float = 80.0
    grid_min: float = 5
    max_runs: int = 6
    max_doses_per_run: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.earliest_elution_at, "earliest_elution_at")
        require_aware(self.working_end_at, "working_end_at")
        _number(self.synthesis_duration_min, "synthesis_duration_min")
        _number(self.qc_duration_min, "qc_duration_min")
        _number(self.draw_lead_time_min, "draw_lead_time_min")
        _number(self.shelf_life_min, "shelf_life_min", strict=True)
        # Below a second the microsecond grid arithmetic stops being meaningful.
        _number(self.grid_min, "grid_min", minimum=1 / 60)
        _number(self.expected_yield_percent, "expected_yield_percent", strict=True)
        if self.expected_yield_percent > 100:
            raise InputError("expected_yield_percent must be ≤ 100")
        for name in ("max_runs", "max_doses_per_run"):
            value = getattr(self, name)
            if value is None and name == "max_doses_per_run":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_doses_per_run == 0:
            raise InputError("max_doses_per_run must be ≥ 1 (or None)")


# --- Output ---------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class PlannedDose:
    """One booking served by a run: when to draw and how much (MBq)."""

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
    """One synthesis run with its numbers and the doses it serves."""

    elution_at: datetime
    eos_at: datetime
    release_at: datetime
    expiry_at: datetime
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    expected_eluate_mbq: float
    expected_activity_at_eos_mbq: float
    wasted_activity_mbq: float
    doses: tuple[PlannedDose, ...]
    explanation: tuple[str, ...]

    def to_dict(self) -> dict:
        """SPEC §3 run shape plus `expiry_at`, eluate, waste and the explanation."""
        return {
            "elution_at": _iso(self.elution_at),
            "eos_at": _iso(self.eos_at),
            "release_at": _iso(self.release_at),
            "expected_activity_at_eos_mbq": self.expected_activity_at_eos_mbq,
            "doses": [dose.to_dict() for dose in self.doses],
            "expiry_at": _iso(self.expiry_at),
            "ga68_on_column_mbq": self.ga68_on_column_mbq,
            "expected_eluate_mbq": self.expected_eluate_mbq,
            "wasted_activity_mbq": self.wasted_activity_mbq,
            "explanation": list(self.explanation),
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
    """The day's runs (in time order) and the bookings left unserved (by booking id)."""

    date: date | None
    generator_id: int | None
    runs: tuple[PlannedRun, ...]
    unserved: tuple[UnservedBooking, ...]

    @property
    def served_count(self) -> int:
        """Number of bookings served."""
        return sum(len(run.doses) for run in self.runs)

    @property
    def wasted_activity_mbq(self) -> float:
        """Σ over runs of expected activity at EOS minus the doses' needs at EOS."""
        return math.fsum(run.wasted_activity_mbq for run in self.runs)

    def to_dict(self) -> dict:
        """The plan as JSON-ready values in the shape of SPEC §3 (datetimes ISO 8601)."""
        return {
            "date": None if self.date is None else self.date.isoformat(),
            "generator": self.generator_id,
            "runs": [run.to_dict() for run in self.runs],
            "unserved": [item.to_dict() for item in self.unserved],
            "objective": {
                "served": self.served_count,
                "runs": len(self.runs),
                "wasted_activity_mbq": self.wasted_activity_mbq,
            },
        }


# --- Preprocessing --------------------------------------------------------------------------------


def _us(minutes: float) -> int:
    return round(minutes * _US_PER_MIN)


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


@dataclass(frozen=True)
class _Booking:
    request: BookingRequest
    inj_us: int  # microseconds after earliest_elution_at; integers keep the grid arithmetic exact
    lo: int  # first slot whose run is still in date at injection
    hi: int  # last slot whose run is released by draw time
    within_hours: bool
    weight: float  # p·e^(λ i): the need in reference units, the same for every run

    @property
    def servable(self) -> bool:
        return self.within_hours and self.lo <= self.hi


class _Day:
    """Everything about the day that does not depend on the plan: slots, windows, tables."""

    def __init__(
        self,
        generator_state: GeneratorState,
        bookings: Sequence[BookingRequest],
        params: PlanParameters,
    ) -> None:
        self.state = generator_state
        self.params = params
        self.t0 = params.earliest_elution_at.astimezone(UTC)
        self.grid_us = _us(params.grid_min)
        self.syn_us = _us(params.synthesis_duration_min)
        self.qc_us = _us(params.qc_duration_min)
        self.shelf_us = _us(params.shelf_life_min)
        self.lead_us = _us(params.draw_lead_time_min)
        self.end_us = self._to_us(params.working_end_at)
        self.at_us = self._to_us(generator_state.at)
        self.k_min = max(0, _ceil_div(self.at_us, self.grid_us))
        self.eta = generator_state.efficiency_percent / 100.0
        self.yield_fraction = params.expected_yield_percent / 100.0
        # A = G · η · y · e^(−λ·synth): the factor from column to expected activity at EOS.
        self.eos_factor = (
            self.eta * self.yield_fraction * decay_over_minutes(1.0, params.synthesis_duration_min)
        )
        self.max_doses = params.max_doses_per_run or len(bookings) or 1

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
        servable = [b for b in self.bookings if b.servable]
        self.k_max = max((b.hi for b in servable), default=self.k_min - 1)
        # Tables also cover the slots after the last booking's, for suggested injection times.
        last_release_slot = (self.end_us - self.syn_us - self.qc_us) // self.grid_us
        self.k_table_max = max(self.k_max, last_release_slot)
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
        for k in range(self.k_min, self.k_table_max + 1):
            t_min = k * grid
            self.ge_at_slot[k] = decay_over_minutes(
                generator_state.ge68_activity_mbq, t_min - at_min, GE68
            )
            self.first_column[k] = ingrowth_ga68_mbq(
                ge68_at_start_mbq=generator_state.ge68_activity_mbq,
                residual_mbq=generator_state.ga68_on_column_mbq,
                minutes=t_min - at_min,
            )
            # e^(λ·EOS): converts MBq at this slot's EOS into reference units.
            self.ref_factor[k] = decay_over_minutes(1.0, -(t_min + params.synthesis_duration_min))

    def _to_us(self, value: datetime) -> int:
        return (value.astimezone(UTC) - self.t0) // _ONE_US

    def slot_time(self, k: int) -> datetime:
        """The elution time of slot k, in the zone of earliest_elution_at."""
        # Add in UTC: adding to a local time is wall-clock arithmetic and breaks across DST.
        moment = self.t0 + k * self.grid_us * _ONE_US
        return moment.astimezone(self.params.earliest_elution_at.tzinfo)

    def column_after(self, k: int, column_mbq: float) -> float:
        """Ga-68 left on the column right after eluting `column_mbq` at slot k."""
        return column_mbq * (1.0 - self.eta)

    def column_at(self, k: int, previous: tuple[int, float] | None) -> float:
        """Ga-68 on the column at slot k, given the previous elution (slot, residual) or none."""
        if previous is None:
            return self.first_column[k]
        p, residual = previous
        d = k - p
        return residual * self.decay_table[d] + self.ge_at_slot[p] * self.grow_table[d]


def _slot_rule_exact(day: _Day) -> bool:
    """Whether F3 (a run's waste grows with a later slot) is guaranteed for this day."""
    # Every run serves ≥ 1 booking, whose need at EOS is ≥ its prescription; the column never
    # exceeds the equilibrium with the day's starting Ge-68 (or the given starting column).
    lam_ratio = GE68.decay_constant_per_min / GA68.decay_constant_per_min
    column_max = max(
        equilibrium_ga68_mbq(day.state.ge68_activity_mbq), day.state.ga68_on_column_mbq
    )
    smallest = min(
        (b.request.prescribed_activity_mbq for b in day.bookings if b.servable), default=math.inf
    )
    return smallest > 2.0 * lam_ratio * column_max * day.eos_factor


# --- Search ---------------------------------------------------------------------------------------


@dataclass
class _Best:
    key: tuple | None = None
    runs: tuple[tuple[int, tuple[int, ...]], ...] = ()


def _waste_key(waste_mbq: float) -> float:
    # Round so that float noise cannot make two equal plans differ in the comparison.
    return round(waste_mbq, 6)


class _Search:
    """Depth-first branch and bound over runs in time order (see the module docstring)."""

    # The rules that only save time and that the exhaustive searches cannot check on large days
    # (activity bound, children tested before they are built, first-pass dominance without
    # waste). Tests turn them off to compare with the plain search on such days.
    fast_rules = True

    def __init__(self, day: _Day) -> None:
        self.day = day
        self.every_slot = not _slot_rule_exact(day)
        self.servable = [i for i, b in enumerate(day.bookings) if b.servable]
        self.weights = [b.weight for b in day.bookings]
        self.lo = [b.lo for b in day.bookings]
        self.hi = [b.hi for b in day.bookings]
        self.max_runs = day.params.max_runs
        k0 = day.k_min
        self.k0 = k0
        self.slots = list(range(k0, day.k_max + 1))
        # Per slot, offset by k_min: e^(λ EOS)·η·y·e^(−λ synth), column → reference capacity.
        self.cap_factor = [day.eos_factor * day.ref_factor[k] for k in self.slots]
        self.ge_slot = [day.ge_at_slot[k] for k in self.slots]
        self.first_caps = [
            day.first_column[k] * f for k, f in zip(self.slots, self.cap_factor, strict=True)
        ]
        # Bookings still in time after an elution at slot p and already eligible at p: the only
        # ones whose served/unserved status the future depends on (F4).
        self.window_mask = []
        for p in self.slots:
            mask = 0
            for i in self.servable:
                if self.lo[i] <= p < self.hi[i]:
                    mask |= 1 << i
            self.window_mask.append(mask)
        # Extra waste a larger column can cause over the remaining runs (dominance test): the
        # difference decays at least one grid step and shrinks by (1 − η) at each elution.
        eta = day.eta
        slack_unit = day.eos_factor / eta * day.decay_table[1] if len(day.decay_table) > 1 else 0
        self.slack = [slack_unit * (1 - (1 - eta) ** r) for r in range(self.max_runs + 1)]
        self._build_bound_tables()
        # F(q) = caps(q)/η, widened by 1e-9 against float noise (it only loosens the bound).
        self.activity_scale = (1.0 + 1e-9) / day.eta
        self.best = _Best()
        self.memo: dict[tuple[int, int], list[tuple[float, int, int, float]]] = {}
        self.nodes = 0

    def _capacities(self, previous: tuple[int, float] | None, start: int) -> list[float]:
        """Column at each slot from `start` on, given the previous elution (slot, residual)."""
        day = self.day
        if previous is None:
            return [day.first_column[k] for k in range(start, day.k_max + 1)]
        p, residual = previous
        ge = self.ge_slot[p - self.k0]
        span = day.k_max - p
        dec = day.decay_table[start - p : span + 1]
        grow = day.grow_table[start - p : span + 1]
        return [residual * a + ge * b for a, b in zip(dec, grow, strict=True)]

    def _build_bound_tables(self) -> None:
        """Tables for the bound on how many more bookings r more runs can serve.

        prefix[k]: running sums of the lightest bookings in time at slot k (ignoring which are
        already served), so at most bisect(prefix[k], C) bookings fit a run offering C.
        future[r][p]: most bookings r runs after an elution at p can serve, each run counted on
        its own (a booking may be counted twice: it is a bound). It takes for the column after
        the elution at p its largest possible value, (1 − η) × the column with no elution
        earlier in the day, and the Bateman flow is monotone, so it bounds every plan.
        """
        day = self.day
        self.prefix: list[list[float]] = []
        for k in self.slots:
            ws = sorted(self.weights[i] for i in self.servable if self.lo[i] <= k <= self.hi[i])
            sums = []
            total = 0.0
            for w in ws[: day.max_doses]:
                total += w
                sums.append(total)
            self.prefix.append(sums)
        n_slots = len(self.slots)
        self.future: list[list[int]] = [[0] * n_slots]
        for _ in range(self.max_runs):
            previous_layer = self.future[-1]
            layer = []
            for p in self.slots:
                residual = day.column_after(p, day.first_column[p])
                columns = self._capacities((p, residual), p + 1)
                best = 0
                for j, g in enumerate(columns):
                    idx = p + 1 - self.k0 + j
                    count = bisect.bisect_right(self.prefix[idx], g * self.cap_factor[idx])
                    count += previous_layer[idx]
                    if count > best:
                        best = count
                layer.append(best)
            self.future.append(layer)

    def run(self) -> _Best:
        # Phase 1 settles the number served and of runs, ignoring waste, so that no time is spent
        # lowering the waste of plans that serve too few. Phase 2 starts again from its best plan
        # and also explores plans that tie on both and waste less. The memo is cleared between
        # them: a state pruned in phase 1 may still have completions that waste less.
        self.minimize_waste = False
        self._visit(None, 0, 0, 0, 0.0, ())
        self.memo.clear()
        self.minimize_waste = True
        self._visit(None, 0, 0, 0, 0.0, ())
        return self.best

    def _record(self, served: int, runs: int, waste: float, plan: tuple) -> None:
        head = (-served, runs, _waste_key(waste))
        if self.best.key is not None and head > self.best.key[:3]:
            return
        slots = tuple(k for k, _ in plan)
        ids = tuple(
            tuple(sorted(self.day.bookings[i].request.booking_id for i in s)) for _, s in plan
        )
        key = (*head, slots, ids)
        if self.best.key is None or key < self.best.key:
            self.best.key = key
            self.best.runs = plan

    def _dominated(
        self, p: int, open_unserved: int, column: float, served: int, runs: int, waste: float
    ) -> bool:
        entries = self.memo.setdefault((p, open_unserved), [])
        slack = self.slack[self.max_runs - runs]
        for g, s, r, w in entries:
            if g >= column and s >= served and r <= runs:
                # Phase 1 ignores waste: X's copy of Y's future serves as many with as few runs.
                if (
                    (self.fast_rules and not self.minimize_waste)
                    or s > served
                    or r < runs
                    or w + slack * (g - column) <= waste
                ):
                    return True
        entries.append((column, served, runs, waste))
        return False

    def _prune(
        self,
        start: int,
        caps: list[float],
        available: list[int],
        served: int,
        runs: int,
        waste: float,
    ) -> bool:
        """Whether no completion of this partial plan can beat the incumbent."""
        if self.best.key is None:
            return False
        offset = start - self.k0
        # The day's lightest bookings in time at each slot, served or not: a slightly looser
        # count than the unserved ones alone, but a table look-up instead of a sort per node.
        prefix = self.prefix
        counts = [bisect.bisect_right(prefix[offset + j], c) for j, c in enumerate(caps)]

        # Activity bound (Moore-Hodgson): the bookings served with hi ≤ q weigh at most F(q).
        scale = self.activity_scale
        hi, weights = self.hi, self.weights
        heap: list[float] = []
        total = 0.0
        for j in available:
            w = weights[j]
            heapq.heappush(heap, -w)
            total += w
            if total > caps[hi[j] - start] * scale:
                total += heapq.heappop(heap)
        activity = len(heap) if self.fast_rules else len(available)

        def bound(r: int) -> int:
            layer = self.future[r - 1][offset:]
            return min(activity, max(map(operator.add, counts, layer)))

        return self._hopeless(served, runs, waste, bound)

    def _hopeless(self, served: int, runs: int, waste: float, bound) -> bool:
        """Whether no completion can beat the incumbent, `bound(r)` bounding r more runs."""
        best_served, best_runs, best_waste = -self.best.key[0], self.best.key[1], self.best.key[2]
        # A completion beats the incumbent by serving more, or as many with fewer runs, or as
        # many with as many runs and less waste (every further run adds waste ≥ 0).
        if served + bound(self.max_runs - runs) > best_served:
            return False
        fewer = best_runs - runs - 1
        if fewer >= 1 and served + bound(fewer) >= best_served:
            return False
        same = best_runs - runs
        if (
            self.minimize_waste
            and same >= 1
            and _waste_key(waste) < best_waste
            and served + bound(same) >= best_served
        ):
            return False
        return True

    def _visit(
        self,
        previous: tuple[int, float] | None,
        served_mask: int,
        served: int,
        runs: int,
        waste: float,
        plan: tuple,
    ) -> None:
        self.nodes += 1
        day = self.day
        self._record(served, runs, waste, plan)
        if runs >= self.max_runs:
            return
        start = day.k_min if previous is None else previous[0] + 1
        if start > day.k_max:
            return
        columns = self._capacities(previous, start)
        offset = start - self.k0
        caps = [g * f for g, f in zip(columns, self.cap_factor[offset:], strict=True)]
        hi, weights = self.hi, self.weights
        available = [
            i
            for i in self.servable
            if not (served_mask >> i) & 1 and hi[i] >= start and weights[i] <= caps[hi[i] - start]
        ]
        if not available:
            return
        if self._prune(start, caps, available, served, runs, waste):
            return
        children = self._children(
            start, available, caps, self._min_sizes(start, caps, available, served, runs)
        )
        ref = day.ref_factor
        # Most doses first, then the tightest fit, then the earliest slot: a strong incumbent
        # early makes the bound prune more.
        children.sort(
            key=lambda c: (-len(c[0]), (caps[c[1] - start] - c[2]) / ref[c[1]], c[1], c[0])
        )
        last = runs + 1 >= self.max_runs
        future = self.future
        n_available = len(available)
        for subset, k, total_weight in children:
            child_served = served + len(subset)
            child_waste = waste + (caps[k - start] - total_weight) / ref[k]
            child_plan = (*plan, (k, subset))
            if last:
                self._record(child_served, runs + 1, child_waste, child_plan)
                continue
            # Cheap test before building the child: the day's table for the runs after it.
            self._record(child_served, runs + 1, child_waste, child_plan)
            layer_k = k - self.k0
            n_left = n_available - len(subset)
            if self.fast_rules and self._hopeless(
                child_served,
                runs + 1,
                child_waste,
                lambda r, o=layer_k, n=n_left: min(n, future[r][o]),
            ):
                continue
            column = columns[k - start]
            residual = day.column_after(k, column)
            child_mask = served_mask
            for i in subset:
                child_mask |= 1 << i
            open_unserved = self.window_mask[k - self.k0] & ~child_mask
            if self._dominated(k, open_unserved, residual, child_served, runs + 1, child_waste):
                continue
            self._visit((k, residual), child_mask, child_served, runs + 1, child_waste, child_plan)

    def _min_sizes(
        self, start: int, caps: list[float], available: list[int], served: int, runs: int
    ) -> list[int]:
        """Per slot from `start`, the fewest doses a next run there needs to be worth a child.

        A child with fewer is `_hopeless` by the day's table (its waste test left aside, which
        only keeps more children) and cannot be a better plan on its own either.
        """
        n = len(caps)
        if self.best.key is None or not self.fast_rules:
            return [1] * n
        best_served, best_runs = -self.best.key[0], self.best.key[1]
        gap = best_served - served
        reach = served + len(available)  # at most every available booking is served
        after = runs + 1
        rows = []
        left = self.max_runs - after
        if left >= 0 and reach > best_served:
            rows.append((self.future[left], 1))
        fewer = best_runs - after - 1
        if fewer >= 1 and reach >= best_served:
            rows.append((self.future[fewer], 0))
        same = best_runs - after
        if self.minimize_waste and same >= 1 and reach >= best_served:
            rows.append((self.future[same], 0))
        offset = start - self.k0
        out = []
        for j in range(n):
            need = gap  # as many as the incumbent: maybe a better plan by itself
            for layer, strict in rows:
                need = min(need, gap - layer[offset + j] + strict)
            out.append(max(1, need))
        return out

    def _children(
        self, start: int, available: list[int], caps: list[float], min_sizes: list[int]
    ) -> list[tuple[tuple[int, ...], int, float]]:
        """Maximal dose sets with their earliest feasible slot (all later slots if needed).

        Sets smaller than `min_sizes` at their slot are left out (not worth a child).
        """
        lo, hi, weights = self.lo, self.hi, self.weights
        out: list[tuple[tuple[int, ...], int, float]] = []
        max_doses = self.day.max_doses
        n_avail = len(available)
        every_slot = self.every_slot

        def emit(subset: list[int], total: float, first_hi: int, last_lo: int) -> None:
            k_from = max(start, last_lo)
            # F1: capacity grows with the slot, so the first slot that fits is found by bisection.
            idx = bisect.bisect_left(caps, total, lo=k_from - start, hi=first_hi - start + 1)
            if idx > first_hi - start:
                return
            if len(subset) < min_sizes[idx] and not every_slot:
                return
            k = start + idx
            # With every slot tried (F3 not guaranteed), maximality at the earliest slot says
            # nothing about later slots: keep every feasible set.
            if len(subset) < max_doses and not every_slot:
                room = caps[idx] - total
                for j in available:
                    if lo[j] > k:
                        break
                    if k <= hi[j] and weights[j] <= room and j not in subset:
                        return  # not maximal: the superset at the same slot dominates
            out.append((tuple(subset), k, total))
            if every_slot:
                for later in range(k + 1, first_hi + 1):
                    out.append((tuple(subset), later, total))

        def extend(pos: int, subset: list[int], total: float, first_hi: int, last_lo: int) -> None:
            emit(subset, total, first_hi, last_lo)
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
                subset.append(j)
                extend(q + 1, subset, total + w, first_hi, max(last_lo, lo[j]))
                subset.pop()

        for q, i in enumerate(available):
            first_hi = hi[i]
            if max(start, lo[i]) > first_hi:
                continue
            extend(q + 1, [i], weights[i], first_hi, lo[i])
        return out


# --- Building the plan ----------------------------------------------------------------------------


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M")


def _run_numbers(
    day: _Day, runs: Sequence[tuple[int, Sequence[int]]]
) -> list[tuple[int, float, float, float]]:
    """Per run (slot, column before elution, eluate, expected activity at EOS), from physics."""
    out = []
    previous: tuple[datetime, float, float] | None = None  # elution time, residual, Ge-68
    state = day.state
    for k, _ in runs:
        at = day.slot_time(k)
        if previous is None:
            column = ingrowth_ga68_mbq(
                ge68_at_start_mbq=state.ge68_activity_mbq,
                residual_mbq=state.ga68_on_column_mbq,
                minutes=elapsed_minutes(state.at, at),
            )
        else:
            then, residual, ge_then = previous
            column = ingrowth_ga68_mbq(
                ge68_at_start_mbq=ge_then, residual_mbq=residual, minutes=elapsed_minutes(then, at)
            )
        eluate = expected_eluate_mbq(
            ga68_on_column_mbq=column, efficiency_percent=state.efficiency_percent
        )
        at_eos = decay_over_minutes(eluate * day.yield_fraction, day.params.synthesis_duration_min)
        ge_now = decay_activity(
            state.ge68_activity_mbq, from_time=state.at, to_time=at, nuclide=GE68
        )
        out.append((k, column, eluate, at_eos))
        previous = (at, max(0.0, column - eluate), ge_now)
    return out


def _build_run(
    day: _Day,
    k: int,
    column: float,
    eluate: float,
    at_eos: float,
    members: Sequence[int],
    previous_elution: datetime | None,
) -> PlannedRun:
    params = day.params
    elution_at = day.slot_time(k)
    eos_at = elution_at + timedelta(minutes=params.synthesis_duration_min)
    release_at = eos_at + timedelta(minutes=params.qc_duration_min)
    expiry_at = eos_at + timedelta(minutes=params.shelf_life_min)
    doses = []
    for i in sorted(
        members, key=lambda i: (day.bookings[i].inj_us, day.bookings[i].request.booking_id)
    ):
        request = day.bookings[i].request
        injection_at = request.injection_at
        draw_at = injection_at.astimezone(UTC) - timedelta(minutes=params.draw_lead_time_min)
        draw_at = draw_at.astimezone(injection_at.tzinfo)
        doses.append(
            PlannedDose(
                booking_id=request.booking_id,
                injection_at=injection_at,
                draw_at=draw_at,
                prescribed_activity_mbq=request.prescribed_activity_mbq,
                activity_to_draw_mbq=decay_over_minutes(
                    request.prescribed_activity_mbq, -params.draw_lead_time_min
                ),
                activity_needed_at_eos_mbq=decay_activity(
                    request.prescribed_activity_mbq, from_time=injection_at, to_time=eos_at
                ),
            )
        )
    needed = math.fsum(d.activity_needed_at_eos_mbq for d in doses)
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
        f"= {eluate:.1f} MBq.",
        f"Expected at EOS {_hhmm(eos_at)}: {params.expected_yield_percent:.1f} % yield × "
        f"{eluate:.1f} MBq, decayed {params.synthesis_duration_min:g} min = {at_eos:.1f} MBq.",
        f"{len(doses)} dose(s) need {needed:.1f} MBq at EOS (each prescription decay-corrected "
        f"back from its injection); {at_eos - needed:.1f} MBq unused. Release at "
        f"{_hhmm(release_at)} after {params.qc_duration_min:g} min QC, expires "
        f"{_hhmm(expiry_at)}.",
    )
    return PlannedRun(
        elution_at=elution_at,
        eos_at=eos_at,
        release_at=release_at,
        expiry_at=expiry_at,
        ge68_activity_mbq=ge_now,
        ga68_on_column_mbq=column,
        expected_eluate_mbq=eluate,
        expected_activity_at_eos_mbq=at_eos,
        wasted_activity_mbq=at_eos - needed,
        doses=tuple(doses),
        explanation=explanation,
    )


class _Others:
    """The chosen plan as (slot, reference-unit load) per run, to test one more booking."""

    def __init__(self, day: _Day, runs: Sequence[tuple[int, Sequence[int]]]) -> None:
        self.day = day
        self.slots = [k for k, _ in runs]
        self.loads = [math.fsum(day.bookings[i].weight for i in members) for _, members in runs]

    def capacities(self, slots: Sequence[int]) -> list[float]:
        """Reference-unit capacity of runs eluting at `slots` (increasing) in this order."""
        day = self.day
        out = []
        previous = None
        for k in slots:
            g = day.column_at(k, previous)
            out.append(g * day.eos_factor * day.ref_factor[k])
            previous = (k, day.column_after(k, g))
        return out

    def fits(self, k: int, weight: float) -> bool:
        """Whether a booking of `weight` can go to a run at slot k, others kept as they are."""
        day = self.day
        if k in self.slots:
            idx = self.slots.index(k)
            return self.loads[idx] + weight <= self.capacities(self.slots)[idx]
        if len(self.slots) >= day.params.max_runs:
            return False
        slots = sorted([*self.slots, k])
        caps = self.capacities(slots)
        for kk, cap in zip(slots, caps, strict=True):
            load = weight if kk == k else self.loads[self.slots.index(kk)]
            if load > cap:
                return False
        return True


def _suggest(day: _Day, others: _Others, runs, booking: _Booking) -> datetime | None:
    """Earliest grid injection time at which `booking` fits next to the plan for the others."""
    request = booking.request
    counts = {k: len(members) for k, members in runs}
    for k in range(day.k_min, day.k_table_max + 1):
        # The earliest injection a run at slot k allows is release + lead, up to the grid; it
        # is also the cheapest (the need grows with the injection time), so it is the one to try.
        inj_us = k * day.grid_us + day.syn_us + day.qc_us + day.lead_us
        inj_us = _ceil_div(inj_us, day.grid_us) * day.grid_us
        if inj_us - day.lead_us > day.end_us:
            break
        if inj_us > k * day.grid_us + day.syn_us + day.shelf_us:
            continue
        if counts.get(k, 0) >= day.max_doses:
            continue
        weight = decay_over_minutes(request.prescribed_activity_mbq, -inj_us / _US_PER_MIN)
        if others.fits(k, weight):
            # Slots are in time order and so are their earliest injections: the first is best.
            moment = day.t0 + inj_us * _ONE_US
            return moment.astimezone(request.injection_at.tzinfo)
    return None


def _reason(day: _Day, others: _Others, runs, booking: _Booking) -> str:
    """A human reason why `booking` is not served."""
    params = day.params
    request = booking.request
    draw_at = request.injection_at - timedelta(minutes=params.draw_lead_time_min)
    if not booking.within_hours:
        return (
            f"draw time {_hhmm(draw_at)} is after the end of working hours "
            f"{_hhmm(params.working_end_at)}"
        )
    if booking.hi < day.k_min:
        earliest_release = day.slot_time(day.k_min) + timedelta(
            minutes=params.synthesis_duration_min + params.qc_duration_min
        )
        return (
            f"no run can be released before {_hhmm(draw_at)} draw time (earliest release "
            f"{_hhmm(earliest_release)})"
        )
    need_here: dict[int, float] = {}  # need at EOS of a run at slot k, MBq
    offers: list[tuple[float, int, bool]] = []  # (MBq free at EOS, slot, new run?)
    caps = others.capacities(others.slots)
    for idx, (k, members) in enumerate(runs):
        if booking.lo <= k <= booking.hi and len(members) < day.max_doses:
            free = (caps[idx] - others.loads[idx]) / day.ref_factor[k]
            offers.append((free, k, False))
            need_here[k] = booking.weight / day.ref_factor[k]
    if len(runs) < params.max_runs:
        for k in range(booking.lo, booking.hi + 1):
            if k in others.slots:
                continue
            slots = sorted([*others.slots, k])
            offer = others.capacities(slots)[slots.index(k)] / day.ref_factor[k]
            offers.append((offer, k, True))
            need_here[k] = booking.weight / day.ref_factor[k]
    if not offers:
        if len(runs) >= params.max_runs:
            return (
                f"no run in time for {_hhmm(request.injection_at)} has room and all "
                f"{params.max_runs} runs are used"
            )
        return f"the runs in time for {_hhmm(request.injection_at)} are full"
    # The offer closest to covering the need, then the earliest slot.
    free, k, new = max(offers, key=lambda o: (o[0] - need_here[o[1]], -o[1]))
    need = need_here[k]
    if free >= need and new:
        return (
            f"a run at {_hhmm(day.slot_time(k))} could serve it ({need:.0f} MBq needed at EOS, "
            f"{free:.0f} MBq offered) but would take activity the other runs need, and they "
            "serve more patients"
        )
    return (
        f"not enough activity: needs {need:.0f} MBq at EOS, best run offers "
        f"{max(0.0, free):.0f} MBq"
    )


def plan_day(
    *,
    generator_state: GeneratorState,
    bookings: Iterable[BookingRequest],
    params: PlanParameters,
    plan_date: date | None = None,
    generator_id: int | None = None,
) -> Plan:
    """The optimal plan of synthesis runs for the day's bookings (SPEC §2.7).

    Preconditions: valid dataclasses (their constructors check), unique booking ids.
    """
    requests = list(bookings)
    day = _Day(generator_state, requests, params)
    best = _Search(day).run()
    numbers = _run_numbers(day, best.runs)
    runs = []
    previous_elution = None
    for (k, column, eluate, at_eos), (_, members) in zip(numbers, best.runs, strict=True):
        run = _build_run(day, k, column, eluate, at_eos, members, previous_elution)
        runs.append(run)
        previous_elution = run.elution_at
    served = {i for _, members in best.runs for i in members}
    others = _Others(day, best.runs)
    unserved = []
    for i, booking in enumerate(day.bookings):
        if i in served:
            continue
        unserved.append(
            UnservedBooking(
                booking_id=booking.request.booking_id,
                reason=_reason(day, others, best.runs, booking),
                suggested_injection_at=_suggest(day, others, best.runs, booking),
            )
        )
    unserved.sort(key=lambda u: u.booking_id)
    if plan_date is None:
        plan_date = params.earliest_elution_at.date()
    return Plan(
        date=plan_date,
        generator_id=generator_id,
        runs=tuple(runs),
        unserved=tuple(unserved),
    )
