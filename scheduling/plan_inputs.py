"""The database as the pure planner's inputs (`scheduling.planner`), and back.

`build_inputs` reads the generator's column, its efficiency, the expected synthesis yield, the
site's parameters and the day's bookings into JSON-ready values, which a plan stores next to its
result, so a saved plan explains its numbers and can be checked again from what it stored
(`planner_inputs` turns them into the planner's dataclasses).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_at, site_date, site_day_bounds, site_local
from radiopharmacy.models import Batch, Generator, Product, SiteSettings
from radiopharmacy.selectors.generators import (
    EFFICIENCY_WINDOW,
    efficiency_percent,
    generator_column_at,
)
from scheduling import planner
from scheduling.choices import BookingStatus
from scheduling.models import Booking

GRID_MIN = 5  # elution times on a 5-minute grid
YIELD_WINDOW = 10  # SPEC §2.7: mean yield of the last 10 released batches
MAX_RUNS = 6
# Bookings a plan serves: still waiting for their dose or with a dose assigned but not drawn.
PLANNED_BOOKING_STATUSES = (BookingStatus.BOOKED, BookingStatus.DOSE_ASSIGNED)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_time(value: str) -> datetime:
    """An aware datetime from a stored ISO 8601 string (with its offset)."""
    return physics.require_aware(datetime.fromisoformat(value), "stored datetime")


def round_up_to_grid(moment: datetime, grid_min: float = GRID_MIN) -> datetime:
    """The first grid time (whole multiples of `grid_min` since the epoch, in UTC) at or after
    `moment`, in `moment`'s zone."""
    physics.require_aware(moment, "moment")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    grid_us = round(grid_min * 60_000_000)
    elapsed_us = (moment.astimezone(UTC) - epoch) // timedelta(microseconds=1)
    steps = -((-elapsed_us) // grid_us)
    return (epoch + timedelta(microseconds=steps * grid_us)).astimezone(moment.tzinfo)


def working_day(day: date) -> tuple[datetime, datetime]:
    """Start and end of the working day of `day`, aware in the site's zone (for the timeline)."""
    site = SiteSettings.current()
    return site_at(day, site.working_day_start), site_at(day, site.working_day_end)


def earliest_elution_at(day: date, *, now: datetime, site: SiteSettings) -> datetime:
    """Today: the later of now (rounded up to the grid) and the start of the working day;
    another day: the start of its working day. In the site's zone."""
    start = site_at(day, site.working_day_start)
    if site_date(now) != day:
        return start
    return max(start, site_local(round_up_to_grid(now)))


def expected_yield(*, before: datetime, site: SiteSettings) -> tuple[float, list[int]]:
    """(yield %, batch ids): mean decay-corrected yield of the last 10 released batches that
    ended before `before`, or the site's default yield when there are none."""
    rows = list(
        Batch.objects.filter(
            status=BatchStatus.RELEASED, yield_percent__isnull=False, eos_at__lt=before
        )
        .order_by("-eos_at", "-id")
        .values_list("id", "yield_percent")[:YIELD_WINDOW]
    )
    values = [y for _, y in rows if math.isfinite(y) and y > 0]
    if not values:
        return float(site.default_yield_percent), []
    # A yield over 100 % is a measurement artefact; the planner's model caps it.
    return min(100.0, math.fsum(values) / len(values)), [pk for pk, _ in rows]


def _shelf_life_min() -> float:
    product = Product.objects.order_by("id").first()
    return float(product.shelf_life_min) if product else 240.0


def build_inputs(*, day: date, generator: Generator, now: datetime) -> dict:
    """The planner's inputs for `day` as JSON-ready values (see `planner_inputs`)."""
    site = SiteSettings.current()
    earliest = earliest_elution_at(day, now=now, site=site)
    working_end = site_at(day, site.working_day_end)
    history = [
        e
        for e in generator.elutions.filter(superseded_by__isnull=True).order_by("eluted_at", "id")
        if e.eluted_at < earliest
    ]
    column = generator_column_at(generator, at=earliest, elutions=history)
    eta = efficiency_percent(generator, history)
    if not math.isfinite(eta) or eta <= 0:
        raise ApplicationError(
            f"Generator {generator.serial_number} has no usable efficiency estimate.",
            fields={"generator": ["Its recorded elutions give an efficiency of 0 %."]},
        )
    yield_percent, yield_batches = expected_yield(before=earliest, site=site)
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
        },
        "bookings": [
            {
                "booking_id": b.pk,
                "injection_at": _iso(site_local(b.injection_at)),
                "prescribed_activity_mbq": b.prescribed_activity_mbq,
            }
            for b in bookings
        ],
        "parameters": {
            "earliest_elution_at": _iso(earliest),
            "working_end_at": _iso(working_end),
            "synthesis_duration_min": float(site.synthesis_duration_min),
            "qc_duration_min": float(site.qc_duration_min),
            "shelf_life_min": _shelf_life_min(),
            "draw_lead_time_min": float(site.draw_lead_time_min),
            "expected_yield_percent": yield_percent,
            "grid_min": float(GRID_MIN),
            "max_runs": MAX_RUNS,
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
        },
    }


def planner_inputs(
    inputs: dict,
) -> tuple[planner.GeneratorState, list[planner.BookingRequest], planner.PlanParameters]:
    """The planner's dataclasses from a plan's stored `inputs` (to recompute or check it)."""
    state = inputs["generator_state"]
    params = dict(inputs["parameters"])
    for key in ("earliest_elution_at", "working_end_at"):
        params[key] = parse_time(params[key])
    return (
        planner.GeneratorState(
            at=parse_time(state["at"]),
            ge68_activity_mbq=state["ge68_activity_mbq"],
            ga68_on_column_mbq=state["ga68_on_column_mbq"],
            efficiency_percent=state["efficiency_percent"],
        ),
        [
            planner.BookingRequest(
                booking_id=b["booking_id"],
                injection_at=parse_time(b["injection_at"]),
                prescribed_activity_mbq=b["prescribed_activity_mbq"],
            )
            for b in inputs["bookings"]
        ],
        planner.PlanParameters(**params),
    )
