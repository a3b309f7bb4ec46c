"""Individuals and moving-range (I-MR) control charts with Nelson rules 1, 2, 3 and 5 (SPEC §2.9).

Pure: plain floats in, plain values out; no Django. The centre line is the mean of the baseline
points and sigma is estimated from their average moving range, MR-bar / d2 with d2 = 1.128 for
ranges of two consecutive points (Montgomery, Introduction to Statistical Quality Control, §6.4),
so a slow drift inside the baseline does not inflate the limits the way a plain standard
deviation would. The moving-range chart's upper limit is D4 · MR-bar, D4 = 3.267.

The rules (Nelson, J. Qual. Technol. 16(4), 1984), each reported at the point that completes it:
- 1: one point beyond 3 sigma from the centre line;
- 2: nine points in a row on the same side of the centre line;
- 3: six points in a row steadily increasing or steadily decreasing;
- 5: two of three points in a row beyond 2 sigma on the same side (the reported point is one of
  them).

False alarms: on a stable normal process rule 1 alone flags 0.27 % of the points; rules 1, 2, 3
and 5 together flag about 1 % of them with the true limits, and about 2.7 % with limits estimated
from a 20-point baseline (measured by simulation in tests/qc/test_control_charts.py). So a stable
200-point series shows no flag at all only about one time in six: expect an occasional `oot`
event that the investigation closes with "no product impact".
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import isfinite

D2 = 1.128  # E[range of 2 normal observations] / sigma
D4 = 3.267  # upper limit of the moving-range chart, times MR-bar
RULES = (1, 2, 3, 5)
RULE_TEXT = {
    1: "one point beyond 3 sigma",
    2: "nine points in a row on one side of the centre line",
    3: "six points in a row steadily rising or falling",
    5: "two of three points beyond 2 sigma on the same side",
}
RUN_ONE_SIDE = 9
RUN_TREND = 6


class ChartInputError(ValueError):
    """Values a chart cannot use (not finite, too few for a baseline)."""


@dataclass(frozen=True)
class Limits:
    centre: float
    sigma: float
    mr_bar: float

    @property
    def ucl(self) -> float:
        return self.centre + 3 * self.sigma

    @property
    def lcl(self) -> float:
        return self.centre - 3 * self.sigma

    @property
    def mr_ucl(self) -> float:
        return D4 * self.mr_bar

    def zone(self, k: float) -> tuple[float, float]:
        return self.centre - k * self.sigma, self.centre + k * self.sigma


@dataclass(frozen=True)
class Violation:
    index: int  # the point that completes the rule
    rule: int
    text: str


@dataclass(frozen=True)
class Chart:
    values: list[float]
    moving_ranges: list[float | None]  # None for the first point
    limits: Limits | None  # None while the baseline is incomplete or shows no variation
    baseline_count: int
    violations: list[Violation] = field(default_factory=list)

    def violations_at(self, index: int) -> list[Violation]:
        return [v for v in self.violations if v.index == index]


def _finite(values: Iterable[float]) -> list[float]:
    out = [float(v) for v in values]
    if not all(isfinite(v) for v in out):
        raise ChartInputError("Every value of a control chart must be a finite number.")
    return out


def moving_ranges(values: Sequence[float]) -> list[float | None]:
    return [None] + [abs(b - a) for a, b in zip(values, values[1:], strict=False)]


def limits_from(baseline: Sequence[float]) -> Limits:
    """Centre line and sigma (MR-bar / d2) from at least two baseline points."""
    values = _finite(baseline)
    if len(values) < 2:
        raise ChartInputError("A baseline needs at least two points.")
    ranges = [r for r in moving_ranges(values) if r is not None]
    mr_bar = sum(ranges) / len(ranges)
    return Limits(centre=sum(values) / len(values), sigma=mr_bar / D2, mr_bar=mr_bar)


def _side(value: float, centre: float) -> int:
    return (value > centre) - (value < centre)


def _rule_1(values, limits):
    return [i for i, v in enumerate(values) if abs(v - limits.centre) > 3 * limits.sigma]


def _rule_2(values, limits):
    hits, run, side = [], 0, 0
    for i, v in enumerate(values):
        s = _side(v, limits.centre)
        run = run + 1 if s != 0 and s == side else (1 if s != 0 else 0)
        side = s
        if run >= RUN_ONE_SIDE:
            hits.append(i)
    return hits


def _rule_3(values, limits):
    hits, run, direction = [], 1, 0
    for i in range(1, len(values)):
        d = _side(values[i], values[i - 1])
        run = run + 1 if d != 0 and d == direction else (2 if d != 0 else 1)
        direction = d
        if run >= RUN_TREND:
            hits.append(i)
    return hits


def _rule_5(values, limits):
    hits = []
    low, high = limits.zone(2)
    for i in range(2, len(values)):
        window = values[i - 2 : i + 1]
        above = values[i] > high and sum(1 for v in window if v > high) >= 2
        below = values[i] < low and sum(1 for v in window if v < low) >= 2
        if above or below:
            hits.append(i)
    return hits


_CHECKS = {1: _rule_1, 2: _rule_2, 3: _rule_3, 5: _rule_5}


def violations(
    values: Sequence[float], limits: Limits, rules: Iterable[int] = RULES
) -> list[Violation]:
    """Every rule violation of the series against `limits`, ordered by index then rule."""
    values = _finite(values)
    rules = sorted(set(rules))
    unknown = [r for r in rules if r not in _CHECKS]
    if unknown:
        raise ChartInputError(f"Unknown Nelson rule(s) {unknown}: choose from {list(RULES)}.")
    found = [Violation(i, r, RULE_TEXT[r]) for r in rules for i in _CHECKS[r](values, limits)]
    return sorted(found, key=lambda v: (v.index, v.rule))


def chart(
    values: Sequence[float],
    *,
    baseline_points: int,
    rules: Iterable[int] = RULES,
    limits: Limits | None = None,
) -> Chart:
    """The I-MR chart of a series in time order.

    The first `baseline_points` values set the limits (unless `limits` is given). No rule is
    judged until the baseline is complete, nor when it shows no variation at all (every value
    equal: sigma 0 would make any change a violation).
    """
    values = _finite(values)
    if baseline_points < 2:
        raise ChartInputError("A baseline needs at least two points.")
    count = min(baseline_points, len(values))
    if limits is None and len(values) >= baseline_points:
        limits = limits_from(values[:baseline_points])
    if limits is not None and limits.sigma <= 0:
        limits = None
    found = violations(values, limits, rules) if limits is not None else []
    return Chart(
        values=values,
        moving_ranges=moving_ranges(values),
        limits=limits,
        baseline_count=count,
        violations=found,
    )
