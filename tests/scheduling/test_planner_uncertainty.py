"""Planning for the spread of yield and efficiency (SPEC §2.7): the confidence quantile, each
run's margin and its probability of serving all its doses, checked by a seeded Monte Carlo run.

Pure: no database. The column and decay formulas are the independent checker's.
"""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC

import pytest

from scheduling.planner import plan_day
from tests.bench.planner import random_day
from tests.scheduling.plan_checker import assert_valid, column_after, ga_decay, ge_decay

Z_90 = 1.2816  # the 90 % one-sided normal quantile


def _minutes(a, b) -> float:
    return (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 60


def _day(seed: int, *, yield_sd: float, efficiency_sd: float = 0.0, bookings: int = 10):
    return random_day(
        seed=seed,
        bookings=bookings,
        age_days=120,
        efficiency_percent=65.0,
        confidence=0.90,
        yield_sd_percent=yield_sd,
        efficiency_sd_percent=efficiency_sd,
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.requirement("PLN-03")
def test_each_run_keeps_a_margin_that_a_yield_1_28_sigma_low_still_covers(seed):
    state, bookings, prm = _day(seed, yield_sd=5.0)
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(plan.to_dict(), state=state, bookings=bookings, params=prm)
    assert plan.runs
    low_yield = (prm.expected_yield_percent - Z_90 * prm.yield_sd_percent) / 100
    for run in plan.runs:
        low = low_yield * state.efficiency_percent / 100
        activity = low * ga_decay(run.ga68_on_column_mbq, prm.synthesis_duration_min)
        needed = math.fsum(d.activity_needed_at_eos_mbq for d in run.doses)
        assert activity >= needed * (1 - 1e-4)  # z rounded to 4 digits
        assert run.margin_mbq == pytest.approx(run.expected_activity_at_eos_mbq - needed)
        assert run.margin_percent == pytest.approx(100 * run.margin_mbq / needed)
        assert 0.9 - 1e-9 <= run.probability_all_served <= 1.0
        assert run.mean_activity_at_eos_mbq > run.expected_activity_at_eos_mbq


@pytest.mark.requirement("PLN-03")
def test_without_spread_or_at_confidence_one_half_the_plan_uses_the_mean():
    state, bookings, prm = _day(1, yield_sd=0.0)
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    for run in plan.runs:
        assert run.expected_activity_at_eos_mbq == pytest.approx(run.mean_activity_at_eos_mbq)
    state, bookings, prm = _day(1, yield_sd=5.0)
    half = plan_day(
        generator_state=state, bookings=bookings, params=dataclasses.replace(prm, confidence=0.5)
    )
    for run in half.runs:
        assert run.expected_activity_at_eos_mbq == pytest.approx(run.mean_activity_at_eos_mbq)


def _simulate(plan, state, prm, rng: random.Random, sd_y: float, sd_e: float) -> list[bool]:
    """One draw: every run with its own yield and efficiency, the column following the drawn
    efficiencies; whether each run covers its doses."""
    at, ge, residual = state.at, state.ge68_activity_mbq, state.ga68_on_column_mbq
    out = []
    for run in plan.runs:
        minutes = _minutes(at, run.elution_at)
        column = column_after(ge_start_mbq=ge, residual_mbq=residual, minutes=minutes)
        y = rng.gauss(prm.expected_yield_percent, sd_y) / 100
        eta = min(1.0, max(0.0, rng.gauss(state.efficiency_percent, sd_e) / 100))
        activity = y * ga_decay(eta * column, prm.synthesis_duration_min)
        needed = math.fsum(d.activity_needed_at_eos_mbq for d in run.doses)
        out.append(activity >= needed)
        ge, residual, at = ge_decay(ge, minutes), column * (1 - eta), run.elution_at
    return out


@pytest.mark.parametrize(("seed", "sd_y", "sd_e"), [(0, 5.0, 0.0), (1, 5.0, 3.0), (2, 8.0, 4.0)])
@pytest.mark.requirement("PLN-03")
def test_monte_carlo_each_run_serves_all_its_doses_in_at_least_90_percent_of_draws(
    seed, sd_y, sd_e
):
    state, bookings, prm = _day(seed, yield_sd=sd_y, efficiency_sd=sd_e, bookings=12)
    plan = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert_valid(plan.to_dict(), state=state, bookings=bookings, params=prm)
    assert plan.runs
    rng = random.Random(20261201 + seed)
    draws = 1000
    covered = [0] * len(plan.runs)
    for _ in range(draws):
        for i, ok in enumerate(_simulate(plan, state, prm, rng, sd_y, sd_e)):
            covered[i] += ok
    for count, run in zip(covered, plan.runs, strict=True):
        assert count / draws >= 0.90, (count, run.probability_all_served)
