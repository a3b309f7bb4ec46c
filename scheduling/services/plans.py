"""Production plans (SPEC §2.7): compute, save, accept, recompute after a booking change.

`plan_compute` runs the pure planner (`scheduling.planner`) on the inputs `plan_inputs` reads
from the database and stores them next to the result. `plan_accept` turns a draft into planned
runs; a booking change queues `scheduling.recompute_plan` through the outbox, which marks the
day's accepted plan stale and computes a fresh draft. Every write is audited in the same
transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import audit, outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import DAY_MESSAGE, plausible_day
from radiopharmacy.core.errors import ApplicationError, NotFound, StateConflict
from radiopharmacy.core.sitetime import site_date, site_local, site_time
from radiopharmacy.core.status import ensure_transition, transition
from radiopharmacy.models import AuditEvent, Generator
from scheduling import planner
from scheduling.choices import PlannedRunStatus, PlanStatus
from scheduling.models import Booking, PlannedRun, ProductionPlan
from scheduling.plan_inputs import build_inputs, parse_time, planner_inputs

RECOMPUTE_TASK = "scheduling.recompute_plan"
_Date = date  # the type, for functions whose `date` argument shadows it


# --- explanation ------------------------------------------------------------------------------


def _hm(value: str | None, day: date | None = None) -> str:
    """'08:05 CET', or '10:45 CET on 23 Nov' when the moment is not on `day`."""
    if value is None:
        return "—"
    moment = parse_time(value)
    local = site_local(moment)
    text = site_time(moment)
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


def _supersede(plan: ProductionPlan, *, by: ProductionPlan, actor: User | None) -> None:
    # A plan's audit entries compare its summary (the objective too), not only its status.
    old = _plan_summary(plan)
    ensure_transition(PlanStatus, plan.status, PlanStatus.SUPERSEDED)
    plan.status = PlanStatus.SUPERSEDED
    plan.superseded_by = by
    plan.save(update_fields=["status", "superseded_by"])
    # Planned batches nobody has started are no longer wanted.
    for run in plan.runs.filter(status=PlannedRunStatus.PLANNED).order_by("sequence"):
        transition(
            run,
            PlannedRunStatus.CANCELLED,
            actor=actor,
            action=AuditAction.CANCELLED,
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
def plan_compute(*, actor: User | None, date, generator_id, trigger: str = "") -> ProductionPlan:
    """Compute and save a draft plan of `date` (site zone) for a generator in use.

    Older drafts of that day and generator are superseded by it. 400 for an unknown generator
    or a date that is not a date; 409 for a generator that is not in use.
    """
    day = date
    if not isinstance(day, _Date) or isinstance(day, datetime):
        raise ApplicationError("Give a date.", fields={"date": ["A date (YYYY-MM-DD) is needed."]})
    if not plausible_day(day):
        raise ApplicationError("Give a plausible date.", fields={"date": [DAY_MESSAGE]})
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
def plan_accept(*, actor: User, plan_id) -> ProductionPlan:
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
def plan_recompute(
    *, date, generator_id, actor: User | None = None, trigger: str = ""
) -> ProductionPlan | None:
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


def plan_recompute_for_date(
    date, *, actor: User | None = None, trigger: str = ""
) -> list[ProductionPlan]:
    """Recompute every generator's plan of `date` that is a draft or accepted."""
    generator_ids = sorted(set(_open_plans(date).values_list("generator_id", flat=True)))
    plans = []
    for generator_id in generator_ids:
        key = f"{trigger}:{generator_id}" if trigger else ""
        plan = plan_recompute(date=date, generator_id=generator_id, actor=actor, trigger=key)
        if plan is not None:
            plans.append(plan)
    return plans


def queue_plan_recompute(
    booking: Booking, *, previous_injection_at=None, actor: User | None = None
) -> None:
    """Queue a recompute of the plans of the booking's day (and of its previous day when it was
    moved), one outbox job per (day, generator, booking change). Call inside the booking
    service's transaction: the jobs run after it commits."""
    days = {site_date(booking.injection_at)}
    if previous_injection_at is not None:
        days.add(site_date(previous_injection_at))
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
