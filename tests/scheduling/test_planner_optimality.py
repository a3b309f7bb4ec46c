"""The planner against exhaustive searches: same number served, same runs, same waste.

`exhaustive_optimum` tries every ordered assignment of bookings to runs; `exhaustive_all_slots`
tries every increasing tuple of grid slots and every assignment, which also checks the
earliest-slot argument both the planner and `exhaustive_optimum` rely on.
"""

from __future__ import annotations

import dataclasses

import pytest

from scheduling import planner
from scheduling.planner import BookingRequest, plan_day
from tests.bench.planner import random_day
from tests.scheduling.plan_checker import (
    assert_valid,
    exhaustive_all_slots,
    exhaustive_optimum,
)

WASTE_TOLERANCE_MBQ = 1e-6

# (seed, bookings, generator age in days, efficiency %, max runs): 24 days of 3-10 bookings.
DAYS = [
    (seed, 3 + seed % 8, (0, 182, 335)[seed % 3], (70.0, 65.0, 60.0)[seed % 3], 3 + (seed % 4 == 0))
    for seed in range(24)
]


def _compare(state, bookings, prm, best) -> None:
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(plan.to_dict(), state=state, bookings=bookings, params=prm)
    assert plan.served_count == best.served
    assert len(plan.runs) == best.runs
    assert plan.wasted_activity_mbq == pytest.approx(best.waste_mbq, abs=WASTE_TOLERANCE_MBQ)


@pytest.mark.parametrize(("seed", "size", "age_days", "efficiency", "max_runs"), DAYS)
def test_planner_matches_exhaustive_search(seed, size, age_days, efficiency, max_runs):
    state, bookings, prm = random_day(
        seed=seed,
        bookings=size,
        age_days=age_days,
        efficiency_percent=efficiency,
        max_runs=max_runs,
        # A busy morning: windows overlap, so bookings can go to either run.
        first_injection_hour=8,
        last_injection_hour=13,
    )
    best = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    _compare(state, bookings, prm, best)


@pytest.mark.parametrize("seed", range(6))
def test_planner_matches_every_slot_search_on_tiny_days(seed):
    state, bookings, prm = random_day(
        seed=500 + seed,
        bookings=3 + seed % 2,
        age_days=(0, 335)[seed % 2],
        max_runs=2,
        first_injection_hour=8,
        last_injection_hour=10,
    )
    # Working day cut short so that every slot pair can be tried.
    prm = dataclasses.replace(prm, working_end_at=prm.earliest_elution_at.replace(hour=11))
    best = exhaustive_all_slots(state=state, bookings=bookings, params=prm)
    assert best == exhaustive_optimum(state=state, bookings=bookings, params=prm) or (
        (best.served, best.runs)
        == _key(exhaustive_optimum(state=state, bookings=bookings, params=prm))
    )
    _compare(state, bookings, prm, best)


def _key(optimum):
    return optimum.served, optimum.runs


def test_tiny_prescriptions_use_every_slot_and_stay_optimal():
    # Doses of 0.05 MBq make the earliest slot not always the least wasteful (F3 fails): the
    # planner must then try every slot.
    state, bookings, prm = random_day(
        seed=42, bookings=3, max_runs=2, first_injection_hour=8, last_injection_hour=10
    )
    bookings = [dataclasses.replace(b, prescribed_activity_mbq=0.05) for b in bookings]
    prm = dataclasses.replace(prm, working_end_at=prm.earliest_elution_at.replace(hour=11))
    best = exhaustive_all_slots(state=state, bookings=bookings, params=prm)
    _compare(state, bookings, prm, best)


def test_overlapping_windows_need_crossed_assignment():
    # Crafted so the later patient must go to the earlier run: a heavy early dose only fits the
    # second run. Served-in-time-order heuristics miss this; the planner must not.
    state, bookings, prm = random_day(seed=0, bookings=0, max_runs=2)
    start = prm.earliest_elution_at
    bookings = [
        BookingRequest(
            booking_id=1,
            injection_at=start.replace(hour=9, minute=50),
            prescribed_activity_mbq=400.0,
        ),
        BookingRequest(
            booking_id=2,
            injection_at=start.replace(hour=10, minute=0),
            prescribed_activity_mbq=60.0,
        ),
        BookingRequest(
            booking_id=3,
            injection_at=start.replace(hour=8, minute=20),
            prescribed_activity_mbq=200.0,
        ),
    ]
    best = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    _compare(state, bookings, prm, best)


# Overbooked mornings where activity, not time, limits the day: prescriptions scaled so that
# the generator serves about half. The activity bound and the children's pretest bind here.
# (seed, bookings, generator age in days, efficiency %, prescription scale, max runs)
OVERBOOKED_DAYS = [
    (900, 8, 0, 70.0, 1.0, 3),
    (903, 8, 0, 70.0, 1.4, 3),
    (904, 9, 182, 65.0, 1.0, 3),
    (905, 10, 335, 60.0, 0.7, 3),
    (906, 8, 0, 70.0, 1.0, 4),
    (909, 8, 0, 70.0, 1.4, 4),
    (910, 9, 182, 65.0, 1.0, 4),
    (912, 8, 0, 70.0, 1.0, 3),
    (916, 9, 182, 65.0, 1.0, 3),
]


@pytest.mark.parametrize(
    ("seed", "size", "age_days", "efficiency", "scale", "max_runs"), OVERBOOKED_DAYS
)
def test_planner_matches_exhaustive_search_on_overbooked_days(
    seed, size, age_days, efficiency, scale, max_runs
):
    state, bookings, prm = random_day(
        seed=seed,
        bookings=size,
        age_days=age_days,
        efficiency_percent=efficiency,
        max_runs=max_runs,
        first_injection_hour=8,
        last_injection_hour=12,
    )
    bookings = [
        dataclasses.replace(b, prescribed_activity_mbq=b.prescribed_activity_mbq * scale)
        for b in bookings
    ]
    best = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    _compare(state, bookings, prm, best)


@pytest.mark.parametrize("size", [15, 20])
@pytest.mark.parametrize(("age_days", "efficiency"), [(0, 70.0), (182, 65.0), (335, 60.0)])
@pytest.mark.parametrize("seed", range(2))
def test_fast_rules_change_no_plan_on_large_days(monkeypatch, seed, size, age_days, efficiency):
    # Too large for the exhaustive searches: the search with its time-saving rules (activity
    # bound, children tested before they are built, ...) must give the very plan the plain
    # branch and bound gives.
    state, bookings, prm = random_day(
        seed=4242 + 7 * seed + size,
        bookings=size,
        age_days=age_days,
        efficiency_percent=efficiency,
        max_runs=5 + seed,
    )
    fast = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(fast.to_dict(), state=state, bookings=bookings, params=prm)
    monkeypatch.setattr(planner._Search, "fast_rules", False)
    plain = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert fast.to_dict() == plain.to_dict()
