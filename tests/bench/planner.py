"""Planner benchmark: `python -m tests.bench.planner [--quick]` (`make bench`).

Plans seeded random days of 5-60 bookings (08:00-16:30, 100-200 MBq) on a 1850 MBq generator
when fresh, at 6 and at 11 months, prints the CPU time per plan (median, p95, max) and, for small
days, the gap to the exhaustive search of `tests/scheduling/plan_checker.py`. Beyond ~10
bookings such days are overbooked (one generator serves ~6-15 patients a day), which is the
planner's hardest case: it must prove that no plan serves one more. It asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from radiopharmacy.physics import equilibrium_ga68_mbq, ge68_activity_mbq
from scheduling.planner import BookingRequest, GeneratorState, PlanParameters, plan_day
from tests.scheduling.plan_checker import exhaustive_optimum

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
    max_runs: int = 6,
    first_injection_hour: int = 8,
    last_injection_hour: float = 16.5,
) -> tuple[GeneratorState, list[BookingRequest], PlanParameters]:
    """A reproducible day: bookings on 5-minute marks, 100-200 MBq, column in equilibrium.

    Preconditions: bookings ≥ 0, age_days ≥ 0.
    """
    rng = random.Random(seed)
    day = datetime(2025, 3, 10, tzinfo=SITE_ZONE)
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
        max_runs=max_runs,
    )
    return state, requests, params


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="random days per size and age")
    parser.add_argument("--days-60", type=int, default=5, help="random days of 60 bookings")
    parser.add_argument("--quick", action="store_true", help="5 days per cell, no 60")
    args = parser.parse_args(argv)
    days = 5 if args.quick else args.days
    sizes = [5, 10, 20, 30] if args.quick else [5, 10, 20, 30, 60]
    exhaustive = exhaustive_optimum

    header = (
        f"{'bookings':>8} {'generator':>10} {'days':>5} {'median ms':>10} {'p95 ms':>8} "
        f"{'max ms':>8} {'served':>7} {'runs':>5}  gap to exhaustive (8 bookings cut, ≤ 3 runs)"
    )
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    for size in sizes:
        for label, (age, efficiency) in AGES.items():
            times = []
            served = []
            runs = []
            cell_days = args.days_60 if size >= 60 else days
            for seed in range(cell_days):
                state, requests, params = random_day(
                    seed=1000 * size + seed,
                    bookings=size,
                    age_days=age,
                    efficiency_percent=efficiency,
                )
                # CPU time of this process: other jobs on a shared machine do not inflate it.
                t = time.process_time()
                plan = plan_day(generator_state=state, bookings=requests, params=params)
                times.append(1000 * (time.process_time() - t))
                served.append(plan.served_count)
                runs.append(len(plan.runs))
            gap = ""
            if exhaustive is not None and size <= 10:
                gap = _gap(exhaustive, size, age, efficiency, days)
            print(
                f"{size:>8} {label:>10} {cell_days:>5} {statistics.median(times):>10.1f} "
                f"{_percentile(times, 0.95):>8.1f} {max(times):>8.1f} "
                f"{statistics.mean(served):>7.1f} {statistics.mean(runs):>5.1f}  {gap}"
            )
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


def _gap(exhaustive, size: int, age: int, efficiency: float, days: int) -> str:
    """Served, runs and waste differences planner − exhaustive over `days` small days."""
    served_gap = runs_gap = 0
    waste_gap = 0.0
    count = 0
    for seed in range(days):
        # The exhaustive search is exponential: 8 bookings at most, 3 runs.
        state, requests, params = random_day(
            seed=1000 * size + seed,
            bookings=min(size, 8),
            age_days=age,
            efficiency_percent=efficiency,
            max_runs=3,
        )
        plan = plan_day(generator_state=state, bookings=requests, params=params)
        best = exhaustive(state=state, bookings=requests, params=params)
        served_gap = max(served_gap, best.served - plan.served_count)
        runs_gap = max(
            runs_gap, len(plan.runs) - best.runs if best.served == plan.served_count else 0
        )
        waste_gap = max(waste_gap, plan.wasted_activity_mbq - best.waste_mbq)
        count += 1
    return f"{count} days: served −{served_gap}, runs +{runs_gap}, waste +{waste_gap:.2g} MBq"


if __name__ == "__main__":
    sys.exit(main())
