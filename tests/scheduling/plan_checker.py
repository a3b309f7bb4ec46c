"""Independent checker and exhaustive search for production plans (tests and bench only).

Independent on purpose: its decay and ingrowth formulas are written out here from SPEC §2.1-2.2
and not imported from `radiopharmacy.physics`, and it shares no code with the planner, so a bug
in either shows up as a disagreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

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
        # The planned factor: the `confidence` quantile of yield × efficiency (normal model),
        # from the means and spreads: var(XY) = μx²σy² + μy²σx² + σx²σy².
        sd_y = params.yield_sd_percent / 100.0
        sd_e = state.efficiency_sd_percent / 100.0
        mean = self.y * self.eta
        sd = math.sqrt(self.y**2 * sd_e**2 + self.eta**2 * sd_y**2 + sd_y**2 * sd_e**2)
        self.factor_mean, self.factor_sd = mean, sd
        self.factor = max(mean * 1e-6, mean + NormalDist().inv_cdf(1 - params.confidence) * sd)
        self.turn = timedelta(minutes=params.module_turnaround_min)
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
            planned = self.factor * ga_decay(column, self.params.synthesis_duration_min)
            out.append((column, planned))
            ge = ge_decay(ge, minutes)
            residual = column - self.eta * column
            last_at = at
        return out


# --- Plan checker ---------------------------------------------------------------------------------

RUN_KEYS = {"elution_at", "eos_at", "release_at", "expected_activity_at_eos_mbq", "doses"}
DOSE_KEYS = {"booking", "draw_at", "activity_to_draw_mbq", "activity_needed_at_eos_mbq"}
UNSERVED_KEYS = {"booking", "reason", "suggested_injection_at"}


def resources_ok(day: Day, slots, syntheses=(), modules_of=None) -> list[str]:
    """Module, QC-bench, spacing and day-limit rules for runs at `slots` after `syntheses`."""
    errors = []
    params = day.params
    if len(slots) + len(syntheses) > params.max_syntheses:
        errors.append(f"{len(slots) + len(syntheses)} syntheses > max {params.max_syntheses}")
    jobs = [
        (s.elution_at.astimezone(UTC), s.eos_at.astimezone(UTC), s.release_at.astimezone(UTC))
        for s in syntheses
    ]
    jobs += [(day.slot(k), day.slot(k) + day.syn, day.slot(k) + day.syn + day.qc) for k in slots]
    jobs.sort()
    # QC bench: one QC at a time.
    for (_, eos_a, rel_a), (_, eos_b, rel_b) in zip(jobs, jobs[1:], strict=False):
        if eos_b < rel_a and eos_a < rel_b:
            errors.append(f"QC of the syntheses ending {eos_a} and {eos_b} overlap")
    # Modules: at most `synthesis_modules` syntheses (each with its turnaround) at once.
    for i, (start, _, _) in enumerate(jobs):
        busy = sum(1 for _, e0, _ in jobs[:i] if e0 + day.turn > start)
        if busy >= params.synthesis_modules:
            errors.append(f"synthesis at {start} finds no free module")
    for (a, _, _), (b, _, _) in zip(jobs, jobs[1:], strict=False):
        if b - a < day.grid:
            errors.append(f"elutions at {a} and {b} closer than the grid")
    if modules_of is not None:
        last_end: dict[int, datetime] = {}
        for k, module in zip(slots, modules_of, strict=True):
            if not 1 <= module <= params.synthesis_modules:
                errors.append(f"run at slot {k} on module {module}")
            if module in last_end and last_end[module] + day.turn > day.slot(k):
                errors.append(f"run at slot {k} starts on module {module} before it is free")
            last_end[module] = day.slot(k) + day.syn
    return errors


def check_stock(day: Day, uses, stock) -> list[str]:
    """Doses served from stock: in time, within what the batch has left."""
    errors = []
    by_id = {s.batch_id: s for s in stock}
    for use in uses:
        batch = by_id.get(use["batch"])
        if batch is None:
            errors.append(f"stock use of unknown batch {use['batch']}")
            continue
        total = 0.0
        for d in use["doses"]:
            booking = day.bookings[d["booking"]]
            inj = booking.injection_at.astimezone(UTC)
            draw = inj - day.lead
            if draw < batch.available_at.astimezone(UTC) or draw > day.end:
                errors.append(f"booking {booking.booking_id}: stock drawn outside its window")
            if inj > batch.expires_at.astimezone(UTC):
                errors.append(f"booking {booking.booking_id}: stock expired at injection")
            total += ga_decay(booking.prescribed_activity_mbq, -_minutes(batch.activity_at, inj))
        if total > batch.activity_mbq * (1 + REL_TOL):
            errors.append(f"batch {batch.batch_id}: doses need {total} > {batch.activity_mbq}")
    return errors


def check_plan(plan: dict, *, state, bookings, params, stock=(), syntheses=()) -> list[str]:
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
    errors += resources_ok(day, slots, syntheses, [run.get("module", 1) for run in runs])
    for use in plan.get("stock", []):
        seen.extend(d["booking"] for d in use["doses"])
    errors += check_stock(day, plan.get("stock", []), stock)
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
            if not suggestion_works(day, slots, runs, booking, suggested, syntheses):
                errors.append(f"booking {u['booking']}: suggested {suggested} does not work")
    if sorted(seen) != sorted(day.bookings):
        errors.append(f"bookings served or unserved {sorted(seen)} != {sorted(day.bookings)}")
    return errors


def suggestion_works(day: Day, slots, runs, booking, injection_at: datetime, syntheses=()) -> bool:
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
            trial_slots = sorted([*slots, k])
            if resources_ok(day, trial_slots, syntheses):
                continue
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


def assert_valid(plan: dict, *, state, bookings, params, stock=(), syntheses=()) -> None:
    """Raise AssertionError listing every problem `check_plan` finds."""
    errors = check_plan(
        plan, state=state, bookings=bookings, params=params, stock=stock, syntheses=syntheses
    )
    assert not errors, "\n".join(errors)


# --- Exhaustive search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Optimum:
    """Best (served, runs, smallest margin) and one plan reaching it: ((slot, ids), ...)."""

    served: int
    runs: int
    margin: float
    plan: tuple[tuple[int, tuple[int, ...]], ...]


def _better(a: tuple[int, int, float], b: tuple[int, int, float] | None) -> bool:
    if b is None:
        return True
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[1] != b[1]:
        return a[1] < b[1]
    return a[2] > b[2] + 1e-12


def _margin(acts, loads) -> float:
    return min(
        (a / math.fsum(ld) - 1.0 for a, ld in zip(acts, loads, strict=True)), default=math.inf
    )


def exhaustive_optimum(*, state, bookings, params, syntheses=()) -> Optimum:
    """Most served, then fewest runs, over every ordered sequence of dose sets, each run at the
    earliest slot after the previous where its bookings are in time, fit, and the modules and
    the QC bench allow (its margin is not optimised: see `exhaustive_all_slots`).

    Earliest slots lose no (served, runs) optimum: for fixed dose sets, eluting a run earlier
    (i) leaves more Ga-68 for every later time (the affine Bateman flow G ↦ aG + I gives
    (1−η)aG + I against (1−η)(aG + I)); (ii) frees the modules, the bench and every later slot.
    """
    day = Day(state=state, bookings=bookings, params=params)
    ids = sorted(day.bookings, key=lambda i: (day.bookings[i].injection_at, i))
    n = len(ids)
    elig = {i: [k for k in day.slots if day.eligible(day.bookings[i], k)] for i in ids}
    best: list = [None, ()]
    limit = params.max_doses_per_run or n

    def visit(slots, remaining, value, plan):
        if _better(value, best[0]):
            best[0], best[1] = value, plan
        if len(slots) + len(syntheses) >= params.max_syntheses:
            return
        rem = [i for i in ids if remaining >> ids.index(i) & 1]
        m = len(rem)
        for mask in range(1, 1 << m):
            subset = [rem[j] for j in range(m) if mask >> j & 1]
            if len(subset) > limit:
                continue
            common = set(elig[subset[0]])
            for i in subset[1:]:
                common &= set(elig[i])
            for k in sorted(c for c in common if not slots or c > slots[-1]):
                trial = [*slots, k]
                if resources_ok(day, trial, syntheses):
                    continue
                at_eos = day.activities(trial)[-1][1]
                need = math.fsum(day.need_at_eos(day.bookings[i], k) for i in subset)
                if need <= at_eos:
                    new_remaining = remaining
                    for i in subset:
                        new_remaining &= ~(1 << ids.index(i))
                    visit(
                        trial,
                        new_remaining,
                        (value[0] + len(subset), value[1] + 1, 0.0),
                        (*plan, (k, tuple(sorted(subset)))),
                    )
                    break  # the earliest feasible slot (see the docstring)

    visit([], (1 << n) - 1, (0, 0, 0.0), ())
    value, plan = best
    return Optimum(served=value[0], runs=value[1], margin=math.nan, plan=plan)


def exhaustive_all_slots(*, state, bookings, params, syntheses=()) -> Optimum:
    """Best plan over every increasing tuple of allowed slots and every assignment (tiny days
    only): most served, fewest runs, largest smallest relative margin."""
    day = Day(state=state, bookings=bookings, params=params)
    ids = sorted(day.bookings)
    limit = params.max_doses_per_run or len(ids)
    best: list = [None, ()]

    def slot_tuples(prefix, count):
        if resources_ok(day, prefix, syntheses):
            return
        if len(prefix) == count:
            yield tuple(prefix)
            return
        start = prefix[-1] + 1 if prefix else day.k_min
        for k in range(start, day.k_last + 1):
            yield from slot_tuples([*prefix, k], count)

    for count in range(params.max_syntheses - len(syntheses) + 1):
        for slots in slot_tuples([], count):
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
                    value = (value_served, len(slots), _margin(acts, loads))
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
    return Optimum(served=value[0], runs=value[1], margin=value[2], plan=plan)
