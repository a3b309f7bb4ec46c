"""The database as the pure planner's inputs (`scheduling.planner`), and back.

`build_inputs` reads the generator's column, its efficiency (mean and spread of the last 5
elutions), the expected synthesis yield (mean and spread of the last 10 released batches), the
plan settings (`PlanSettings`, or a what-if plan's overrides), the day's batches of the
generator (the stock still usable, and every synthesis made, which holds a module and the QC
bench and counts towards the day's maximum) and the bookings still waiting for a dose, into
JSON-ready values. A plan stores them next to its result, so a saved plan explains its numbers
and can be checked again from what it stored (`planner_inputs` turns them back into the
planner's arguments).
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_at, site_date, site_day_bounds, site_local
from radiopharmacy.models import Batch, Generator, Product, SiteSettings
from radiopharmacy.selectors.generators import (
    EFFICIENCY_WINDOW,
    current_elutions_queryset,
    efficiency_percent,
    stored_state,
)
from scheduling import planner
from scheduling.choices import BookingStatus
from scheduling.models import Booking, PlanSettings
from scheduling.selectors import batch_balance

YIELD_WINDOW = 10  # SPEC §2.7: mean yield of the last 10 released batches
# Bookings a plan serves: still waiting for their dose. A booking with a dose already has its
# activity set aside in a batch (subtracted from the stock the plan uses).
PLANNED_BOOKING_STATUSES = (BookingStatus.BOOKED,)
# Batches of the day whose activity can still serve a booking (SPEC §2.7: released or in QC).
STOCK_STATUSES = (BatchStatus.RELEASED, BatchStatus.QC_PENDING)
# What a what-if plan may override (SPEC §2.7 `parameters`), with the planner's name.
OVERRIDABLE = (
    "synthesis_duration_min",
    "qc_duration_min",
    "shelf_life_min",
    "draw_lead_time_min",
    "grid_min",
    "earliest_elution",
    "working_end",
    "synthesis_modules",
    "module_turnaround_min",
    "max_syntheses",
    "confidence",
    "expected_yield_percent",
    "efficiency_percent",
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_time(value: str) -> datetime:
    """An aware datetime from a stored ISO 8601 string (with its offset)."""
    return physics.require_aware(datetime.fromisoformat(value), "stored datetime")


def round_up_to_grid(moment: datetime, grid_min: float = 5) -> datetime:
    """The first grid time (whole multiples of `grid_min` since the epoch, in UTC) at or after
    `moment`, in `moment`'s zone."""
    physics.require_aware(moment, "moment")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    grid_us = round(grid_min * 60_000_000)
    elapsed_us = (moment.astimezone(UTC) - epoch) // timedelta(microseconds=1)
    steps = -((-elapsed_us) // grid_us)
    return (epoch + timedelta(microseconds=steps * grid_us)).astimezone(moment.tzinfo)


def working_day(day: date) -> tuple[datetime, datetime]:
    """Start and end of the planning day of `day`, aware in the site's zone (for the timeline)."""
    settings_row = PlanSettings.current()
    return site_at(day, settings_row.earliest_elution), site_at(day, settings_row.working_end)


def earliest_elution_at(day: date, *, now: datetime, start_time: time, grid_min: float) -> datetime:
    """Today: the later of now (rounded up to the grid) and the day's earliest elution; another
    day: its earliest elution. In the site's zone."""
    start = site_at(day, start_time)
    if site_date(now) != day:
        return start
    return max(start, site_local(round_up_to_grid(now, grid_min)))


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, statistics.stdev(values)


def expected_yield(*, before: datetime, site: SiteSettings) -> tuple[float, float, list[int]]:
    """(mean yield %, its spread %, batch ids): decay-corrected yield of the last 10 released
    batches that ended before `before`, or the site's default yield (no spread) without any."""
    rows = list(
        Batch.objects.filter(
            status=BatchStatus.RELEASED, yield_percent__isnull=False, eos_at__lt=before
        )
        .order_by("-eos_at", "-id")
        .values_list("id", "yield_percent")[:YIELD_WINDOW]
    )
    # A yield over 100 % is a measurement artefact; the planner's model caps it.
    values = [min(100.0, y) for _, y in rows if math.isfinite(y) and y > 0]
    if not values:
        return float(site.default_yield_percent), 0.0, []
    mean, sd = _mean_sd(values)
    return mean, sd, [pk for pk, _ in rows]


def efficiency_spread(history: list) -> float:
    """Spread (sample standard deviation, %) of the efficiencies of the last 5 elutions."""
    values = [
        e.efficiency_percent
        for e in history[-EFFICIENCY_WINDOW:]
        if e.efficiency_percent is not None and math.isfinite(e.efficiency_percent)
    ]
    return _mean_sd(values)[1] if values else 0.0


def _shelf_life_min() -> float:
    product = Product.objects.order_by("id").first()
    return float(product.shelf_life_min) if product else 240.0


def _day_batches(day: date, generator: Generator):
    start, end = site_day_bounds(day)
    return (
        Batch.objects.filter(eos_at__gte=start, eos_at__lt=end, elutions__generator=generator)
        .distinct()
        .prefetch_related("elutions")
        .order_by("eos_at", "id")
    )


def _stock_and_syntheses(
    day: date, generator: Generator, *, at: datetime, qc_min: float
) -> tuple[list[dict], list[dict]]:
    """The day's batches of this generator: those released or in QC with activity left (the
    stock, decay-corrected to `at`, assigned doses subtracted), and every synthesis made (it
    held a module and the QC bench and counts towards the day's maximum)."""
    stock, syntheses = [], []
    for batch in _day_batches(day, generator):
        elution_at = min((e.eluted_at for e in batch.elutions.all()), default=batch.started_at)
        release_at = batch.eos_at + timedelta(minutes=qc_min)
        syntheses.append(
            {
                "batch": batch.pk,
                "elution_at": _iso(site_local(min(elution_at, batch.eos_at))),
                "eos_at": _iso(site_local(batch.eos_at)),
                "release_at": _iso(site_local(release_at)),
            }
        )
        if batch.status not in STOCK_STATUSES or batch.expires_at <= at:
            continue
        left = batch_balance(batch, at).left_mbq
        if left <= 0:
            continue
        available = release_at if batch.status == BatchStatus.QC_PENDING else batch.eos_at
        stock.append(
            {
                "batch_id": batch.pk,
                "label": batch.batch_number,
                "available_at": _iso(site_local(max(available, at))),
                "expires_at": _iso(site_local(batch.expires_at)),
                "activity_mbq": left,
                "activity_at": _iso(site_local(at)),
            }
        )
    return stock, syntheses


def build_inputs(
    *, day: date, generator: Generator, now: datetime, overrides: dict | None = None
) -> dict:
    """The planner's inputs for `day` as JSON-ready values (see `planner_inputs`).

    `overrides` (a what-if plan) replaces plan settings and may fix the expected yield and the
    efficiency; times of day are `datetime.time` values in the site's zone.
    """
    site = SiteSettings.current()
    row = PlanSettings.current()
    values = {
        "synthesis_duration_min": float(row.synthesis_duration_min),
        "qc_duration_min": float(row.qc_duration_min),
        "shelf_life_min": _shelf_life_min(),
        "draw_lead_time_min": float(row.draw_lead_time_min),
        "grid_min": float(row.grid_min),
        "earliest_elution": row.earliest_elution,
        "working_end": row.working_end,
        "synthesis_modules": row.synthesis_modules,
        "module_turnaround_min": float(row.module_turnaround_min),
        "max_syntheses": row.max_syntheses,
        "confidence": float(row.confidence),
    }
    overrides = dict(overrides or {})
    values.update({k: v for k, v in overrides.items() if k in values})
    earliest = earliest_elution_at(
        day, now=now, start_time=values["earliest_elution"], grid_min=values["grid_min"]
    )
    working_end = site_at(day, values["working_end"])
    # The last 5 current elutions before the day's first elution (η and its spread) and the
    # column state stored with the latest of them: the same cost at any length of history.
    history = list(
        current_elutions_queryset()
        .filter(generator=generator, eluted_at__lt=earliest)
        .order_by("-eluted_at", "-id")[:EFFICIENCY_WINDOW]
    )[::-1]
    column = physics.column_state_after(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        last=stored_state(history[-1]) if history else None,
        at=earliest,
    )
    eta = efficiency_percent(generator, history)
    eta_sd = efficiency_spread(history)
    if "efficiency_percent" in overrides:
        eta, eta_sd = float(overrides["efficiency_percent"]), 0.0
    if not math.isfinite(eta) or eta <= 0:
        raise ApplicationError(
            f"Generator {generator.serial_number} has no usable efficiency estimate.",
            fields={"generator": ["Its recorded elutions give an efficiency of 0 %."]},
        )
    yield_percent, yield_sd, yield_batches = expected_yield(before=earliest, site=site)
    if "expected_yield_percent" in overrides:
        yield_percent, yield_sd = float(overrides["expected_yield_percent"]), 0.0
    stock, syntheses = _stock_and_syntheses(
        day,
        generator,
        at=earliest,
        qc_min=values["qc_duration_min"],
    )
    start, end = site_day_bounds(day)
    bookings = Booking.objects.filter(
        injection_at__gte=start, injection_at__lt=end, status__in=PLANNED_BOOKING_STATUSES
    ).order_by("injection_at", "id")
    return {
        "generator_state": {
            "at": _iso(earliest),
            "ge68_activity_mbq": column.ge68_activity_mbq,
            "ga68_on_column_mbq": column.ga68_on_column_mbq,
            "efficiency_percent": min(100.0, eta),
            "efficiency_sd_percent": eta_sd,
        },
        "bookings": [
            {
                "booking_id": b.pk,
                "injection_at": _iso(site_local(b.injection_at)),
                "prescribed_activity_mbq": b.prescribed_activity_mbq,
            }
            for b in bookings
        ],
        "stock": stock,
        "syntheses": [{k: v for k, v in s.items() if k != "batch"} for s in syntheses],
        "parameters": {
            "earliest_elution_at": _iso(earliest),
            "working_end_at": _iso(working_end),
            "synthesis_duration_min": values["synthesis_duration_min"],
            "qc_duration_min": values["qc_duration_min"],
            "shelf_life_min": float(values["shelf_life_min"]),
            "draw_lead_time_min": values["draw_lead_time_min"],
            "expected_yield_percent": min(100.0, yield_percent),
            "yield_sd_percent": yield_sd,
            "grid_min": values["grid_min"],
            "synthesis_modules": int(values["synthesis_modules"]),
            "module_turnaround_min": values["module_turnaround_min"],
            "max_syntheses": int(values["max_syntheses"]),
            "confidence": values["confidence"],
            "time_budget_s": float(row.time_budget_s),
            "max_doses_per_run": None,
        },
        "sources": {
            "computed_at": _iso(site_local(now)),
            "time_zone": settings.SITE_TIME_ZONE,
            "efficiency_elutions": min(len(history), EFFICIENCY_WINDOW),
            "last_elution_at": _iso(
                site_local(column.last_elution_at) if column.last_elution_at else None
            ),
            "yield_batches": yield_batches,
            "default_yield_percent": float(site.default_yield_percent),
            "synthesis_batches": [s["batch"] for s in syntheses],
            "overrides": sorted(overrides),
        },
    }


def planner_inputs(inputs: dict) -> dict:
    """The keyword arguments of `planner.plan_day` from a plan's stored `inputs` (to compute,
    recompute or check it): generator_state, bookings, params, stock, syntheses."""
    state = inputs["generator_state"]
    params = dict(inputs["parameters"])
    for key in ("earliest_elution_at", "working_end_at"):
        params[key] = parse_time(params[key])
    stock = [
        planner.StockBatch(
            batch_id=s["batch_id"],
            label=s["label"],
            available_at=parse_time(s["available_at"]),
            expires_at=parse_time(s["expires_at"]),
            activity_mbq=s["activity_mbq"],
            activity_at=parse_time(s["activity_at"]),
        )
        for s in inputs.get("stock", [])
    ]
    syntheses = [
        planner.Synthesis(
            elution_at=parse_time(s["elution_at"]),
            eos_at=parse_time(s["eos_at"]),
            release_at=parse_time(s["release_at"]),
        )
        for s in inputs.get("syntheses", [])
    ]
    return dict(
        generator_state=planner.GeneratorState(
            at=parse_time(state["at"]),
            ge68_activity_mbq=state["ge68_activity_mbq"],
            ga68_on_column_mbq=state["ga68_on_column_mbq"],
            efficiency_percent=state["efficiency_percent"],
            efficiency_sd_percent=state.get("efficiency_sd_percent", 0.0),
        ),
        bookings=[
            planner.BookingRequest(
                booking_id=b["booking_id"],
                injection_at=parse_time(b["injection_at"]),
                prescribed_activity_mbq=b["prescribed_activity_mbq"],
            )
            for b in inputs["bookings"]
        ],
        params=planner.PlanParameters(**params),
        stock=stock,
        syntheses=syntheses,
    )
