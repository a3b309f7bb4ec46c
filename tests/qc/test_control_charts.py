"""I-MR limits and Nelson rules 1, 2, 3 and 5 on constructed series (qc.control_charts, pure)."""

import random
from datetime import timedelta

import pytest

from qc.control_charts import (
    D2,
    ChartInputError,
    Limits,
    chart,
    limits_from,
    moving_ranges,
    violations,
)
from tests.factories import REFERENCE_TIME, BatchFactory, ReleasedBatchFactory, as_of

UNIT = Limits(centre=0.0, sigma=1.0, mr_bar=D2)  # centre 0, sigma 1


def _flags(values, rules=(1, 2, 3, 5)):
    return [(v.index, v.rule) for v in violations(values, UNIT, rules)]


def _stable(seed: int, n: int = 200) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0, 1.0) for _ in range(n)]


@pytest.mark.requirement("ANA-01")
def test_limits_are_the_mean_and_the_average_moving_range_over_d2():
    limits = limits_from([10.0, 12.0, 11.0, 13.0, 12.0])
    assert limits.centre == pytest.approx(11.6)
    assert moving_ranges([10.0, 12.0, 11.0]) == [None, 2.0, 1.0]
    assert limits.mr_bar == pytest.approx((2 + 1 + 2 + 1) / 4)
    assert limits.sigma == pytest.approx(1.5 / 1.128)
    assert limits.ucl == pytest.approx(11.6 + 3 * 1.5 / 1.128)
    assert limits.mr_ucl == pytest.approx(3.267 * 1.5)


@pytest.mark.requirement("ANA-01")
def test_rule_1_one_point_beyond_3_sigma_is_found_at_its_index():
    values = [0.1, -0.2, 0.3, 0.0, 3.2, 0.1, -0.1]
    assert _flags(values) == [(4, 1)]
    assert _flags([0.0, -3.01, 0.0]) == [(1, 1)]
    assert _flags([0.0, 2.99, 0.0]) == []  # within the limits


@pytest.mark.requirement("ANA-01")
def test_rule_2_nine_in_a_row_on_one_side_is_found_at_the_ninth_point():
    values = [-0.5, 0.2, 0.4, 0.1, 0.3, 0.6, 0.2, 0.5, 0.1, 0.4, -0.3]
    # points 1..9 are above the centre line: the rule completes at index 9
    assert _flags(values, rules=[2]) == [(9, 2)]
    assert _flags(values) == [(9, 2)]
    assert _flags(values[:9], rules=[2]) == []  # eight in a row is not a run of nine


@pytest.mark.requirement("ANA-01")
def test_rule_3_six_rising_is_found_at_the_sixth_point_and_six_falling_too():
    rising = [0.3, -0.4, -0.3, -0.1, 0.0, 0.2, 0.4, -0.2]
    assert _flags(rising) == [(6, 3)]  # indices 1..6 rise steadily
    falling = [-0.1, 0.5, 0.4, 0.2, 0.1, -0.2, -0.4, 0.0]
    assert _flags(falling) == [(6, 3)]
    assert _flags([0.0, 0.1, 0.1, 0.2, 0.3, 0.4, 0.5]) == []  # a tie breaks the run


@pytest.mark.requirement("ANA-01")
def test_rule_5_two_of_three_beyond_2_sigma_on_the_same_side_at_the_second_one():
    values = [0.0, 2.3, 0.5, 2.4, 0.1, 0.0]
    assert _flags(values) == [(3, 5)]
    assert _flags([0.0, 2.3, -2.4, 0.1]) == []  # opposite sides
    assert _flags([0.0, -2.2, -2.5, 0.0]) == [(2, 5)]


def test_each_rule_can_be_switched_off():
    values = [0.0, 2.3, 0.5, 2.4, 3.5]
    assert {r for _, r in _flags(values)} == {1, 5}
    assert _flags(values, rules=[1]) == [(4, 1)]
    assert _flags(values, rules=[]) == []
    with pytest.raises(ChartInputError):
        violations(values, UNIT, rules=[4])


def test_a_stable_series_of_200_normal_points_with_a_fixed_seed_shows_nothing():
    """Seed 0: no flag, with the true limits and with limits from its first 20 points.

    Not every seed is this quiet: see the false-alarm rate below and in qc/control_charts.py.
    """
    values = _stable(seed=0)
    assert violations(values, UNIT) == []
    assert chart(values, baseline_points=20).violations == []


def test_false_alarm_rate_on_stable_series_is_the_documented_one():
    """Rule 1 alone flags 0.27 % of in-control points (2 · (1 − Φ(3))); the four rules together
    about 1 % (documented in qc/control_charts.py). 100 seeded series of 200 points."""
    flagged = rule_1 = total = 0
    for seed in range(100):
        values = _stable(seed=1000 + seed)
        found = violations(values, UNIT)
        flagged += len({v.index for v in found})
        rule_1 += sum(1 for v in found if v.rule == 1)
        total += len(values)
    assert 0.0010 < rule_1 / total < 0.0050
    assert 0.006 < flagged / total < 0.015


def test_no_rule_is_judged_before_the_baseline_is_complete_or_when_it_does_not_vary():
    rising = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert chart(rising, baseline_points=20).violations == []
    assert chart(rising, baseline_points=20).limits is None
    flat = [98.2] * 25 + [97.0]
    assert chart(flat, baseline_points=20).limits is None  # sigma 0: no limits, no rules
    assert chart(flat, baseline_points=20).violations == []


def test_a_point_after_the_baseline_beyond_3_sigma_is_flagged_once():
    values = [80.0 + (0.5 if i % 2 else -0.5) for i in range(20)] + [80.2, 70.0]
    result = chart(values, baseline_points=20)
    assert result.limits.centre == pytest.approx(80.0)
    assert [(v.index, v.rule) for v in result.violations] == [(21, 1)]
    assert result.violations_at(21)[0].text == "one point beyond 3 sigma"


def test_values_that_are_not_finite_are_refused():
    with pytest.raises(ChartInputError):
        chart([1.0, float("nan")], baseline_points=2)
    with pytest.raises(ChartInputError):
        limits_from([1.0])


# --- Out of trend: a new violation opens one `oot` event and one alert (qc.services.trends) ----


def _baseline_batches(operator, *, count=20, rcp=None):
    """`count` QC-pending batch rows on the days before REFERENCE_TIME, yields alternating
    85 ± 0.7 % and, when given, RCP results (through the service) alternating over `rcp`."""
    batches = []
    for k in range(count):
        batch = ReleasedBatchFactory(
            operator=operator,
            eos_at=REFERENCE_TIME - timedelta(days=count + 1 - k),
            status="qc_pending",
            yield_percent=85.0 + (0.7 if k % 2 else -0.7),
        )
        if rcp is not None:
            _result(batch, "rcp_itlc", rcp[k % 2])
        batches.append(batch)
    return batches


def _result(batch, test, value, reason=""):
    from qc.services.results import qc_result_record

    performed = batch.eos_at + timedelta(minutes=15)
    with as_of(performed + timedelta(minutes=1)):
        return qc_result_record(
            actor=batch.operator,
            batch_id=batch.pk,
            test=test,
            value=value,
            performed_at=performed,
            reason=reason,
        )


def _oot_events(batch):
    from qc.models import Deviation

    return list(Deviation.objects.filter(batch=batch, kind="oot"))


def _oot_alerts():
    from radiopharmacy.core.models import Alert

    return list(Alert.objects.filter(kind="oot"))


@pytest.mark.django_db
@pytest.mark.requirement("ANA-01")
def test_a_yield_breaking_rule_1_opens_one_oot_event_and_its_correction_no_second(
    radiopharmacist,
):
    from qc.services import trends
    from radiopharmacy.services.batches import batch_correct

    baseline = _baseline_batches(radiopharmacist)
    assert all(_oot_events(b) == [] for b in baseline)
    eos = REFERENCE_TIME - timedelta(hours=20)
    low = BatchFactory(
        operator=radiopharmacist,
        started_at=eos - timedelta(minutes=25),
        eos_at=eos,
        activity_mbq=500.0,  # yield about 71.5 %: far below the 3-sigma limit (about 82 %)
        recorded_at=eos + timedelta(minutes=5),
    )
    _result(low, "ph", 6.5)  # QC entry judges the batch's yield

    events = _oot_events(low)
    assert len(events) == 1
    assert "Synthesis yield" in events[0].description and "rule 1" in events[0].description
    assert [a.object_id for a in _oot_alerts()] == [str(low.pk)]

    # the same yield entered again as a correction, then judged by QC entry and the job
    with as_of(eos + timedelta(minutes=40)):
        batch_correct(
            actor=radiopharmacist,
            batch_id=low.pk,
            changes={"activity_mbq": 502.0},
            reason="Re-measured in the dose calibrator: 502 MBq",
        )
    _result(low, "appearance", "pass")
    with as_of(eos + timedelta(hours=1)):
        assert trends.oot_check_recent() == 0
    assert len(_oot_events(low)) == 1
    assert len(_oot_alerts()) == 1


@pytest.mark.django_db
@pytest.mark.requirement("ANA-01")
def test_an_rcp_result_breaking_rule_1_opens_one_oot_event_and_a_correction_no_second(
    radiopharmacist,
):
    _baseline_batches(radiopharmacist, rcp=(98.0, 98.4))
    eos = REFERENCE_TIME - timedelta(hours=20)
    batch = BatchFactory(
        operator=radiopharmacist,
        started_at=eos - timedelta(minutes=25),
        eos_at=eos,
        activity_mbq=600.0,
        recorded_at=eos + timedelta(minutes=5),
    )
    first = _result(batch, "rcp_itlc", 96.0)  # passes the 95 % limit, but out of trend
    assert first.passed
    events = _oot_events(batch)
    assert len(events) == 1
    assert events[0].qc_result_id == first.pk
    assert "Radiochemical purity" in events[0].description

    _result(batch, "rcp_itlc", 96.0, reason="Re-read the scanner printout: 96.0 % confirmed")
    assert len(_oot_events(batch)) == 1
    assert len(_oot_alerts()) == 1


@pytest.mark.django_db
def test_an_rcp_out_of_specification_is_an_oos_not_an_oot(radiopharmacist):
    _baseline_batches(radiopharmacist, rcp=(98.0, 98.4))
    eos = REFERENCE_TIME - timedelta(hours=20)
    batch = BatchFactory(
        operator=radiopharmacist,
        started_at=eos - timedelta(minutes=25),
        eos_at=eos,
        activity_mbq=600.0,
        recorded_at=eos + timedelta(minutes=5),
    )
    _result(batch, "rcp_itlc", 93.0)
    assert _oot_events(batch) == []
    assert batch.deviations.filter(kind="oos").count() == 1


@pytest.mark.django_db
@pytest.mark.requirement("ANA-01")
def test_the_trends_api_returns_the_chart_with_its_limits_and_violations(radiopharmacist, api_as):
    _baseline_batches(radiopharmacist, count=20)
    eos = REFERENCE_TIME - timedelta(hours=20)
    low = BatchFactory(
        operator=radiopharmacist,
        started_at=eos - timedelta(minutes=25),
        eos_at=eos,
        activity_mbq=500.0,
        recorded_at=eos + timedelta(minutes=5),
    )
    client = api_as(radiopharmacist)
    response = client.get(
        "/api/v1/trends/",
        {
            "metric": "yield",
            "from": (REFERENCE_TIME - timedelta(days=30)).isoformat(),
            "to": REFERENCE_TIME.isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["points"]) == 21
    assert body["centre_line"] == pytest.approx(low.yield_percent, abs=20)
    assert body["lower_control_limit"] < body["centre_line"] < body["upper_control_limit"]
    assert [(v["batch_number"], v["rule"]) for v in body["violations"]] == [(low.batch_number, 1)]
    assert client.get("/api/v1/trends/", {"metric": "colour"}).status_code == 400
    assert client.get("/api/v1/trends/", {"metric": "efficiency"}).status_code == 400
