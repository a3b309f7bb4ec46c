"""Planner benchmark: `python -m tests.bench.planner [--quick]` (`make bench`).

Plans seeded random days of 5-60 bookings (08:00-16:30, 100-200 MBq) on a 1850 MBq generator
when fresh, at 6 and at 11 months, on one and two synthesis modules, with the default plan
settings (4 syntheses a day at most, 10 min module turnaround, one QC bench, 1 s CPU budget). It
prints the CPU time per plan (median, p95, max), the longest wall time, the search nodes per
plan (median, p95; `Plan.nodes`), the share of plans proven optimal, and patients served and
syntheses used against a first-fit baseline (one run per hour that has bookings, each booking to
the first run in time with room). Then it simulates a generator's life, 12 months of seeded
weekdays, and prints the patients served per generator by plan and by the baseline. It asserts
nothing.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from radiopharmacy.physics import (
    GE68,
    decay_activity,
    decay_over_minutes,
    equilibrium_ga68_mbq,
    ge68_activity_mbq,
    ingrowth_ga68_mbq,
)
from scheduling.planner import BookingRequest, GeneratorState, PlanParameters, plan_day

SITE_ZONE = ZoneInfo("Europe/Paris")
NOMINAL_GE68_MBQ = 1850.0
# Age of the generator in days and the elution efficiency such a generator typically shows.
AGES = {"fresh": (0, 70.0), "6 months": (182, 65.0), "11 months": (335, 60.0)}


def random_day(
    *,
    seed: int,
    bookings: int,
    age_days: int = 0,
    efficiency_percent: float = 70.0,
    synthesis_modules: int = 1,
    max_syntheses: int = 4,
    module_turnaround_min: float = 10,
    first_injection_hour: int = 8,
    last_injection_hour: float = 16.5,
    day: datetime | None = None,
    time_budget_s: float = 1.0,
    confidence: float = 0.90,
    yield_sd_percent: float = 0.0,
    efficiency_sd_percent: float = 0.0,
) -> tuple[GeneratorState, list[BookingRequest], PlanParameters]:
    """A reproducible day: bookings on 5-minute marks, 100-200 MBq, column in equilibrium.

    Preconditions: bookings ≥ 0, age_days ≥ 0.
    """
    rng = random.Random(seed)
    day = day or datetime(2025, 3, 10, tzinfo=SITE_ZONE)
    calibrated_at = day - timedelta(days=age_days)
    morning = day.replace(hour=6, minute=30)
    ge68 = ge68_activity_mbq(
        nominal_activity_mbq=NOMINAL_GE68_MBQ, calibrated_at=calibrated_at, at=morning
    )
    state = GeneratorState(
        at=morning,
        ge68_activity_mbq=ge68,
        # Last eluted the day before: the column is back in equilibrium by the morning.
        ga68_on_column_mbq=equilibrium_ga68_mbq(ge68),
        efficiency_percent=efficiency_percent,
        efficiency_sd_percent=efficiency_sd_percent,
    )
    first = first_injection_hour * 12
    last = int(last_injection_hour * 12)
    requests = [
        BookingRequest(
            booking_id=i + 1,
            injection_at=day + timedelta(minutes=5 * rng.randint(first, last)),
            prescribed_activity_mbq=float(rng.randint(100, 200)),
        )
        for i in range(bookings)
    ]
    params = PlanParameters(
        earliest_elution_at=day.replace(hour=7),
        working_end_at=day.replace(hour=17),
        synthesis_modules=synthesis_modules,
        max_syntheses=max_syntheses,
        module_turnaround_min=module_turnaround_min,
        time_budget_s=time_budget_s,
        confidence=confidence,
        yield_sd_percent=yield_sd_percent,
    )
    return state, requests, params


# --- The baseline ---------------------------------------------------------------------------------


def first_fit(state: GeneratorState, bookings: list[BookingRequest], params: PlanParameters):
    """(served, runs) of the hand-made plan: one run per hour that has bookings, eluted so that
    it is released just in time for the hour's first injection (skipped when the module, the
    QC bench or the day's limit does not allow it); each booking, in time order, goes to the
    first run in time that still has the activity for it (planned at the same confidence)."""
    grid = timedelta(minutes=params.grid_min)
    syn = timedelta(minutes=params.synthesis_duration_min)
    qc = timedelta(minutes=params.qc_duration_min)
    lead = timedelta(minutes=params.draw_lead_time_min)
    shelf = timedelta(minutes=params.shelf_life_min)
    turn = timedelta(minutes=params.module_turnaround_min)
    factor = params.expected_yield_percent / 100 * state.efficiency_percent / 100
    sd_y = params.yield_sd_percent / 100
    sd_e = state.efficiency_sd_percent / 100
    mu_y, mu_e = params.expected_yield_percent / 100, state.efficiency_percent / 100
    sd = math.sqrt(mu_y**2 * sd_e**2 + mu_e**2 * sd_y**2 + sd_y**2 * sd_e**2)
    z = statistics.NormalDist().inv_cdf(params.confidence)
    factor = max(1e-9, factor - z * sd)
    ordered = sorted(bookings, key=lambda b: (b.injection_at, b.booking_id))
    hours = sorted({b.injection_at.replace(minute=0) for b in ordered})
    runs: list[list] = []  # [elution, eos, activity at eos left]
    modules = [datetime.min.replace(tzinfo=SITE_ZONE)] * params.synthesis_modules
    bench = datetime.min.replace(tzinfo=SITE_ZONE)
    column_at, ge, residual = state.at, state.ge68_activity_mbq, state.ga68_on_column_mbq
    for hour in hours:
        if len(runs) >= params.max_syntheses:
            break
        first = min(b.injection_at for b in ordered if b.injection_at.replace(minute=0) == hour)
        elution = first - lead - qc - syn
        t0 = params.earliest_elution_at
        elution = t0 + ((elution - t0) // grid) * grid
        modules.sort()
        if (
            elution < max(t0, state.at)
            or elution < modules[0]
            or elution + syn < bench
            or (runs and elution <= runs[-1][0])
        ):
            continue
        minutes = (elution - column_at).total_seconds() / 60
        column = ingrowth_ga68_mbq(ge68_at_start_mbq=ge, residual_mbq=residual, minutes=minutes)
        ge = decay_over_minutes(ge, minutes, GE68)
        residual, column_at = column * (1 - mu_e), elution
        activity = factor * decay_over_minutes(column, params.synthesis_duration_min)
        runs.append([elution, elution + syn, activity])
        modules[0] = elution + syn + turn
        bench = elution + syn + qc
    served = 0
    used = set()
    for b in ordered:
        draw = b.injection_at - lead
        for index, run in enumerate(runs):
            _, eos, left = run
            if eos + qc <= draw and b.injection_at <= eos + shelf and draw <= params.working_end_at:
                need = decay_activity(
                    b.prescribed_activity_mbq, from_time=b.injection_at, to_time=eos
                )
                if need <= left:
                    run[2] -= need
                    served += 1
                    used.add(index)
                    break
    return served, len(used)


# --- Tables ---------------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _timed(state, requests, params):
    wall, cpu = time.perf_counter(), time.process_time()
    plan = plan_day(generator_state=state, bookings=requests, params=params)
    return plan, 1000 * (time.process_time() - cpu), 1000 * (time.perf_counter() - wall)


def days_table(days: int, days_60: int, sizes: list[int]) -> None:
    header = (
        f"{'bookings':>8} {'modules':>7} {'generator':>10} {'days':>5} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'max ms':>7} {'wall max':>8} {'nodes p50':>9} {'nodes p95':>9} "
        f"{'optimal':>7} {'served':>6} "
        f"{'runs':>5} {'base served':>11} {'base runs':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        for modules in (1, 2):
            for label, (age, efficiency) in AGES.items():
                cpu, walls, served, runs, base_s, base_r, nodes = [], [], [], [], [], [], []
                optimal = 0
                count = days_60 if size >= 60 else days
                for seed in range(count):
                    state, requests, params = random_day(
                        seed=1000 * size + seed,
                        bookings=size,
                        age_days=age,
                        efficiency_percent=efficiency,
                        synthesis_modules=modules,
                    )
                    plan, ms, wall = _timed(state, requests, params)
                    cpu.append(ms)
                    walls.append(wall)
                    nodes.append(plan.nodes)
                    optimal += plan.optimal
                    served.append(plan.served_count)
                    runs.append(len(plan.runs))
                    s, r = first_fit(state, requests, params)
                    base_s.append(s)
                    base_r.append(r)
                print(
                    f"{size:>8} {modules:>7} {label:>10} {count:>5} "
                    f"{statistics.median(cpu):>7.1f} {_percentile(cpu, 0.95):>7.1f} "
                    f"{max(cpu):>7.1f} {max(walls):>8.1f} {statistics.median(nodes):>9.0f} "
                    f"{_percentile(nodes, 0.95):>9.0f} {100 * optimal / count:>6.0f}% "
                    f"{statistics.mean(served):>6.1f} {statistics.mean(runs):>5.1f} "
                    f"{statistics.mean(base_s):>11.1f} {statistics.mean(base_r):>9.1f}",
                    flush=True,
                )


def generator_life(months: int = 12, seed: int = 7) -> None:
    """Patients served over a generator's life: seeded weekdays, 6-14 bookings a day."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, tzinfo=SITE_ZONE)  # a Monday
    total_plan = total_base = booked = runs_plan = runs_base = 0
    optimal = weekdays = 0
    day = start
    end = start + timedelta(days=round(months * 365 / 12))
    while day < end:
        if day.weekday() < 5:
            age = (day - start).days
            efficiency = 70.0 - 10.0 * age / 365  # efficiency falls as the generator ages
            size = rng.randint(6, 14)
            state, requests, params = random_day(
                seed=rng.randrange(10**9),
                bookings=size,
                age_days=age,
                efficiency_percent=efficiency,
                day=day,
            )
            plan = plan_day(generator_state=state, bookings=requests, params=params)
            served, runs = first_fit(state, requests, params)
            total_plan += plan.served_count
            runs_plan += len(plan.runs)
            total_base += served
            runs_base += runs
            booked += size
            optimal += plan.optimal
            weekdays += 1
        day += timedelta(days=1)
    print(
        f"generator life: {weekdays} weekdays, {booked} patients booked; served by plan "
        f"{total_plan} ({runs_plan} syntheses, {100 * optimal / weekdays:.0f}% proven optimal), "
        f"by the first-fit baseline {total_base} ({runs_base} syntheses): "
        f"{total_plan - total_base:+d} patients per generator"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="random days per cell")
    parser.add_argument("--days-60", type=int, default=10, help="random days of 60 bookings")
    parser.add_argument("--quick", action="store_true", help="5 days per cell, no 60")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = [5, 10, 20, 30] if args.quick else [5, 10, 20, 30, 60]
    days_table(5 if args.quick else args.days, args.days_60, sizes)
    generator_life(months=2 if args.quick else 12)
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
