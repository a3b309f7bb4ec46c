"""Trends pages (SPEC §2.9): a metric's control chart with its limits, its out-of-trend points
and links to the batches; the periodic quality reviews, requested here and downloaded as PDF.

The charts are drawn by Chart.js (served from static/vendor) from the page's json_script data.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from qc import control_charts
from qc.api.quality_reviews import review_pdf_response
from qc.models import Deviation, QualityReview
from qc.services import trends
from qc.services.quality_review import quality_review_request
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.core.sitetime import site_day_bounds, site_today
from radiopharmacy.models import Generator

DEFAULT_DAYS = 90


def _date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


PROVISIONAL_MIN_POINTS = 5


def _provisional(chart: dict) -> dict | None:
    """Limits from every point while the baseline is incomplete, drawn dashed and labelled
    provisional: no rule is judged on them (qc.control_charts judges only a full baseline)."""
    values = [p["value"] for p in chart["points"]]
    if chart["centre_line"] is not None or len(values) < PROVISIONAL_MIN_POINTS:
        return None
    limits = control_charts.limits_from(values)
    if limits.sigma <= 0:
        return None
    return {"centre": limits.centre, "ucl": limits.ucl, "lcl": limits.lcl}


def _chart_js(chart: dict) -> dict:
    """What static/js/trend-chart.js draws: values, limits per point, flagged points."""
    points = chart["points"]
    n = len(points)
    provisional = _provisional(chart)
    if provisional is not None:
        chart = {
            **chart,
            "centre_line": provisional["centre"],
            "upper_control_limit": provisional["ucl"],
            "lower_control_limit": provisional["lcl"],
            "moving_range_upper_limit": control_charts.D4
            * (provisional["ucl"] - provisional["centre"])
            / 3
            * control_charts.D2,
        }
    return {
        "provisional": provisional is not None,
        "label": chart["label"],
        "unit": chart["unit"],
        "labels": [f"{p['batch_number'] or p['record']}" for p in points],
        "values": [p["value"] for p in points],
        "flagged": [p["value"] if p["rules"] else None for p in points],
        "centre": [chart["centre_line"]] * n if chart["centre_line"] is not None else [],
        "ucl": [chart["upper_control_limit"]] * n if chart["centre_line"] is not None else [],
        "lcl": [chart["lower_control_limit"]] * n if chart["centre_line"] is not None else [],
        "moving_ranges": [p["moving_range"] for p in points],
        "mr_ucl": (
            [chart["moving_range_upper_limit"]] * n if chart["centre_line"] is not None else []
        ),
    }


class TrendsView(RoleRequiredMixin, View):
    """The control chart of one metric over a period (default: the last 90 days)."""

    permission_resource = "trends"

    def get(self, request):
        today = site_today()
        code = request.GET.get("metric") or trends.YIELD
        if code not in trends.METRICS:
            code = trends.YIELD
        period_to = min(_date(request.GET.get("to"), today), today)
        period_from = _date(request.GET.get("from"), period_to - timedelta(days=DEFAULT_DAYS))
        if period_from > period_to:
            period_from = period_to - timedelta(days=DEFAULT_DAYS)
        generators = list(Generator.objects.order_by("-calibrated_at", "id"))
        generator_id = request.GET.get("generator")
        generator = next((g for g in generators if str(g.pk) == generator_id), None)
        metric = trends.METRICS[code]
        if metric.per_generator and generator is None and generators:
            generator = generators[0]
        start, _ = site_day_bounds(period_from)
        _, end = site_day_bounds(period_to)
        chart = None
        if not (metric.per_generator and generator is None):
            m, points, result = trends.trend_chart(
                code, start=start, end=end, generator_id=generator.pk if generator else None
            )
            chart = trends.chart_as_dict(m, points, result)
        events = (
            Deviation.objects.filter(kind=Deviation.Kind.OOT, opened_at__gte=start)
            .select_related("batch")
            .order_by("-opened_at", "-id")[:50]
        )
        return render(
            request,
            "qc/trends.html",
            {
                "metrics": list(trends.METRICS.values()),
                "metric": metric,
                "generators": generators,
                "generator": generator,
                "period_from": period_from,
                "period_to": period_to,
                "chart": chart,
                "chart_js": _chart_js(chart) if chart else None,
                "events": events,
                "provisional": _provisional(chart) if chart else None,
            },
        )


class QualityReviewsView(RoleRequiredMixin, View):
    """The quality reviews, newest first; a radiopharmacist or QP requests one for a period."""

    permission_resource = "quality_reviews"

    def _page(self, request, *, errors=None, period_from=None, period_to=None):
        today = site_today()
        return render(
            request,
            "qc/trends_reviews.html",
            {
                "reviews": QualityReview.objects.select_related("requested_by").defer("pdf")[:100],
                "can_request": can(request.user, CHANGE, "quality_reviews"),
                "period_from": period_from or today - timedelta(days=6),
                "period_to": period_to or today,
                "errors": errors or {},
            },
            status=400 if errors else 200,
        )

    def get(self, request):
        return self._page(request)

    def post(self, request):
        today = site_today()
        period_from = _date(request.POST.get("period_from"), today - timedelta(days=6))
        period_to = _date(request.POST.get("period_to"), today)
        try:
            review = quality_review_request(
                actor=request.user, period_from=period_from, period_to=period_to
            )
        except ApplicationError as exc:
            errors = getattr(exc, "fields", None) or {"__all__": [str(exc)]}
            return self._page(request, errors=errors, period_from=period_from, period_to=period_to)
        messages.success(request, f"Quality review {review.pk} requested; its PDF is rendered.")
        return redirect(reverse("qc-quality-reviews"))


class QualityReviewPdfView(RoleRequiredMixin, View):
    permission_resource = "quality_reviews"

    def get(self, request, pk: int):
        review = get_object_or_404(QualityReview, pk=pk)
        if review.status != QualityReview.Status.DONE:
            messages.info(request, "That quality review is still being rendered.")
            return redirect(reverse("qc-quality-reviews"))
        return review_pdf_response(review, attachment=True)
