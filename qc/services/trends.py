"""Control charts of the quality metrics and the out-of-trend check (SPEC §2.9).

The series are read here and charted by the pure `qc.control_charts`: decay-corrected synthesis
yield, RCP and pH per batch (the result that counts: not superseded), elution efficiency per
generator and the eluate's Ge-68 breakthrough. Limits come from the first
`TREND_BASELINE_POINTS` points of the chart (the baseline period); the series reaches back
`TREND_WINDOW_DAYS` days before the point judged.

A point is judged when it is recorded: after a QC result (`qc.services.results` calls
`oot_check_batch`: the result's own metric and the batch's yield) and by the periodic job
`qc.trends_check` (every recent point of every metric, which catches a yield corrected after
QC, an elution and a breakthrough result, none of which pass through QC entry). A point that
breaks a rule opens one `oot` quality event on its batch and raises one alert; the alert's key
names the metric and the record (`oot:yield:batch:42`), so the same point judged again (a
correction of the same value, a second run of the job) opens nothing more. A value out of
specification is an OOS, not an OOT: it is left to the OOS.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc import control_charts
from qc.models import Deviation, QcResult
from qc.services.deviations import deviation_open
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.models import Batch, BreakthroughTest, Elution

YIELD, RCP, PH, EFFICIENCY, BREAKTHROUGH = "yield", "rcp", "ph", "efficiency", "breakthrough"


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    unit: str
    per_generator: bool = False  # efficiency: one chart per generator
    test_codes: tuple[str, ...] = ()  # QC results of these tests
    rules: tuple[int, ...] = control_charts.RULES


METRICS: dict[str, Metric] = {
    m.code: m
    for m in (
        Metric(YIELD, "Synthesis yield (decay-corrected)", "%"),
        Metric(RCP, "Radiochemical purity", "%", test_codes=("rcp_itlc",)),
        Metric(PH, "pH", "", test_codes=("ph",)),
        Metric(EFFICIENCY, "Elution efficiency", "%", per_generator=True),
        Metric(BREAKTHROUGH, "Ge-68 breakthrough of the eluate", "%"),
    )
}
METRIC_BY_TEST = {code: m for m in METRICS.values() for code in m.test_codes}
# How far back the periodic job judges points it has not seen through QC entry.
RECENT = timedelta(days=3)


def metric_rules(metric: Metric) -> tuple[int, ...]:
    """The rules switched on for a metric: settings.TREND_RULES overrides the default (all)."""
    return tuple(getattr(settings, "TREND_RULES", {}).get(metric.code, metric.rules))


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    key: str  # the record: "batch:42", "elution:7", "breakthrough:3"
    batch_id: int | None
    batch_number: str
    passed: bool = True  # within its specification (an OOS point is not an OOT)
    qc_result_id: int | None = None


def _get_metric(code: str) -> Metric:
    metric = METRICS.get(code)
    if metric is None:
        message = f"Choose one of: {', '.join(METRICS)}."
        raise ApplicationError(message, fields={"metric": [message]})
    return metric


def series(
    metric: Metric,
    *,
    start: datetime,
    end: datetime,
    generator_id: int | None = None,
    method: str | None = None,
) -> list[Point]:
    """The metric's points from `start` to `end`, in time order (two queries at most)."""
    if metric.code == YIELD:
        rows = (
            Batch.objects.filter(eos_at__gte=start, eos_at__lte=end, yield_percent__isnull=False)
            .order_by("eos_at", "id")
            .values_list("id", "eos_at", "yield_percent", "batch_number")
        )
        if generator_id is not None:
            rows = rows.filter(elutions__generator_id=generator_id).distinct()
        return [Point(at, v, f"batch:{pk}", pk, number) for pk, at, v, number in rows]
    if metric.test_codes:
        rows = QcResult.objects.filter(
            test_code__in=metric.test_codes,
            superseded_by__isnull=True,
            value_number__isnull=False,
            value_qualifier="",
            batch__eos_at__gte=start,
            batch__eos_at__lte=end,
        )
        if metric.code == PH:
            # the kit and the automated synthesis have different pH ranges: one chart each
            rows = rows.filter(batch__method=method or "automated")
        if generator_id is not None:
            rows = rows.filter(batch__elutions__generator_id=generator_id).distinct()
        rows = rows.order_by("batch__eos_at", "batch_id").values_list(
            "batch_id", "batch__eos_at", "value_number", "batch__batch_number", "passed", "id"
        )
        return [
            Point(at, v, f"batch:{b}", b, number, passed, pk)
            for b, at, v, number, passed, pk in rows
        ]
    if metric.code == EFFICIENCY:
        if generator_id is None:
            message = "Elution efficiency is charted per generator: give `generator`."
            raise ApplicationError(message, fields={"generator": [message]})
        elutions = (
            Elution.objects.filter(
                generator_id=generator_id,
                superseded_by__isnull=True,
                eluted_at__gte=start,
                eluted_at__lte=end,
            )
            .order_by("eluted_at", "id")
            .prefetch_related("batches")
        )
        points = []
        for e in elutions:
            batch = min(e.batches.all(), key=lambda b: b.pk, default=None)
            points.append(
                Point(
                    e.eluted_at,
                    e.efficiency_percent,
                    f"elution:{e.pk}",
                    batch.pk if batch else None,
                    batch.batch_number if batch else "",
                )
            )
        return points
    tests = BreakthroughTest.objects.filter(
        elution__eluted_at__gte=start, elution__eluted_at__lte=end
    )
    if generator_id is not None:
        tests = tests.filter(elution__generator_id=generator_id)
    tests = tests.select_related("elution").prefetch_related("elution__batches")
    points = []
    for t in sorted(tests, key=lambda t: (t.elution.eluted_at, t.pk)):
        batch = min(t.elution.batches.all(), key=lambda b: b.pk, default=None)
        points.append(
            Point(
                t.elution.eluted_at,
                t.breakthrough_percent,
                f"breakthrough:{t.pk}",
                batch.pk if batch else None,
                batch.batch_number if batch else "",
                t.passed,
            )
        )
    return points


def trend_chart(
    code: str,
    *,
    start: datetime,
    end: datetime,
    generator_id: int | None = None,
    method: str | None = None,
) -> tuple[Metric, list[Point], control_charts.Chart]:
    """The chart of a metric over a period: its points, the limits from the baseline period at
    its start, and the rule violations."""
    metric = _get_metric(code)
    points = series(metric, start=start, end=end, generator_id=generator_id, method=method)
    chart = control_charts.chart(
        [p.value for p in points],
        baseline_points=settings.TREND_BASELINE_POINTS,
        rules=metric_rules(metric),
    )
    return metric, points, chart


def chart_as_dict(metric: Metric, points: list[Point], chart) -> dict:
    """The chart as the API, the pages and the quality review show it."""
    by_index: dict[int, list] = {}
    for v in chart.violations:
        by_index.setdefault(v.index, []).append(v)
    limits = chart.limits
    return {
        "metric": metric.code,
        "label": metric.label,
        "unit": metric.unit,
        "baseline_points": settings.TREND_BASELINE_POINTS,
        "rules": list(metric_rules(metric)),
        "centre_line": limits.centre if limits else None,
        "sigma": limits.sigma if limits else None,
        "upper_control_limit": limits.ucl if limits else None,
        "lower_control_limit": limits.lcl if limits else None,
        "moving_range_mean": limits.mr_bar if limits else None,
        "moving_range_upper_limit": limits.mr_ucl if limits else None,
        "points": [
            {
                "at": p.at,
                "value": p.value,
                "moving_range": chart.moving_ranges[i],
                "record": p.key,
                "batch": p.batch_id,
                "batch_number": p.batch_number,
                "rules": [v.rule for v in by_index.get(i, [])],
            }
            for i, p in enumerate(points)
        ],
        "violations": [
            {
                "at": points[v.index].at,
                "rule": v.rule,
                "text": v.text,
                "value": points[v.index].value,
                "record": points[v.index].key,
                "batch": points[v.index].batch_id,
                "batch_number": points[v.index].batch_number,
            }
            for v in chart.violations
        ],
    }


# --- The out-of-trend check -------------------------------------------------------------------


def _judge(metric: Metric, point: Point, *, generator_id=None, method=None):
    """The violations at `point` on the chart of the window that ends with it."""
    window = timedelta(days=settings.TREND_WINDOW_DAYS)
    points = series(
        metric,
        start=point.at - window,
        end=point.at,
        generator_id=generator_id,
        method=method,
    )
    index = next((i for i, p in enumerate(points) if p.key == point.key), None)
    if index is None:
        return [], None
    chart = control_charts.chart(
        [p.value for p in points[: index + 1]],
        baseline_points=settings.TREND_BASELINE_POINTS,
        rules=metric_rules(metric),
    )
    return chart.violations_at(index), chart


def _oot_open(metric: Metric, point: Point, found, chart, *, actor: User | None) -> bool:
    """One alert and one `oot` event per point; False when this point was flagged already."""
    rules = ", ".join(f"rule {v.rule} ({v.text})" for v in found)
    limits = chart.limits
    where = f"batch {point.batch_number}" if point.batch_number else point.key
    message = (
        f"Out of trend: {metric.label} {point.value:g}{metric.unit and ' ' + metric.unit} on "
        f"{where} ({site_time(point.at, '%Y-%m-%d %H:%M %Z')}) breaks {rules}; centre line "
        f"{limits.centre:.4g}, 3-sigma limits {limits.lcl:.4g} to {limits.ucl:.4g}."
    )
    _, raised = alert_raise(
        key=f"oot:{metric.code}:{point.key}",
        kind="oot",
        message=message,
        object_type="batch" if point.batch_id else point.key.split(":")[0],
        object_id=str(point.batch_id or point.key.split(":")[1]),
    )
    if not raised:
        return False
    if point.batch_id is not None:
        deviation_open(
            batch=Batch.objects.get(pk=point.batch_id),
            kind=Deviation.Kind.OOT,
            description=message,
            actor=actor,
            qc_result=QcResult.objects.get(pk=point.qc_result_id) if point.qc_result_id else None,
        )
    return True


def _check(metric: Metric, point: Point, *, actor=None, generator_id=None, method=None) -> bool:
    if not point.passed:
        return False  # out of specification: the OOS deals with it
    found, chart = _judge(metric, point, generator_id=generator_id, method=method)
    if not found:
        return False
    return _oot_open(metric, point, found, chart, actor=actor)


@transaction.atomic
def oot_check_batch(*, batch_id: int, actor: User | None = None, test_code: str = "") -> int:
    """Judge a batch's yield and, after a QC result, that test's metric; returns the number of
    `oot` events opened (0 when nothing is out of trend or it was flagged before)."""
    batch = Batch.objects.get(pk=batch_id)
    opened = 0
    checks = [METRICS[YIELD]]
    if test_code in METRIC_BY_TEST:
        checks.append(METRIC_BY_TEST[test_code])
    for metric in checks:
        key = f"batch:{batch.pk}"
        points = series(metric, start=batch.eos_at, end=batch.eos_at, method=batch.method)
        point = next((p for p in points if p.key == key), None)
        if point is not None:
            opened += _check(metric, point, actor=actor, method=batch.method)
    return opened


def oot_check_recent(*, now: datetime | None = None) -> int:
    """The periodic job: judge every point of the last days of every metric (each generator's
    efficiency on its own chart). Safe to run twice."""
    now = now or timezone.now()
    opened = 0
    for metric in METRICS.values():
        if metric.per_generator:
            generator_ids = (
                Elution.objects.filter(eluted_at__gte=now - RECENT)
                .values_list("generator_id", flat=True)
                .distinct()
            )
            scopes = [{"generator_id": g} for g in generator_ids]
        elif metric.code == PH:
            scopes = [{"method": m} for m in ("automated", "kit")]
        else:
            scopes = [{}]
        for scope in scopes:
            for point in series(metric, start=now - RECENT, end=now, **scope):
                with transaction.atomic():
                    opened += _check(metric, point, **scope)
    return opened
