"""The forecast of a generator (SPEC §2.9) from its records, the site's plan settings and the
bookings of the last 30 days (scheduling). Computed by the pure `radiopharmacy.forecast`."""

import statistics
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from radiopharmacy import forecast
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.sitetime import site_at, site_date
from radiopharmacy.models import Batch, BreakthroughTest, Elution, Generator, Product, SiteSettings
from scheduling.choices import BookingStatus
from scheduling.models import Booking, PlanSettings

NEED_WINDOW = timedelta(days=30)
YIELD_WINDOW = 10  # the planner's expected yield: the last 10 released batches
STANDARD_WEIGHT_KG = 75.0  # a standard patient when no booking was made in the last 30 days
NOT_SERVED = (BookingStatus.CANCELLED, BookingStatus.MISSED)


def standard_patient_and_need(*, now: datetime) -> tuple[float, float | None, int]:
    """(median prescribed activity MBq, median bookings per booked day, bookings counted) over
    the last 30 days; without bookings a 75 kg patient of the site's product and no need."""
    rows = list(
        Booking.objects.filter(injection_at__gte=now - NEED_WINDOW, injection_at__lte=now)
        .exclude(status__in=NOT_SERVED)
        .values_list("injection_at", "prescribed_activity_mbq")
    )
    if not rows:
        product = Product.objects.order_by("id").first()
        per_kg, cap = (product.dose_per_kg_mbq, product.max_dose_mbq) if product else (2.0, 200.0)
        return min(per_kg * STANDARD_WEIGHT_KG, cap), None, 0
    per_day: dict = {}
    for at, _ in rows:
        per_day[site_date(at)] = per_day.get(site_date(at), 0) + 1
    return (
        statistics.median(a for _, a in rows),
        statistics.median(per_day.values()),
        len(rows),
    )


def day_model(*, now: datetime) -> forecast.DayModel:
    plan = PlanSettings.current()
    product = Product.objects.order_by("id").first()
    yields = [
        min(100.0, y)
        for y in Batch.objects.filter(
            status=BatchStatus.RELEASED, yield_percent__gt=0, eos_at__lt=now
        )
        .order_by("-eos_at", "-id")
        .values_list("yield_percent", flat=True)[:YIELD_WINDOW]
    ]
    return forecast.DayModel(
        synthesis_duration_min=plan.synthesis_duration_min,
        qc_duration_min=plan.qc_duration_min,
        draw_lead_time_min=plan.draw_lead_time_min,
        shelf_life_min=product.shelf_life_min if product else 240,
        yield_percent=(
            statistics.fmean(yields) if yields else SiteSettings.current().default_yield_percent
        ),
    )


def next_morning(*, now: datetime) -> datetime:
    """The next morning elution at the plan's earliest elution time (today's if still ahead)."""
    clock = PlanSettings.current().earliest_elution
    today = site_at(site_date(now), clock)
    return today if today >= now else site_at(site_date(now) + timedelta(days=1), clock)


def generator_forecast(
    generator: Generator, *, days: int | None = None, now: datetime | None = None
) -> tuple[forecast.Forecast, dict]:
    """The forecast of `generator` from the next morning, and what it was computed from."""
    now = now or timezone.now()
    start = next_morning(now=now)
    fit_from = now - timedelta(days=settings.FORECAST_FIT_DAYS)
    efficiencies = list(
        Elution.objects.filter(
            generator=generator, superseded_by__isnull=True, eluted_at__gte=fit_from
        )
        .order_by("eluted_at", "id")
        .values_list("eluted_at", "efficiency_percent")
    )
    breakthroughs = list(
        BreakthroughTest.objects.filter(elution__generator=generator)
        .order_by("elution__eluted_at", "id")
        .values_list("elution__eluted_at", "breakthrough_percent")
    )
    standard, need, bookings = standard_patient_and_need(now=now)
    model = day_model(now=now)
    result = forecast.generator_forecast(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        expires_at=generator.expires_at,
        start=start,
        efficiencies=efficiencies,
        nominal_efficiency_percent=generator.nominal_efficiency_percent,
        standard_patient_mbq=standard,
        daily_need_patients=need,
        model=model,
        breakthroughs=breakthroughs,
        until=start + timedelta(days=days) if days else None,
    )
    basis = {
        "fit_from": fit_from,
        "bookings_counted": bookings,
        "yield_percent": model.yield_percent,
        "patient_interval_min": model.patient_interval_min,
        "second_elution_after_min": model.second_elution_after_min,
    }
    return result, basis
