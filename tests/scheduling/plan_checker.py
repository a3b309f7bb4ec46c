"""Independent checker and exhaustive search for production plans (tests and bench only).

Independent on purpose: its decay and ingrowth formulas are written out here from SPEC §2.1-2.2
and not imported from `radiopharmacy.physics`, and it shares no code with the planner, so a bug
in either shows up as a disagreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# SPEC §2.1 (NNDC): Ga-68 67.71 min, Ge-68 270.95 d.
LAMBDA_GA_PER_MIN = math.log(2) / 67.71
LAMBDA_GE_PER_MIN = math.log(2) / (270.95 * 24 * 60)
REL_TOL = 1e-9


def _minutes(start: datetime, end: datetime) -> float:
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 60.0


def ga_decay(activity_mbq: float, minutes: float) -> float:
    """Ga-68 activity `minutes` later (negative: earlier)."""
    return activity_mbq * math.exp(-LAMBDA_GA_PER_MIN * minutes)


def ge_decay(activity_mbq: float, minutes: float) -> float:
    """Ge-68 activity `minutes` later."""
    return activity_mbq * math.exp(-LAMBDA_GE_PER_MIN * minutes)


def column_after(*, ge_start_mbq: float, residual_mbq: float, minutes: float) -> float:
    """Bateman: Ga-68 on the column `minutes` after a state (Ge-68, Ga-68 residual)."""
    lga, lge = LAMBDA_GA_PER_MIN, LAMBDA_GE_PER_MIN
    return residual_mbq * math.exp(-lga * minutes) + ge_start_mbq * lga / (lga - lge) * (
        math.exp(-lge * minutes) - math.exp(-lga * minutes)
    )


def _close(a: float, b: float, what: str, errors: list[str]) -> None:
    if not math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9):
        errors.append(f"{what}: plan says {a!r}, checker computes {b!r}")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise AssertionError(f"datetime without offset: {value}")
    return parsed


# --- The day as the checker sees it ---------------------------------------------------------------


class Day:
    """Slots, eligibility and activities of one day, computed by the checker's own formulas."""

    def __init__(self, *, state, bookings, params) -> None:
        self.state = state
        self.params = params
        self.bookings = {b.booking_id: b for b in bookings}
        self.t0 = params.earliest_elution_at.astimezone(UTC)
        self.grid = timedelta(minutes=params.grid_min)
        self.syn = timedelta(minutes=params.synthesis_duration_min)
        self.qc = timedelta(minutes=params.qc_duration_min)
        self.shelf = timedelta(minutes=params.shelf_life_min)
        self.lead = timedelta(minutes=params.draw_lead_time_min)
        self.eta = state.efficiency_percent / 100.0
        self.y = params.expected_yield_percent / 100.0
        self.end = params.working_end_at.astimezone(UTC)
        self.k_min = 0
        while self.slot(self.k_min) < state.at.astimezone(UTC):
            self.k_min += 1
        # The last slot whose run could still be released before the end of working hours.
        self.k_last = self.k_min
        while self.slot(self.k_last + 1) + self.syn + self.qc <= self.end:
            self.k_last += 1
        self.slots = list(range(self.k_min, self.k_last + 1))

    def slot(self, k: int) -> datetime:
        return self.t0 + k * self.grid

    def eligible(self, booking, k: int, injection_at: datetime | None = None) -> bool:
        """Timing of SPEC §2.7: release ≤ draw ≤ working end, injection ≤ expiry."""
        inj = (injection_at or booking.injection_at).astimezone(UTC)
        eos = self.slot(k) + self.syn
        draw = inj - self.lead
        return eos + self.qc <= draw and inj <= eos + self.shelf and draw <= self.end

    def need_at_eos(self, booking, k: int, injection_at: datetime | None = None) -> float:
        inj = injection_at or booking.injection_at
        eos = self.slot(k) + self.syn
        return ga_decay(booking.prescribed_activity_mbq, -_minutes(eos, inj))

    def activities(self, slots) -> list[tuple[float, float]]:
        """(column before elution, expected activity at EOS) for runs at increasing `slots`."""
        out = []
        last_at = self.state.at
        ge = self.state.ge68_activity_mbq
        residual = self.state.ga68_on_column_mbq
        for k in slots:
            at = self.slot(k)
            minutes = _minutes(last_at, at)
            column = column_after(ge_start_mbq=ge, residual_mbq=residual, minutes=minutes)
            eluate = self.eta * column
            out.append((column, self.y * ga_decay(eluate, self.params.synthesis_duration_min)))
            ge = ge_decay(ge, minutes)
            residual = column - eluate
            last_at = at
        return out


# --- Plan checker ---------------------------------------------------------------------------------

RUN_KEYS = {"elution_at", "eos_at", "release_at", "expected_activity_at_eos_mbq", "doses"}
DOSE_KEYS = {"booking", "draw_at", "activity_to_draw_mbq", "activity_needed_at_eos_mbq"}
UNSERVED_KEYS = {"booking", "reason", "suggested_injection_at"}


def check_plan(plan: dict, *, state, bookings, params) -> list[str]:
    """Every disagreement between `plan` (SPEC §3 dict) and the rules, as messages; [] if none."""
    errors: list[str] = []
    day = Day(state=state, bookings=bookings, params=params)
    for key in ("date", "generator", "runs", "unserved"):
        if key not in plan:
            errors.append(f"plan has no {key!r}")
    if errors:
        return errors
    seen: list[int] = []
    slots: list[int] = []
    runs = plan["runs"]
    if len(runs) > params.max_runs:
        errors.append(f"{len(runs)} runs > max_runs {params.max_runs}")
    for r, run in enumerate(runs):
        if not RUN_KEYS <= run.keys():
            errors.append(f"run {r} lacks {sorted(RUN_KEYS - run.keys())}")
            continue
        for d in run["doses"]:
            if not DOSE_KEYS <= d.keys():
                errors.append(f"dose of run {r} lacks {sorted(DOSE_KEYS - d.keys())}")
        elution = _parse(run["elution_at"]).astimezone(UTC)
        steps = (elution - day.t0) / day.grid
        k = round(steps)
        if abs(steps - k) > 1e-9 or k < 0:
            errors.append(f"run {r} elutes off the grid at {elution}")
        if elution < state.at.astimezone(UTC):
            errors.append(f"run {r} elutes before the column state time")
        if slots and k <= slots[-1]:
            errors.append(f"run {r} does not elute after the previous run")
        slots.append(k)
        eos = _parse(run["eos_at"]).astimezone(UTC)
        release = _parse(run["release_at"]).astimezone(UTC)
        if eos != elution + day.syn:
            errors.append(f"run {r}: EOS {eos} is not elution + synthesis")
        if release != eos + day.qc:
            errors.append(f"run {r}: release {release} is not EOS + QC")
        if "expiry_at" in run and _parse(run["expiry_at"]).astimezone(UTC) != eos + day.shelf:
            errors.append(f"run {r}: expiry is not EOS + shelf life")
        if params.max_doses_per_run is not None and len(run["doses"]) > params.max_doses_per_run:
            errors.append(f"run {r} has more than {params.max_doses_per_run} doses")
    if errors:
        return errors
    activities = day.activities(slots)
    for r, (run, k, (column, at_eos)) in enumerate(zip(runs, slots, activities, strict=True)):
        _close(run["expected_activity_at_eos_mbq"], at_eos, f"run {r} activity at EOS", errors)
        if "ga68_on_column_mbq" in run:
            _close(run["ga68_on_column_mbq"], column, f"run {r} column", errors)
        eos = day.slot(k) + day.syn
        needs = []
        for d in run["doses"]:
            booking = day.bookings.get(d["booking"])
            if booking is None:
                errors.append(f"run {r} serves unknown booking {d['booking']}")
                continue
            seen.append(booking.booking_id)
            inj = booking.injection_at.astimezone(UTC)
            draw = _parse(d["draw_at"]).astimezone(UTC)
            if draw != inj - day.lead:
                errors.append(f"booking {booking.booking_id}: draw is not injection − lead time")
            if not eos + day.qc <= draw:
                errors.append(f"booking {booking.booking_id}: drawn before release")
            if not inj <= eos + day.shelf:
                errors.append(f"booking {booking.booking_id}: injected after expiry")
            if not draw <= day.end:
                errors.append(f"booking {booking.booking_id}: drawn after working hours")
            need = day.need_at_eos(booking, k)
            needs.append(need)
            _close(
                d["activity_needed_at_eos_mbq"], need, f"booking {booking.booking_id} need", errors
            )
            to_draw = ga_decay(booking.prescribed_activity_mbq, -params.draw_lead_time_min)
            _close(d["activity_to_draw_mbq"], to_draw, f"booking {booking.booking_id} draw", errors)
        if math.fsum(needs) > at_eos * (1 + REL_TOL):
            errors.append(f"run {r}: doses need {math.fsum(needs)} > {at_eos} MBq at EOS")
    for u in plan["unserved"]:
        if not UNSERVED_KEYS <= u.keys():
            errors.append(f"unserved entry lacks {sorted(UNSERVED_KEYS - u.keys())}")
            continue
        seen.append(u["booking"])
        if not u["reason"]:
            errors.append(f"booking {u['booking']} unserved without a reason")
        if u["suggested_injection_at"] is not None:
            suggested = _parse(u["suggested_injection_at"])
            steps = (suggested.astimezone(UTC) - day.t0) / day.grid
            if abs(steps - round(steps)) > 1e-9:
                errors.append(f"booking {u['booking']}: suggestion off the grid")
            booking = day.bookings[u["booking"]]
            if not suggestion_works(day, slots, runs, booking, suggested):
                errors.append(f"booking {u['booking']}: suggested {suggested} does not work")
    if sorted(seen) != sorted(day.bookings):
        errors.append(f"bookings served or unserved {sorted(seen)} != {sorted(day.bookings)}")
    return errors


def suggestion_works(day: Day, slots, runs, booking, injection_at: datetime) -> bool:
    """Whether `booking` moved to `injection_at` fits into the plan, the other doses unchanged."""
    loads = {
        k: [day.need_at_eos(day.bookings[d["booking"]], k) for d in run["doses"]]
        for k, run in zip(slots, runs, strict=True)
    }
    limit = day.params.max_doses_per_run
    candidates = [k for k in day.slots if day.eligible(booking, k, injection_at)]
    for k in candidates:
        if k in loads:
            if limit is not None and len(loads[k]) >= limit:
                continue
            trial_slots = slots
        else:
            if len(slots) >= day.params.max_runs:
                continue
            trial_slots = sorted([*slots, k])
        acts = day.activities(trial_slots)
        ok = True
        for kk, (_, at_eos) in zip(trial_slots, acts, strict=True):
            total = math.fsum(loads.get(kk, []))
            if kk == k:
                total += day.need_at_eos(booking, k, injection_at)
            if total > at_eos * (1 + REL_TOL):
                ok = False
                break
        if ok:
            return True
    return False


def assert_valid(plan: dict, *, state, bookings, params) -> None:
    """Raise AssertionError listing every problem `check_plan` finds."""
    errors = check_plan(plan, state=state, bookings=bookings, params=params)
    assert not errors, "\n".join(errors)


# --- Exhaustive search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Optimum:
    """Best (served, runs, waste) and one plan reaching it: ((slot, booking ids), ...)."""

    served: int
    runs: int
    waste_mbq: float
    plan: tuple[tuple[int, tuple[int, ...]], ...]


def _better(a: tuple[int, int, float], b: tuple[int, int, float] | None) -> bool:
    if b is None:
        return True
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[1] != b[1]:
        return a[1] < b[1]
    return a[2] < b[2] - 1e-9


def exhaustive_optimum(*, state, bookings, params) -> Optimum:
    """Best plan over every ordered assignment of bookings to runs (up to max_runs).

    Each run of an assignment elutes at the earliest slot after the previous run where its
    bookings are in time and fit. That loses no optimum: for a fixed sequence of dose sets,
    eluting a run earlier (i) leaves more Ga-68 for every later time, since with the affine
    Bateman flow G ↦ aG + I, eluting before the flow gives (1−η)aG + I and after it
    (1−η)(aG + I), η·I less; (ii) frees every later slot; (iii) wastes less, since the run's
    activity decay-corrected to a fixed time grows with the ingrowth while the needs, so
    corrected, do not. `exhaustive_all_slots` checks this on small days with every slot.
    """
    day = Day(state=state, bookings=bookings, params=params)
    ids = sorted(day.bookings, key=lambda i: (day.bookings[i].injection_at, i))
    n = len(ids)
    elig = {i: [k for k in day.slots if day.eligible(day.bookings[i], k)] for i in ids}
    best: list = [None, ()]
    limit = params.max_doses_per_run or n

    def visit(last_at, ge, residual, prev_k, remaining, value, plan):
        if _better(value, best[0]) or best[0] is None:
            best[0], best[1] = value, plan
        if value[1] >= params.max_runs:
            return
        rem = [i for i in ids if remaining >> ids.index(i) & 1]
        # Every non-empty subset of the remaining bookings (by bitmask).
        m = len(rem)
        for mask in range(1, 1 << m):
            subset = [rem[j] for j in range(m) if mask >> j & 1]
            if len(subset) > limit:
                continue
            common = set(elig[subset[0]])
            for i in subset[1:]:
                common &= set(elig[i])
            for k in sorted(c for c in common if c > prev_k):
                at = day.slot(k)
                minutes = _minutes(last_at, at)
                column = column_after(ge_start_mbq=ge, residual_mbq=residual, minutes=minutes)
                at_eos = day.y * ga_decay(day.eta * column, params.synthesis_duration_min)
                need = math.fsum(day.need_at_eos(day.bookings[i], k) for i in subset)
                if need <= at_eos:
                    new_remaining = remaining
                    for i in subset:
                        new_remaining &= ~(1 << ids.index(i))
                    visit(
                        at,
                        ge_decay(ge, minutes),
                        column * (1 - day.eta),
                        k,
                        new_remaining,
                        (value[0] + len(subset), value[1] + 1, value[2] + at_eos - need),
                        (*plan, (k, tuple(sorted(subset)))),
                    )
                    break  # the earliest feasible slot (see the docstring)

    visit(
        state.at,
        state.ge68_activity_mbq,
        state.ga68_on_column_mbq,
        -1,
        (1 << n) - 1,
        (0, 0, 0.0),
        (),
    )
    value, plan = best
    return Optimum(served=value[0], runs=value[1], waste_mbq=value[2], plan=plan)


def exhaustive_all_slots(*, state, bookings, params) -> Optimum:
    """Best plan over every increasing tuple of slots and every assignment (tiny days only)."""
    day = Day(state=state, bookings=bookings, params=params)
    ids = sorted(day.bookings)
    limit = params.max_doses_per_run or len(ids)
    best: list = [None, ()]

    def slot_tuples(start, count):
        if count == 0:
            yield ()
            return
        for k in range(start, day.k_last + 1):
            for rest in slot_tuples(k + 1, count - 1):
                yield (k, *rest)

    for count in range(params.max_runs + 1):
        for slots in slot_tuples(day.k_min, count):
            acts = [a for _, a in day.activities(slots)]
            options = [
                [r for r, k in enumerate(slots) if day.eligible(day.bookings[i], k)] for i in ids
            ]

            def assign(
                j, loads, counts, value_served, chosen, slots=slots, acts=acts, opts=options
            ):
                if j == len(ids):
                    if any(c == 0 for c in counts):
                        return  # an empty run is never better than leaving it out
                    waste = math.fsum(a - math.fsum(ld) for a, ld in zip(acts, loads, strict=True))
                    value = (value_served, len(slots), waste)
                    if _better(value, best[0]):
                        plan = tuple(
                            (k, tuple(sorted(i for i, r2 in chosen if r2 == r)))
                            for r, k in enumerate(slots)
                        )
                        best[0], best[1] = value, plan
                    return
                assign(j + 1, loads, counts, value_served, chosen)
                booking = day.bookings[ids[j]]
                for r in opts[j]:
                    need = day.need_at_eos(booking, slots[r])
                    if math.fsum(loads[r]) + need <= acts[r] and counts[r] < limit:
                        loads[r].append(need)
                        counts[r] += 1
                        assign(j + 1, loads, counts, value_served + 1, [*chosen, (ids[j], r)])
                        loads[r].pop()
                        counts[r] -= 1

            assign(0, [[] for _ in slots], [0] * len(slots), 0, [])
    value, plan = best
    return Optimum(served=value[0], runs=value[1], waste_mbq=value[2], plan=plan)
