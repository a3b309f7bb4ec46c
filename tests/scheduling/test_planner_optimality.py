"""The planner against exhaustive searches, on one and two modules with a turnaround.

`exhaustive_optimum` tries every ordered sequence of dose sets at their earliest allowed slots
(most served, fewest runs); `exhaustive_all_slots` tries every allowed tuple of slots and every
assignment, so it also finds the largest smallest margin and checks the earliest-slot argument.
Every plan also passes the independent checker (modules, QC bench, max_syntheses, activity with
decay, expiry, draw lead time).
"""

from __future__ import annotations

import dataclasses

import pytest

from scheduling import planner
from scheduling.planner import MARGIN_RESOLUTION, plan_day
from tests.bench.planner import random_day
from tests.scheduling.plan_checker import (
    Day,
    assert_valid,
    exhaustive_all_slots,
    exhaustive_optimum,
    resources_ok,
)

# (seed, bookings, generator age in days, efficiency %, modules, max syntheses): small days.
DAYS = [
    (
        seed,
        3 + seed % 5,
        (0, 182, 335)[seed % 3],
        (70.0, 65.0, 60.0)[seed % 3],
        1 + seed % 2,
        2 + seed % 3,
    )
    for seed in range(16)
]


@pytest.fixture(params=["lazy", "run table from the first node"])
def run_table(request, monkeypatch):
    """Small days end before the planner builds its run table (the depletion bound): run each
    comparison once as planned and once with the table built from the first node on."""
    if request.param != "lazy":
        monkeypatch.setattr(planner._Search, "rebuild_every", 0)
    return request.param


def _plan(state, bookings, prm):
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(plan.to_dict(), state=state, bookings=bookings, params=prm)
    assert plan.optimal
    return plan


@pytest.mark.parametrize(("seed", "size", "age_days", "efficiency", "modules", "limit"), DAYS)
@pytest.mark.requirement("PLN-04")
def test_planner_serves_the_exhaustive_optimum_with_the_fewest_syntheses(
    seed, size, age_days, efficiency, modules, limit, run_table
):
    state, bookings, prm = random_day(
        seed=seed,
        bookings=size,
        age_days=age_days,
        efficiency_percent=efficiency,
        synthesis_modules=modules,
        max_syntheses=limit,
        # A busy morning: windows overlap, so bookings can go to either run.
        first_injection_hour=8,
        last_injection_hour=13,
    )
    best = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    plan = _plan(state, bookings, prm)
    assert (plan.served_count, len(plan.runs)) == (best.served, best.runs)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.requirement("PLN-04")
def test_planner_matches_every_slot_search_including_the_margin(seed, run_table):
    modules = 1 + seed % 2
    state, bookings, prm = random_day(
        seed=500 + seed,
        bookings=3 + seed % 2,
        age_days=(0, 335)[seed % 2],
        synthesis_modules=modules,
        module_turnaround_min=(10, 30)[seed % 2],
        max_syntheses=2,
        first_injection_hour=8,
        last_injection_hour=10,
        yield_sd_percent=(0.0, 5.0)[seed % 2],
    )
    # Working day cut short so that every slot pair can be tried.
    prm = dataclasses.replace(prm, working_end_at=prm.earliest_elution_at.replace(hour=11))
    best = exhaustive_all_slots(state=state, bookings=bookings, params=prm)
    earliest = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    assert (best.served, best.runs) == (earliest.served, earliest.runs)
    plan = _plan(state, bookings, prm)
    assert (plan.served_count, len(plan.runs)) == (best.served, best.runs)
    if plan.runs:
        margin = plan.smallest_margin_percent / 100
        # Never better than the true optimum, and within the planner's stated resolution.
        assert margin <= best.margin + 1e-6
        assert margin >= best.margin - MARGIN_RESOLUTION - 1e-6


@pytest.mark.requirement("PLN-02")
def test_two_modules_overlap_syntheses_but_never_their_qc():
    state, bookings, prm = random_day(
        seed=3, bookings=12, synthesis_modules=2, first_injection_hour=8, last_injection_hour=11
    )
    plan = _plan(state, bookings, prm)
    eos = [run.eos_at for run in plan.runs]
    for a, b in zip(plan.runs, plan.runs[1:], strict=False):
        assert b.eos_at >= a.release_at  # one QC bench
    assert len(set(eos)) == len(eos)
    day = Day(state=state, bookings=bookings, params=prm)
    slots = [round((r.elution_at - day.t0) / day.grid) for r in plan.runs]
    assert not resources_ok(day, slots, (), [r.module for r in plan.runs])


@pytest.mark.requirement("PLN-02")
def test_one_module_waits_for_the_previous_synthesis_and_its_turnaround():
    state, bookings, prm = random_day(
        seed=11, bookings=14, first_injection_hour=8, last_injection_hour=12
    )
    plan = _plan(state, bookings, prm)
    turnaround = prm.module_turnaround_min
    for a, b in zip(plan.runs, plan.runs[1:], strict=False):
        assert (b.elution_at - a.eos_at).total_seconds() / 60 >= turnaround
    assert len(plan.runs) <= prm.max_syntheses


@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.requirement("PLN-02")
def test_never_more_than_max_syntheses(limit):
    state, bookings, prm = random_day(seed=21, bookings=20, max_syntheses=limit)
    plan = _plan(state, bookings, prm)
    assert len(plan.runs) <= limit
    more = plan_day(
        generator_state=state, bookings=bookings, params=dataclasses.replace(prm, max_syntheses=4)
    )
    assert more.served_count >= plan.served_count


def test_the_budget_returns_the_best_plan_found_with_its_bound():
    state, bookings, prm = random_day(seed=60, bookings=60, synthesis_modules=2)
    # A budget far below what the search needs (it looks at the clock every 64 nodes and this
    # day takes thousands), whatever the machine's speed.
    prm = dataclasses.replace(prm, time_budget_s=1e-4)
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(plan.to_dict(), state=state, bookings=bookings, params=prm)
    assert not plan.optimal
    assert plan.to_dict()["optimal"] is False
    assert plan.bound_served >= plan.served_count
    assert plan.cpu_ms < 1000


@pytest.mark.parametrize(("seed", "size", "age_days", "efficiency", "modules", "limit"), DAYS)
@pytest.mark.requirement("PLN-04")
def test_the_depletion_bound_is_never_below_the_optimum(
    seed, size, age_days, efficiency, modules, limit
):
    state, bookings, prm = random_day(
        seed=seed,
        bookings=size,
        age_days=age_days,
        efficiency_percent=efficiency,
        synthesis_modules=modules,
        max_syntheses=limit,
        first_injection_hour=8,
        last_injection_hour=13,
    )
    best = exhaustive_optimum(state=state, bookings=bookings, params=prm)
    day = planner._Day(state, bookings, prm, [], [])
    search = planner._Search(day, 1.0)
    search.rebuild_every = 0
    start, _, caps, available = search._expand(search._root(), 1.0)
    for runs in range(1, day.max_runs + 1):
        # With `runs` runs at most, no plan serves more than the bound (the exhaustive search
        # with the day limited to that many syntheses).
        limited = exhaustive_optimum(
            state=state, bookings=bookings, params=dataclasses.replace(prm, max_syntheses=runs)
        )
        assert search._bound(start, caps, available, runs) >= limited.served
    assert search._bound(start, caps, available, day.max_runs) >= best.served
