"""Generator forecast (SPEC §2.9): the efficiency trend, Ge-68 decay and what a day can serve.

Pure: plain values and aware datetimes in, dataclasses out; no Django. Decay and ingrowth come
from `radiopharmacy.physics`.

- The efficiency trend is an ordinary least-squares line through the generator's own elutions
  (efficiency in % against time in weeks), with the standard errors of the textbook formulas
  (Draper & Smith, Applied Regression Analysis, ch. 1). Its band is the 95 % confidence band of
  the mean line, mean ± t(0.975, n − 2) · s · sqrt(1/n + (x − x̄)² / Sxx): the range in which the
  generator's true efficiency lies, not a single elution's scatter.
- Each coming week is represented by a morning elution of a column in equilibrium (left
  overnight): eluate = η · G_eq(A_Ge). The first synthesis of the day starts from it; a second
  elutes `second_elution_after_min` later from what the first left behind plus the ingrowth.
- A synthesis serves standard patients (the median prescribed activity) one after the other,
  every `patient_interval_min` from release (EOS + QC + draw lead time) until its shelf life
  ends, each dose decay-corrected back to EOS, while the product lasts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

from radiopharmacy import physics
from radiopharmacy.core.errors import InputError

WEEK_MIN = 7 * 24 * 60.0
BAND_LEVEL = 0.95


def _weeks(start: datetime, end: datetime) -> float:
    return physics.elapsed_minutes(start, end) / WEEK_MIN


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5).

    Within 0.3 % of the exact value for df ≥ 3 at p = 0.975; df ≥ 1.
    """
    if df < 1:
        raise InputError("A t quantile needs at least one degree of freedom.")
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope · x by least squares, with what its uncertainty needs."""

    slope: float
    intercept: float
    n: int
    x_mean: float
    sxx: float
    residual_sd: float  # s, on n − 2 degrees of freedom

    def mean_at(self, x: float) -> float:
        return self.intercept + self.slope * x

    @property
    def slope_se(self) -> float:
        return self.residual_sd / math.sqrt(self.sxx)

    def mean_se_at(self, x: float) -> float:
        return self.residual_sd * math.sqrt(1 / self.n + (x - self.x_mean) ** 2 / self.sxx)

    def band_at(self, x: float, level: float = BAND_LEVEL) -> tuple[float, float]:
        half = t_quantile(0.5 + level / 2, self.n - 2) * self.mean_se_at(x)
        mean = self.mean_at(x)
        return mean - half, mean + half


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> LineFit | None:
    """The least-squares line, or None with fewer than 3 points or no spread in x."""
    if len(xs) != len(ys):
        raise InputError("xs and ys must have the same length.")
    n = len(xs)
    if n < 3:
        return None
    x_mean = sum(xs) / n
    y_mean = sum(ys) / n
    sxx = sum((x - x_mean) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = y_mean - slope * x_mean
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return LineFit(
        slope=slope,
        intercept=intercept,
        n=n,
        x_mean=x_mean,
        sxx=sxx,
        residual_sd=math.sqrt(sse / (n - 2)),
    )


@dataclass(frozen=True)
class DayModel:
    """How a production day runs (the site's plan settings, and the forecast's assumptions)."""

    synthesis_duration_min: float = 25.0
    qc_duration_min: float = 25.0
    draw_lead_time_min: float = 10.0
    shelf_life_min: float = 240.0
    yield_percent: float = 80.0
    patient_interval_min: float = 20.0  # one injection every 20 min from release
    second_elution_after_min: float = 240.0  # the second synthesis elutes 4 h after the first

    def __post_init__(self) -> None:
        for name in ("synthesis_duration_min", "qc_duration_min", "draw_lead_time_min"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(f"{name} must be a finite number ≥ 0.")
        for name in ("shelf_life_min", "patient_interval_min", "second_elution_after_min"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise InputError(f"{name} must be a positive number.")
        if not (0 < self.yield_percent <= 100):
            raise InputError("yield_percent must be in (0, 100].")


def patients_per_synthesis(
    *, eluate_mbq: float, standard_patient_mbq: float, model: DayModel
) -> int:
    """How many standard patients one synthesis from `eluate_mbq` (at elution) serves."""
    if standard_patient_mbq <= 0:
        raise InputError("standard_patient_mbq must be positive.")
    at_eos = physics.decay_over_minutes(max(eluate_mbq, 0.0), model.synthesis_duration_min) * (
        model.yield_percent / 100
    )
    first = model.qc_duration_min + model.draw_lead_time_min  # minutes after EOS
    lam = physics.GA68.decay_constant_per_min
    patients, needed = 0, 0.0
    t = first
    while t <= model.shelf_life_min:
        needed += standard_patient_mbq * math.exp(lam * t)  # the dose decay-corrected to EOS
        if needed > at_eos:
            break
        patients += 1
        t += model.patient_interval_min
    return patients


def day_capacity(
    *, ge68_mbq: float, efficiency_percent: float, standard_patient_mbq: float, model: DayModel
) -> tuple[float, int, int]:
    """(morning eluate MBq, patients with one synthesis, patients with two) on a day."""
    eta = min(max(efficiency_percent, 0.0), 100.0) / 100
    column = physics.equilibrium_ga68_mbq(max(ge68_mbq, 0.0))
    first = eta * column
    one = patients_per_synthesis(
        eluate_mbq=first, standard_patient_mbq=standard_patient_mbq, model=model
    )
    regrown = physics.ingrowth_ga68_mbq(
        ge68_at_start_mbq=max(ge68_mbq, 0.0),
        residual_mbq=column - first,
        minutes=model.second_elution_after_min,
    )
    two = one + patients_per_synthesis(
        eluate_mbq=eta * regrown, standard_patient_mbq=standard_patient_mbq, model=model
    )
    return first, one, two


@dataclass(frozen=True)
class WeekForecast:
    at: datetime  # the week's representative morning elution
    ge68_activity_mbq: float
    efficiency_percent: float
    efficiency_low_percent: float | None
    efficiency_high_percent: float | None
    expected_eluate_mbq: float
    expected_eluate_low_mbq: float | None
    expected_eluate_high_mbq: float | None
    patients_one_synthesis: int
    patients_two_syntheses: int


@dataclass(frozen=True)
class Trend:
    """A least-squares trend per week, or what is known without one (fewer than 3 points)."""

    points: int
    slope_per_week: float | None
    slope_se_per_week: float | None
    current: float | None  # the trend's value at the forecast's start


@dataclass(frozen=True)
class BreakthroughTrend(Trend):
    limit_percent: float = physics.BREAKTHROUGH_LIMIT_PERCENT
    predicted_at_expiry_percent: float | None = None
    reaches_limit_at: datetime | None = None  # before expiry, on the trend line


@dataclass(frozen=True)
class Forecast:
    start: datetime
    expires_at: datetime
    efficiency: Trend
    weeks: list[WeekForecast]
    standard_patient_mbq: float
    daily_need_patients: float | None
    below_need_at: datetime | None  # the first week two syntheses serve fewer than the need
    breakthrough: BreakthroughTrend
    notes: list[str] = field(default_factory=list)


def _trend(points: Sequence[tuple[datetime, float]], start: datetime):
    xs = [_weeks(start, at) for at, _ in points]
    ys = [float(v) for _, v in points]
    return fit_line(xs, ys), xs, ys


def _eluate(column_mbq: float, percent: float | None) -> float | None:
    return None if percent is None else column_mbq * min(max(percent, 0.0), 100.0) / 100


def generator_forecast(
    *,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    expires_at: datetime,
    start: datetime,
    efficiencies: Sequence[tuple[datetime, float]],
    nominal_efficiency_percent: float,
    standard_patient_mbq: float,
    daily_need_patients: float | None,
    model: DayModel,
    breakthroughs: Sequence[tuple[datetime, float]] = (),
    until: datetime | None = None,
) -> Forecast:
    """The weekly forecast from `start` (a morning elution time) to expiry (or `until`).

    `efficiencies` are the elutions to fit, (eluted_at, efficiency %); with fewer than 3 the
    forecast keeps the mean (or the nominal efficiency) with no band. Preconditions: aware
    datetimes; positive activities.
    """
    for name, value in (("calibrated_at", calibrated_at), ("expires_at", expires_at)):
        physics.require_aware(value, name)
    physics.require_aware(start, "start")
    end = min(expires_at, until) if until is not None else expires_at
    notes: list[str] = []
    fit, _, ys = _trend(efficiencies, start)
    if fit is None:
        flat = sum(ys) / len(ys) if ys else nominal_efficiency_percent
        notes.append(
            "Fewer than 3 elutions: the efficiency is held at "
            + ("their mean" if ys else "the nominal efficiency")
            + ", with no trend or band."
        )
        efficiency = Trend(
            points=len(ys), slope_per_week=None, slope_se_per_week=None, current=flat
        )
    else:
        efficiency = Trend(
            points=fit.n,
            slope_per_week=fit.slope,
            slope_se_per_week=fit.slope_se,
            current=fit.mean_at(0.0),
        )

    weeks: list[WeekForecast] = []
    below_need_at = None
    at = start
    while at <= end:
        x = _weeks(start, at)
        ge = physics.ge68_activity_mbq(
            nominal_activity_mbq=nominal_activity_mbq, calibrated_at=calibrated_at, at=at
        )
        if fit is None:
            eff, low, high = efficiency.current, None, None
        else:
            eff = fit.mean_at(x)
            low, high = fit.band_at(x)
        eluate, one, two = day_capacity(
            ge68_mbq=ge,
            efficiency_percent=eff,
            standard_patient_mbq=standard_patient_mbq,
            model=model,
        )
        column = physics.equilibrium_ga68_mbq(ge)
        weeks.append(
            WeekForecast(
                at=at,
                ge68_activity_mbq=ge,
                efficiency_percent=eff,
                efficiency_low_percent=low,
                efficiency_high_percent=high,
                expected_eluate_mbq=eluate,
                expected_eluate_low_mbq=_eluate(column, low),
                expected_eluate_high_mbq=_eluate(column, high),
                patients_one_synthesis=one,
                patients_two_syntheses=two,
            )
        )
        if below_need_at is None and daily_need_patients and two < daily_need_patients:
            below_need_at = at
        at = at + timedelta(days=7)

    return Forecast(
        start=start,
        expires_at=expires_at,
        efficiency=efficiency,
        weeks=weeks,
        standard_patient_mbq=standard_patient_mbq,
        daily_need_patients=daily_need_patients,
        below_need_at=below_need_at,
        breakthrough=breakthrough_trend(breakthroughs, start=start, expires_at=expires_at),
        notes=notes,
    )


def breakthrough_trend(
    points: Sequence[tuple[datetime, float]], *, start: datetime, expires_at: datetime
) -> BreakthroughTrend:
    """The breakthrough's least-squares trend, its value at expiry and when it would reach the
    limit (Ph. Eur. 0.001 %) before expiry."""
    fit, _, ys = _trend(points, start)
    if fit is None:
        return BreakthroughTrend(
            points=len(ys),
            slope_per_week=None,
            slope_se_per_week=None,
            current=ys[-1] if ys else None,
        )
    x_end = _weeks(start, expires_at)
    reaches = None
    limit = physics.BREAKTHROUGH_LIMIT_PERCENT
    if fit.slope > 0:
        x_cross = (limit - fit.intercept) / fit.slope
        if x_cross <= x_end:
            x_cross = max(x_cross, 0.0)
            reaches = start + timedelta(minutes=x_cross * WEEK_MIN)
    elif fit.mean_at(0.0) >= limit:
        reaches = start
    return BreakthroughTrend(
        points=fit.n,
        slope_per_week=fit.slope,
        slope_se_per_week=fit.slope_se,
        current=fit.mean_at(0.0),
        predicted_at_expiry_percent=fit.mean_at(x_end),
        reaches_limit_at=reaches,
    )
