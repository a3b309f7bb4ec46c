"""Generator forecast (radiopharmacy.forecast, pure): the efficiency trend with its band, the
weekly capacity and the week it falls below the need, on simulated generators."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from radiopharmacy import forecast, physics
from radiopharmacy.core.errors import InputError

CALIBRATED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
EXPIRES = CALIBRATED + timedelta(days=365)
START = CALIBRATED + timedelta(weeks=13)  # the forecast is made three months in
NOMINAL_MBQ = 1850.0
ETA_AT_CALIBRATION, DECLINE_PER_WEEK = 70.0, 0.5
STANDARD_PATIENT_MBQ = 150.0
MODEL = forecast.DayModel()


def true_efficiency(at: datetime) -> float:
    return ETA_AT_CALIBRATION - DECLINE_PER_WEEK * physics.elapsed_minutes(CALIBRATED, at) / (
        forecast.WEEK_MIN
    )


def history(seed: int, noise_sd: float) -> list[tuple[datetime, float]]:
    """A daily morning elution from receipt to the forecast, efficiency with normal noise."""
    rng = random.Random(seed)
    points, at = [], CALIBRATED + timedelta(days=3)
    while at < START:
        points.append((at, true_efficiency(at) + rng.gauss(0.0, noise_sd)))
        at += timedelta(days=1)
    return points


def run(points, need=None):
    return forecast.generator_forecast(
        nominal_activity_mbq=NOMINAL_MBQ,
        calibrated_at=CALIBRATED,
        expires_at=EXPIRES,
        start=START,
        efficiencies=points,
        nominal_efficiency_percent=65.0,
        standard_patient_mbq=STANDARD_PATIENT_MBQ,
        daily_need_patients=need,
        model=MODEL,
    )


def true_patients_two(at: datetime) -> int:
    ge68 = physics.ge68_activity_mbq(
        nominal_activity_mbq=NOMINAL_MBQ, calibrated_at=CALIBRATED, at=at
    )
    return forecast.day_capacity(
        ge68_mbq=ge68,
        efficiency_percent=true_efficiency(at),
        standard_patient_mbq=STANDARD_PATIENT_MBQ,
        model=MODEL,
    )[2]


def analytic_below_need(need: int) -> datetime:
    """When the true generator (known η and Ge-68 decay) first serves fewer than `need` patients
    with two syntheses: the capacity only falls with time, so bisect to the minute."""
    low, high = START, EXPIRES
    assert true_patients_two(low) >= need > true_patients_two(high)
    while high - low > timedelta(minutes=1):
        mid = low + (high - low) / 2
        if true_patients_two(mid) < need:
            high = mid
        else:
            low = mid
    return high


def test_least_squares_line_and_its_standard_errors_on_a_known_series():
    fit = forecast.fit_line([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 4.0])
    assert fit.slope == pytest.approx(0.8)
    assert fit.intercept == pytest.approx(1.3)
    # residuals -0.3, 0.9, -0.9, 0.3: SSE 1.8 on 2 degrees of freedom, Sxx = 5
    assert fit.residual_sd == pytest.approx((1.8 / 2) ** 0.5)
    assert fit.slope_se == pytest.approx((0.9 / 5) ** 0.5)
    assert fit.mean_se_at(1.5) == pytest.approx((0.9 / 4) ** 0.5)
    assert forecast.fit_line([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert forecast.fit_line([1.0, 2.0], [1.0, 2.0]) is None


def test_t_quantile_matches_the_tables():
    assert forecast.t_quantile(0.975, 3) == pytest.approx(3.182, rel=5e-3)
    assert forecast.t_quantile(0.975, 10) == pytest.approx(2.228, rel=1e-3)
    assert forecast.t_quantile(0.975, 100) == pytest.approx(1.984, rel=1e-3)


@pytest.mark.requirement("ANA-02")
def test_the_efficiency_trend_recovers_the_known_decline():
    result = run(history(seed=7, noise_sd=1.0))
    assert result.efficiency.slope_per_week == pytest.approx(-DECLINE_PER_WEEK, abs=0.1)
    assert result.efficiency.current == pytest.approx(true_efficiency(START), abs=1.0)
    assert result.weeks[0].at == START
    assert result.weeks[-1].at <= EXPIRES < result.weeks[-1].at + timedelta(days=7)
    # the Ge-68 decays with its half-life, and the eluate follows η · A_Ge
    week_0 = result.weeks[0]
    assert week_0.ge68_activity_mbq == pytest.approx(
        NOMINAL_MBQ * 0.5 ** ((13 * 7) / 270.95), rel=1e-9
    )
    assert week_0.expected_eluate_mbq == pytest.approx(
        physics.equilibrium_ga68_mbq(week_0.ge68_activity_mbq) * week_0.efficiency_percent / 100
    )
    served = [w.patients_two_syntheses for w in result.weeks]
    assert served == sorted(served, reverse=True)  # an ageing generator serves fewer
    assert all(w.patients_two_syntheses >= w.patients_one_synthesis for w in result.weeks)


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.requirement("ANA-02")
def test_the_below_need_week_is_within_one_week_of_the_analytic_answer(seed):
    """A need of 3 patients a day: the true generator falls below it about six weeks on."""
    need = 3
    expected = analytic_below_need(need)
    result = run(history(seed=seed, noise_sd=1.0), need=need)
    assert result.below_need_at is not None
    assert abs(result.below_need_at - expected) <= timedelta(days=7)
    # the first week below the need, and the week before it still served it
    index = [w.at for w in result.weeks].index(result.below_need_at)
    assert result.weeks[index].patients_two_syntheses < need
    assert index == 0 or result.weeks[index - 1].patients_two_syntheses >= need


def test_the_band_contains_the_true_efficiency_on_at_least_90_percent_of_histories():
    """200 seeded histories with 2-point noise: the 95 % band holds the true efficiency at every
    forecast week until expiry (a strict reading: all 40 weeks at once) in at least 90 %."""
    covered = 0
    for seed in range(200):
        result = run(history(seed=seed, noise_sd=2.0))
        covered += all(
            w.efficiency_low_percent <= true_efficiency(w.at) <= w.efficiency_high_percent
            for w in result.weeks
        )
    assert covered / 200 >= 0.90


def test_with_fewer_than_three_elutions_the_forecast_holds_the_efficiency_without_a_band():
    result = run([(START - timedelta(days=1), 62.0)])
    assert result.efficiency.slope_per_week is None
    assert {w.efficiency_percent for w in result.weeks} == {62.0}
    assert result.weeks[0].efficiency_low_percent is None
    assert result.notes
    assert run([]).weeks[0].efficiency_percent == 65.0  # the nominal efficiency


@pytest.mark.requirement("ANA-02")
def test_the_breakthrough_trend_says_when_it_would_reach_the_limit():
    points = [(START - timedelta(weeks=k), 0.0002 - 0.00002 * k) for k in range(6)]
    trend = forecast.breakthrough_trend(points, start=START, expires_at=EXPIRES)
    assert trend.slope_per_week == pytest.approx(0.00002)
    # 0.0002 % now, +0.00002 %/week: 0.001 % after 40 weeks, before expiry (about 39 weeks on)
    assert trend.reaches_limit_at is None or trend.reaches_limit_at <= EXPIRES
    flat = [(START - timedelta(weeks=k), 0.0001) for k in range(4)]
    assert (
        forecast.breakthrough_trend(flat, start=START, expires_at=EXPIRES).reaches_limit_at is None
    )
    rising = [(START - timedelta(weeks=k), 0.0006 - 0.0001 * k) for k in range(4)]
    reaches = forecast.breakthrough_trend(rising, start=START, expires_at=EXPIRES).reaches_limit_at
    assert reaches == START + timedelta(weeks=4)


def test_a_day_model_with_a_nonsense_setting_is_refused():
    with pytest.raises(InputError):
        forecast.DayModel(yield_percent=0)
    with pytest.raises(InputError):
        forecast.DayModel(patient_interval_min=0)


@pytest.mark.django_db
@pytest.mark.requirement("ANA-02")
def test_the_forecast_api_gives_the_weeks_until_expiry_with_the_band(api_as, scheduler):
    import time_machine

    from tests.factories import REFERENCE_TIME, ElutionFactory, GeneratorFactory

    generator = GeneratorFactory()
    for day in range(1, 15):
        at = REFERENCE_TIME - timedelta(days=day)
        ElutionFactory(generator=generator, eluted_at=at, efficiency_percent=60.0 + 0.05 * day)
    with time_machine.travel(REFERENCE_TIME + timedelta(hours=1), tick=False):  # a read only
        client = api_as(scheduler)
        response = client.get(f"/api/v1/generators/{generator.pk}/forecast/", {"days": 70})
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["weeks"]) == 11
        assert body["efficiency"]["points"] == 14
        assert body["efficiency"]["slope_per_week"] == pytest.approx(-0.35, abs=1e-6)
        week = body["weeks"][0]
        assert week["efficiency_low_percent"] <= week["efficiency_percent"]
        assert week["efficiency_percent"] <= week["efficiency_high_percent"]
        assert body["daily_need_patients"] is None  # no bookings in the last 30 days
        assert (
            client.get(f"/api/v1/generators/{generator.pk}/forecast/", {"days": 0}).status_code
            == 400
        )
        assert client.get("/api/v1/generators/999999/forecast/").status_code == 404
