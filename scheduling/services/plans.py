"""Production plans (SPEC §2.7): inputs from the database, the planner, save, accept, recompute.

`plan_compute` turns the database into the pure planner's inputs (`scheduling.planner`), stores
them next to the result, so a saved plan explains its numbers and can be checked again from what
it stored (`planner_inputs`). `plan_accept` turns a draft into planned runs; a booking change
queues `scheduling.recompute_plan` through the outbox, which marks the day's accepted plan stale
and computes a fresh draft. Every write is audited in the same transaction.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core import audit, outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import ensure_transition
from radiopharmacy.models import Batch, Generator, Product, SiteSettings
from radiopharmacy.selectors.generators import (
    EFFICIENCY_WINDOW,
    efficiency_percent,
    elution_records,
)
from scheduling import planner
from scheduling.choices import BookingStatus, PlannedRunStatus, PlanStatus
from scheduling.models import Booking, PlannedRun, ProductionPlan
from scheduling.selectors import site_day_bounds

GRID_MIN = 5  # elution times on a 5-minute grid
YIELD_WINDOW = 10  # SPEC §2.7: mean yield of the last 10 released batches
MAX_RUNS = 6
# Bookings a plan serves: still waiting for their dose or with a dose assigned but not drawn.
PLANNED_BOOKING_STATUSES = (BookingStatus.BOOKED, BookingStatus.DOSE_ASSIGNED)
RECOMPUTE_TASK = "scheduling.recompute_plan"
_Date = date  # the type, for functions whose `date` argument shadows it


class NotFound(ApplicationError):
    """The plan named in the URL does not exist: a 404."""

    status_code = 404


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.SITE_TIME_ZONE)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_time(value: str) -> datetime:
    """An aware datetime from a stored ISO 8601 string (with its offset)."""
    return physics.require_aware(datetime.fromisoformat(value), "stored datetime")


# --- inputs -----------------------------------------------------------------------------------


def round_up_to_grid(moment: datetime, grid_min: float = GRID_MIN) -> datetime:
    """The first grid time (whole multiples of `grid_min` since the epoch, in UTC) at or after
    `moment`, in `moment`'s zone."""
    physics.require_aware(moment, "moment")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    grid_us = round(grid_min * 60_000_000)
    elapsed_us = (moment.astimezone(UTC) - epoch) // timedelta(microseconds=1)
    steps = -((-elapsed_us) // grid_us)
    return (epoch + timedelta(microseconds=steps * grid_us)).astimezone(moment.tzinfo)


def earliest_elution_at(day: date, *, now: datetime, site: SiteSettings) -> datetime:
    """Today: the later of now (rounded up to the grid) and the start of the working day;
    another day: the start of its working day. In the site's zone."""
    zone = site_zone()
    start = datetime.combine(day, site.working_day_start, tzinfo=zone)
    if now.astimezone(zone).date() != day:
        return start
    return max(start, round_up_to_grid(now).astimezone(zone))


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
    zone = site_zone()
    earliest = earliest_elution_at(day, now=now, site=site)
    working_end = datetime.combine(day, site.working_day_end, tzinfo=zone)
    history = [
        e
        for e in generator.elutions.filter(superseded_by__isnull=True).order_by("eluted_at", "id")
        if e.eluted_at < earliest
    ]
    column = physics.column_state(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=elution_records(history),
        at=earliest,
    )
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
                "injection_at": _iso(b.injection_at.astimezone(zone)),
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
            "computed_at": _iso(now.astimezone(zone)),
            "time_zone": settings.SITE_TIME_ZONE,
            "efficiency_elutions": min(len(history), EFFICIENCY_WINDOW),
            "last_elution_at": _iso(
                column.last_elution_at.astimezone(zone) if column.last_elution_at else None
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


# --- explanation ------------------------------------------------------------------------------


def _hm(value: str | None, day: date | None = None) -> str:
    """'08:05 CET', or '10:45 CET on 23 Nov' when the moment is not on `day`."""
    if value is None:
        return "—"
    local = parse_time(value).astimezone(site_zone())
    text = local.strftime("%H:%M %Z")
    if day is not None and local.date() != day:
        text += f" on {local.day} {local:%b}"
    return text


def plan_explanation(plan: ProductionPlan) -> list[str]:
    """Where the plan's numbers come from, in sentences (times in the site's zone)."""
    inputs, result = plan.inputs, plan.result
    state, params, sources = inputs["generator_state"], inputs["parameters"], inputs["sources"]
    n_eff = sources["efficiency_elutions"]
    eff_source = (
        f"mean of the last {n_eff} elution{'s' if n_eff != 1 else ''}"
        if n_eff
        else "the generator's nominal efficiency (no elution recorded)"
    )
    last = sources["last_elution_at"]
    column_source = (
        f"regrown since the elution at {_hm(last, plan.date)}"
        if last
        else "in equilibrium, never eluted"
    )
    n_yield = len(sources["yield_batches"])
    yield_source = (
        f"mean decay-corrected yield of the last {n_yield} released batch"
        f"{'es' if n_yield != 1 else ''}"
        if n_yield
        else "the site's default, no released batch yet"
    )
    objective = result.get("objective", {})
    lines = [
        f"Column at {_hm(state['at'])}: {state['ga68_on_column_mbq']:.1f} MBq Ga-68 "
        f"({column_source}; Ge-68 {state['ge68_activity_mbq']:.1f} MBq).",
        f"Elution efficiency {state['efficiency_percent']:.1f} % ({eff_source}).",
        f"Expected synthesis yield {params['expected_yield_percent']:.1f} % ({yield_source}).",
        f"Synthesis {params['synthesis_duration_min']:g} min, QC {params['qc_duration_min']:g} "
        f"min, shelf life {params['shelf_life_min']:g} min, draw {params['draw_lead_time_min']:g} "
        f"min before injection; elutions every {params['grid_min']:g} min from "
        f"{_hm(params['earliest_elution_at'])}, working day ends {_hm(params['working_end_at'])}.",
        f"{len(inputs['bookings'])} booking(s): {objective.get('served', 0)} served by "
        f"{objective.get('runs', 0)} run(s), {len(result.get('unserved', []))} unserved; "
        f"{objective.get('wasted_activity_mbq', 0.0):.1f} MBq at EOS not needed by a dose.",
    ]
    if plan.stale:
        lines.append("Bookings changed after this plan was computed: see the newer draft.")
    return lines


# --- writes -----------------------------------------------------------------------------------


def _generator_for_update(generator_id) -> Generator:
    try:
        pk = int(generator_id)
    except (TypeError, ValueError):
        pk = None
    generator = Generator.objects.select_for_update().filter(pk=pk).first() if pk else None
    if generator is None:
        raise ApplicationError(
            f"No generator {generator_id}.", fields={"generator": [f"No generator {generator_id}."]}
        )
    return generator


def _plan_summary(plan: ProductionPlan) -> dict:
    """The audit view of a plan: its identity and outcome (the full inputs and result stay on
    the plan row itself)."""
    data = audit.snapshot(
        plan,
        [
            "date",
            "generator_id",
            "status",
            "stale",
            "trigger",
            "created_by_id",
            "accepted_by_id",
            "accepted_at",
            "superseded_by_id",
        ],
    )
    data["objective"] = audit.jsonable(plan.result.get("objective"))
    return data


def _supersede(plan: ProductionPlan, *, by: ProductionPlan, actor) -> None:
    old = _plan_summary(plan)
    ensure_transition(PlanStatus, plan.status, PlanStatus.SUPERSEDED)
    plan.status = PlanStatus.SUPERSEDED
    plan.superseded_by = by
    plan.save(update_fields=["status", "superseded_by"])
    # Planned batches nobody has started are no longer wanted.
    for run in plan.runs.filter(status=PlannedRunStatus.PLANNED).order_by("sequence"):
        old_run = audit.snapshot(run)
        ensure_transition(PlannedRunStatus, run.status, PlannedRunStatus.CANCELLED)
        run.status = PlannedRunStatus.CANCELLED
        run.save(update_fields=["status"])
        audit.record_change(
            actor=actor,
            action=AuditAction.CANCELLED,
            obj=run,
            before=old_run,
            reason=f"plan {plan.pk} superseded by plan {by.pk}",
        )
    audit.record(
        actor=actor,
        action=AuditAction.SUPERSEDED,
        obj=plan,
        changes=audit.diff(old, _plan_summary(plan)),
        reason=f"superseded by plan {by.pk}",
    )


@transaction.atomic
def plan_compute(*, actor, date, generator_id, trigger: str = "") -> ProductionPlan:
    """Compute and save a draft plan of `date` (site zone) for a generator in use.

    Older drafts of that day and generator are superseded by it. 400 for an unknown generator
    or a date that is not a date; 409 for a generator that is not in use.
    """
    day = date
    if not isinstance(day, _Date) or isinstance(day, datetime):
        raise ApplicationError("Give a date.", fields={"date": ["A date (YYYY-MM-DD) is needed."]})
    # Race: two computes (or a compute and an accept) for the same generator superseding each
    # other's drafts; the generator row lock serialises them.
    generator = _generator_for_update(generator_id)
    if trigger:
        existing = ProductionPlan.objects.filter(trigger=trigger).first()
        if existing is not None:
            return existing  # the recompute task ran already
    if generator.status != GeneratorStatus.IN_USE:
        raise StateConflict(
            f"Generator {generator.serial_number} is {generator.get_status_display().lower()}; "
            "only a generator in use can be planned.",
            blocking=[f"generator status is {generator.get_status_display()}"],
        )
    now = timezone.now()
    inputs = build_inputs(day=day, generator=generator, now=now)
    # Plan from the stored form of the inputs, so the result follows from what is saved.
    try:
        state, requests, params = planner_inputs(inputs)
        result = planner.plan_day(
            generator_state=state,
            bookings=requests,
            params=params,
            plan_date=day,
            generator_id=generator.pk,
        ).to_dict()
    except ValueError as exc:
        raise ApplicationError(f"The plan cannot be computed: {exc}") from None
    plan = ProductionPlan.objects.create(
        date=day,
        generator=generator,
        status=PlanStatus.DRAFT,
        trigger=trigger,
        inputs=inputs,
        result=result,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATED,
        obj=plan,
        changes=audit.diff({}, _plan_summary(plan)),
        reason=f"recomputed after a booking change ({trigger})" if trigger else "",
    )
    older = ProductionPlan.objects.filter(
        date=day, generator=generator, status=PlanStatus.DRAFT
    ).exclude(pk=plan.pk)
    for draft in older.order_by("id"):
        _supersede(draft, by=plan, actor=actor)
    return plan


@transaction.atomic
def plan_accept(*, actor, plan_id) -> ProductionPlan:
    """Accept a draft: the day's accepted plan (if any) is superseded and the draft's runs
    become planned batches. 409 when the plan is not a draft."""
    generator_id = ProductionPlan.objects.filter(pk=plan_id).values_list("generator_id", flat=True)
    generator_id = generator_id.first()
    if generator_id is None:
        raise NotFound(f"No plan {plan_id}.")
    _generator_for_update(generator_id)  # same lock order as plan_compute
    plan = ProductionPlan.objects.select_for_update().get(pk=plan_id)
    if plan.status != PlanStatus.DRAFT:
        raise StateConflict(
            f"Only a draft plan can be accepted; plan {plan.pk} is "
            f"{plan.get_status_display().lower()}.",
            blocking=[f"plan status is {plan.get_status_display()}"],
        )
    previous = ProductionPlan.objects.select_for_update().filter(
        date=plan.date, generator_id=plan.generator_id, status=PlanStatus.ACCEPTED
    )
    for accepted in previous:
        _supersede(accepted, by=plan, actor=actor)
    old = _plan_summary(plan)
    ensure_transition(PlanStatus, plan.status, PlanStatus.ACCEPTED)
    plan.status = PlanStatus.ACCEPTED
    plan.accepted_by = actor
    plan.accepted_at = timezone.now()
    plan.save(update_fields=["status", "accepted_by", "accepted_at"])
    audit.record(
        actor=actor,
        action=AuditAction.ACCEPTED,
        obj=plan,
        changes=audit.diff(old, _plan_summary(plan)),
    )
    for sequence, run in enumerate(plan.result["runs"], start=1):
        planned = PlannedRun.objects.create(
            plan=plan,
            sequence=sequence,
            elution_at=parse_time(run["elution_at"]),
            eos_at=parse_time(run["eos_at"]),
            release_at=parse_time(run["release_at"]),
            expiry_at=parse_time(run["expiry_at"]),
            expected_activity_at_eos_mbq=run["expected_activity_at_eos_mbq"],
            doses=run["doses"],
        )
        planned.bookings.set([d["booking"] for d in run["doses"]])
        audit.record(
            actor=actor, action=AuditAction.CREATED, obj=planned, changes=audit.created(planned)
        )
    return plan


def _open_plans(day: date):
    return ProductionPlan.objects.filter(
        date=day, status__in=(PlanStatus.DRAFT, PlanStatus.ACCEPTED)
    )


@transaction.atomic
def plan_recompute(*, date, generator_id, actor=None, trigger: str = "") -> ProductionPlan | None:
    """After a booking change: mark the day's accepted plan stale and compute a fresh draft.

    Safe to run twice: a `trigger` that already made a plan returns that plan. Returns None
    when the generator can no longer be planned (not in use).
    """
    generator = _generator_for_update(generator_id)
    if trigger:
        existing = ProductionPlan.objects.filter(trigger=trigger).first()
        if existing is not None:
            return existing
    if generator.status != GeneratorStatus.IN_USE:
        return None
    for accepted in _open_plans(date).filter(
        generator=generator, status=PlanStatus.ACCEPTED, stale=False
    ):
        old = _plan_summary(accepted)
        accepted.stale = True
        accepted.save(update_fields=["stale"])
        audit.record(
            actor=actor,
            action=AuditAction.MARKED_STALE,
            obj=accepted,
            changes=audit.diff(old, _plan_summary(accepted)),
            reason="a booking of the day changed",
        )
    return plan_compute(actor=actor, date=date, generator_id=generator.pk, trigger=trigger)


def plan_recompute_for_date(date, *, actor=None, trigger: str = "") -> list[ProductionPlan]:
    """Recompute every generator's plan of `date` that is a draft or accepted."""
    generator_ids = sorted(set(_open_plans(date).values_list("generator_id", flat=True)))
    plans = []
    for generator_id in generator_ids:
        key = f"{trigger}:{generator_id}" if trigger else ""
        plan = plan_recompute(date=date, generator_id=generator_id, actor=actor, trigger=key)
        if plan is not None:
            plans.append(plan)
    return plans


def queue_plan_recompute(booking: Booking, *, previous_injection_at=None, actor=None) -> None:
    """Queue a recompute of the plans of the booking's day (and of its previous day when it was
    moved), one outbox job per (day, generator, booking change). Call inside the booking
    service's transaction: the jobs run after it commits."""
    from radiopharmacy.models import AuditEvent

    zone = site_zone()
    days = {booking.injection_at.astimezone(zone).date()}
    if previous_injection_at is not None:
        days.add(previous_injection_at.astimezone(zone).date())
    change_id = None
    for day in sorted(days):
        generator_ids = sorted(set(_open_plans(day).values_list("generator_id", flat=True)))
        if not generator_ids:
            continue
        if change_id is None:
            # The booking's latest audit entry names this change uniquely.
            change_id = (
                AuditEvent.objects.filter(
                    object_type=audit.object_type_of(booking), object_id=str(booking.pk)
                )
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
        for generator_id in generator_ids:
            key = f"plan-recompute:{day.isoformat()}:{generator_id}:{booking.pk}:{change_id}"
            outbox.enqueue(
                task_name=RECOMPUTE_TASK,
                key=key,
                kwargs={
                    "date": day.isoformat(),
                    "generator_id": generator_id,
                    "trigger": key,
                    "actor_id": getattr(actor, "pk", None),
                },
            )


def working_day(day: date) -> tuple[datetime, datetime]:
    """Start and end of the working day of `day`, aware in the site's zone (for the timeline)."""
    site = SiteSettings.current()
    zone = site_zone()
    return (
        datetime.combine(day, site.working_day_start, tzinfo=zone),
        datetime.combine(day, site.working_day_end, tzinfo=zone),
    )
