"""Production plans (SPEC §2.7): compute, save, accept, recompute after a booking change.

`plan_compute` runs the pure planner (`scheduling.planner`) on the inputs `plan_inputs` reads
from the database and stores them next to the result. `plan_accept` turns a draft into planned
runs; a booking change queues `scheduling.recompute_plan` through the outbox, which marks the
day's accepted plan stale and computes a fresh draft. Every write is audited in the same
transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core import audit, outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import DAY_MESSAGE, plausible_day
from radiopharmacy.core.errors import ApplicationError, NotFound, StateConflict
from radiopharmacy.core.sitetime import site_date, site_day_bounds, site_local, site_time
from radiopharmacy.core.status import TRANSITIONS, ensure_transition, transition
from radiopharmacy.models import Batch, Generator, OutboxJob
from scheduling import planner
from scheduling.choices import PlannedRunStatus, PlanStatus
from scheduling.models import Booking, PlannedRun, ProductionPlan
from scheduling.plan_inputs import build_inputs, parse_time, planner_inputs

RECOMPUTE_TASK = "scheduling.recompute_plan"
TRANSITIONS_OF_RUN = TRANSITIONS[PlannedRunStatus]
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
    sd_y = params.get("yield_sd_percent", 0.0)
    sd_e = state.get("efficiency_sd_percent", 0.0)
    margin = objective.get("smallest_margin_percent")
    lines = [
        f"Column at {_hm(state['at'])}: {state['ga68_on_column_mbq']:.1f} MBq Ga-68 "
        f"({column_source}; Ge-68 {state['ge68_activity_mbq']:.1f} MBq).",
        f"Elution efficiency {state['efficiency_percent']:.1f} % ± {sd_e:.1f} ({eff_source}).",
        f"Expected synthesis yield {params['expected_yield_percent']:.1f} % ± {sd_y:.1f} "
        f"({yield_source}); each run is planned for the activity reached with "
        f"{100 * params.get('confidence', 0.5):.0f} % probability.",
        f"Synthesis {params['synthesis_duration_min']:g} min, QC {params['qc_duration_min']:g} "
        f"min, shelf life {params['shelf_life_min']:g} min, draw {params['draw_lead_time_min']:g} "
        f"min before injection; elutions every {params['grid_min']:g} min from "
        f"{_hm(params['earliest_elution_at'])}, working day ends {_hm(params['working_end_at'])}; "
        f"{params.get('synthesis_modules', 1)} module(s) with "
        f"{params.get('module_turnaround_min', 0):g} min turnaround, one QC bench, at most "
        f"{params.get('max_syntheses', 0)} syntheses a day.",
        f"{len(inputs['bookings'])} booking(s) to plan: {objective.get('served', 0)} served by "
        f"{objective.get('runs', 0)} run(s)"
        + (
            f" and {sum(len(u['doses']) for u in result.get('stock', []))} from stock"
            if result.get("stock")
            else ""
        )
        + f", {len(result.get('unserved', []))} unserved"
        + (f"; smallest margin {margin:.0f} %." if margin is not None else "."),
    ]
    if not result.get("optimal", True):
        lines.append(
            "The search ran out of its time budget: this is the best plan found; no plan can "
            f"serve more than {result.get('bound', {}).get('served_at_most', '?')} booking(s)."
        )
    if plan.what_if:
        lines.append(
            f"What-if plan with {', '.join(sorted(plan.parameters))} changed: it cannot be "
            "accepted."
        )
    if plan.stale:
        lines.append("Bookings changed after this plan was computed: see the newer draft.")
    return lines


def _assignments(result: dict) -> dict[int, str]:
    """booking id → where the plan serves it ("run at 07:40" or "batch GA68-…")."""
    out = {}
    for run in result.get("runs", []):
        for dose in run["doses"]:
            out[dose["booking"]] = run["elution_at"]
    for use in result.get("stock", []):
        for dose in use["doses"]:
            out[dose["booking"]] = f"stock:{use['batch']}"
    return out


def plan_changes(plan: ProductionPlan, accepted: ProductionPlan | None) -> dict | None:
    """What `plan` changes against the day's accepted plan (SPEC §2.7): runs moved, added or
    dropped, bookings moved and bookings newly unserved; None without an accepted plan or for
    the accepted plan itself. Runs are matched in time order."""
    if accepted is None or accepted.pk == plan.pk:
        return None
    old_runs = [r["elution_at"] for r in accepted.result.get("runs", [])]
    new_runs = [r["elution_at"] for r in plan.result.get("runs", [])]
    moved = [
        {"from": a, "to": b}
        for a, b in zip(old_runs, new_runs, strict=False)
        if parse_time(a) != parse_time(b)
    ]
    added = new_runs[len(old_runs) :]
    dropped = old_runs[len(new_runs) :]
    before, after = _assignments(accepted.result), _assignments(plan.result)
    moved_bookings = sorted(
        b
        for b in set(before) & set(after)
        if before[b] != after[b]
        and not (
            before[b] in old_runs
            and after[b] in new_runs
            and old_runs.index(before[b]) == new_runs.index(after[b])
        )
    )
    newly_unserved = sorted(
        u["booking"] for u in plan.result.get("unserved", []) if u["booking"] in before
    )
    return {
        "accepted_plan": accepted.pk,
        "runs_moved": moved,
        "runs_added": added,
        "runs_dropped": dropped,
        "bookings_moved": moved_bookings,
        "bookings_newly_unserved": newly_unserved,
        "unchanged": not (moved or added or dropped or moved_bookings or newly_unserved),
    }


def accepted_plan_of(plan: ProductionPlan) -> ProductionPlan | None:
    """The accepted plan of the plan's day and generator, if any."""
    return (
        ProductionPlan.objects.filter(
            date=plan.date, generator_id=plan.generator_id, status=PlanStatus.ACCEPTED
        )
        .order_by("-id")
        .first()
    )


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
            "what_if",
            "parameters",
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


def _compute_result(inputs: dict, *, day: date, generator_id: int) -> dict:
    # Plan from the stored form of the inputs, so the result follows from what is saved.
    try:
        return planner.plan_day(
            **planner_inputs(inputs), plan_date=day, generator_id=generator_id
        ).to_dict()
    except ValueError as exc:
        raise ApplicationError(f"The plan cannot be computed: {exc}") from None


def _comparable(inputs: dict) -> dict:
    """The inputs without the time they were read: equal for an unchanged day."""
    return {**inputs, "sources": {k: v for k, v in inputs["sources"].items() if k != "computed_at"}}


def _result_core(result: dict) -> dict:
    """The plan itself, without the search's statistics (nodes and CPU time vary)."""
    return {k: v for k, v in result.items() if k not in ("search",)}


@transaction.atomic
def plan_compute(
    *,
    actor: User | None,
    date,
    generator_id,
    trigger: str = "",
    parameters: dict | None = None,
) -> ProductionPlan:
    """Compute and save a draft plan of `date` (site zone) for a generator in use.

    Older drafts of that day and generator are superseded by it. An unchanged day (same
    inputs, hence the same plan) returns the day's newest plan and saves nothing. With
    `parameters` (plan settings overridden, SPEC §2.7) the plan is a what-if: stored with them,
    never accepted, superseding nothing. 400 for an unknown generator or a date that is not a
    date; 409 for a generator that is not in use.
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
    what_if = bool(parameters)
    if not what_if:
        planned_runs_sync(day=day, generator_id=generator.pk, actor=actor)
    now = timezone.now()
    inputs = build_inputs(day=day, generator=generator, now=now, overrides=parameters)
    result = _compute_result(inputs, day=day, generator_id=generator.pk)
    if not what_if:
        newest = _open_plans(day).filter(generator=generator, what_if=False).order_by("-id").first()
        if (
            newest is not None
            and _comparable(newest.inputs) == _comparable(inputs)
            and _result_core(newest.result) == _result_core(result)
        ):
            return newest  # stable: an unchanged day gives the same plan, no new row
    plan = ProductionPlan.objects.create(
        date=day,
        generator=generator,
        status=PlanStatus.DRAFT,
        trigger=trigger,
        inputs=inputs,
        result=result,
        what_if=what_if,
        parameters=_jsonable_parameters(parameters or {}),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATED,
        obj=plan,
        changes=audit.diff({}, _plan_summary(plan)),
        reason=f"recomputed after a change of the day ({trigger})" if trigger else "",
    )
    if what_if:
        return plan
    older = ProductionPlan.objects.filter(
        date=day, generator=generator, status=PlanStatus.DRAFT, what_if=False
    ).exclude(pk=plan.pk)
    for draft in older.order_by("id"):
        _supersede(draft, by=plan, actor=actor)
    return plan


def _jsonable_parameters(parameters: dict) -> dict:
    return {
        k: (v.strftime("%H:%M") if hasattr(v, "strftime") else v) for k, v in parameters.items()
    }


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
    if plan.what_if:
        raise StateConflict(
            f"Plan {plan.pk} is a what-if plan (settings changed for it only); it cannot be "
            "accepted. Compute the day's plan with the site's settings to accept one.",
            blocking=["what-if plan"],
        )
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
        date=day, status__in=(PlanStatus.DRAFT, PlanStatus.ACCEPTED), what_if=False
    )


def _mark_stale(accepted: ProductionPlan, *, actor: User | None, reason: str) -> None:
    old = _plan_summary(accepted)
    accepted.stale = True
    accepted.save(update_fields=["stale"])
    audit.record(
        actor=actor,
        action=AuditAction.MARKED_STALE,
        obj=accepted,
        changes=audit.diff(old, _plan_summary(accepted)),
        reason=reason,
    )


@transaction.atomic
def plan_recompute(
    *, date, generator_id, actor: User | None = None, trigger: str = ""
) -> ProductionPlan | None:
    """After a change of the day: compute a fresh draft; when it differs from the accepted
    plan, that plan is marked stale. An unchanged day makes no new plan (stable re-planning).

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
    plan = plan_compute(actor=actor, date=date, generator_id=generator.pk, trigger=trigger)
    for accepted in _open_plans(date).filter(
        generator=generator, status=PlanStatus.ACCEPTED, stale=False
    ):
        if accepted.pk != plan.pk and _result_core(accepted.result) != _result_core(plan.result):
            _mark_stale(accepted, actor=actor, reason="the day changed: see the newer draft")
    return plan


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


def _recompute_waiting(day: date, generator_id: int) -> bool:
    """Whether a recompute of (day, generator) is queued and has not started: it will read the
    day as it is when it runs, so one more change needs no job of its own."""
    return OutboxJob.objects.filter(
        task_name=RECOMPUTE_TASK,
        status=OutboxJob.Status.PENDING,
        kwargs__date=day.isoformat(),
        kwargs__generator_id=generator_id,
    ).exists()


def queue_recompute(day: date, generator_id: int, *, reason: str, actor: User | None = None):
    """Queue one recompute of (day, generator) unless one is waiting already (coalesced).

    A job already sent to the broker may have started: it gets a successor, which the task
    skips when a plan computed after this change exists (see `recompute_needed`).
    """
    if _recompute_waiting(day, generator_id):
        return None
    key = f"plan-recompute:{day.isoformat()}:{generator_id}:{uuid.uuid4().hex[:12]}"
    return outbox.enqueue(
        task_name=RECOMPUTE_TASK,
        key=key,
        kwargs={
            "date": day.isoformat(),
            "generator_id": generator_id,
            "trigger": key,
            "actor_id": getattr(actor, "pk", None),
            "requested_at": timezone.now().isoformat(),
            "reason": reason,
        },
    )


def recompute_needed(*, date, generator_id, requested_at: datetime | None) -> bool:
    """False when a plan of (date, generator) was computed after `requested_at` (a later job
    read the day after this change had been made): the job has nothing left to do."""
    if requested_at is None:
        return True
    return not any(
        parse_time(plan.inputs["sources"]["computed_at"]) > requested_at
        for plan in _open_plans(date).filter(generator_id=generator_id).order_by("-id")[:5]
    )


def queue_plan_recompute(
    booking: Booking, *, previous_injection_at=None, actor: User | None = None
) -> None:
    """Queue a recompute of the plans of the booking's day (and of its previous day when it was
    moved): one waiting job per (day, generator) however many bookings change. Call inside
    the booking service's transaction: the jobs run after it commits."""
    days = {site_date(booking.injection_at)}
    if previous_injection_at is not None:
        days.add(site_date(previous_injection_at))
    for day in sorted(days):
        generator_ids = sorted(set(_open_plans(day).values_list("generator_id", flat=True)))
        for generator_id in generator_ids:
            queue_recompute(day, generator_id, reason=f"booking {booking.pk} changed", actor=actor)


def plan_slots(*, date, generator_id, prescribed_activity_mbq: float) -> dict:
    """Booking assistant (SPEC §2.7): the injection times of `date` at which a new booking of
    `prescribed_activity_mbq` is served with no extra synthesis and nobody unserved, and those
    that need one more synthesis. Reads only: nothing is saved. 400 for an unknown generator."""
    generator = Generator.objects.filter(pk=generator_id).first()
    if generator is None:
        raise ApplicationError(
            f"No generator {generator_id}.", fields={"generator": [f"No generator {generator_id}."]}
        )
    if generator.status != GeneratorStatus.IN_USE:
        return {"no_extra_synthesis": [], "one_more_synthesis": []}
    inputs = build_inputs(day=date, generator=generator, now=timezone.now())
    try:
        same, more = planner.slots_for_new_booking(
            **planner_inputs(inputs), prescribed_activity_mbq=prescribed_activity_mbq
        )
    except ValueError as exc:
        raise ApplicationError(f"The slots cannot be computed: {exc}") from None
    return {
        "no_extra_synthesis": [site_local(t) for t in same],
        "one_more_synthesis": [site_local(t) for t in more],
    }


# --- the day as it happens: planned runs against recorded batches ------------------------------

LINK_WINDOW_MIN = 60  # SPEC §2.7: a batch fulfils the planned run eluted within 60 min of it
_FAILED_BATCH = (BatchStatus.REJECTED, BatchStatus.RECALLED, BatchStatus.ON_HOLD)


def _batch_elution_at(batch: Batch) -> datetime:
    return min((e.eluted_at for e in batch.elutions.all()), default=batch.started_at)


def _run_target(run: PlannedRun) -> str | None:
    """The status a linked run should have from its batch, or None to leave it."""
    batch = run.batch
    if batch is None:
        return None
    needed = sum(d.get("activity_needed_at_eos_mbq", 0.0) for d in run.doses)
    if batch.status in _FAILED_BATCH:
        return PlannedRunStatus.FAILED
    if batch.activity_at_eos_mbq < needed:
        return PlannedRunStatus.FAILED  # low yield: it cannot serve its doses
    if batch.status == BatchStatus.RELEASED:
        return PlannedRunStatus.DONE
    return PlannedRunStatus.IN_PROGRESS


def _failure_reason(run: PlannedRun) -> str:
    batch = run.batch
    if batch.status in _FAILED_BATCH:
        return f"batch {batch.batch_number} is {batch.get_status_display().lower()}"
    return f"batch {batch.batch_number} has too little activity at EOS for its doses (low yield)"


def _set_run_status(run: PlannedRun, target: str, *, actor: User | None, reason: str) -> bool:
    if run.status == target or target not in TRANSITIONS_OF_RUN.get(run.status, set()):
        return False
    transition(run, PlannedRunStatus(target), actor=actor, reason=reason)
    return True


@transaction.atomic
def planned_run_link(*, actor: User, planned_run_id, batch_id) -> PlannedRun:
    """Link a recorded batch to the planned run it fulfils (the user's choice), and set the
    run's status from the batch. 400 when the batch is not of the run's generator and day; 409
    when the run is cancelled or already linked to another batch."""
    run = PlannedRun.objects.select_for_update().select_related("plan").filter(pk=planned_run_id)
    run = run.first()
    if run is None:
        raise NotFound(f"No planned run {planned_run_id}.")
    batch = (
        Batch.objects.filter(pk=batch_id, elutions__generator_id=run.plan.generator_id)
        .distinct()
        .first()
    )
    if batch is None or site_date(batch.eos_at) != run.plan.date:
        raise ApplicationError(
            "The batch is not of this run's generator and day.",
            fields={"batch": [f"No batch {batch_id} of this generator on {run.plan.date}."]},
        )
    if run.status == PlannedRunStatus.CANCELLED or (run.batch_id not in (None, batch.pk)):
        raise StateConflict(
            f"Planned run {run.pk} cannot take batch {batch.batch_number}.",
            blocking=[f"run status {run.get_status_display()}, batch {run.batch_id or '—'}"],
        )
    _link(run, batch, actor=actor, reason="chosen by the user")
    _after_link(run, actor=actor)
    return run


def _link(run: PlannedRun, batch: Batch, *, actor: User | None, reason: str) -> None:
    before = audit.snapshot(run, ["batch"])
    run.batch = batch
    run.save(update_fields=["batch"])
    audit.record_change(
        actor=actor, action=AuditAction.CHANGED, obj=run, before=before, reason=reason
    )


def _after_link(run: PlannedRun, *, actor: User | None) -> bool:
    """Status from the batch; True when the run has just failed."""
    target = _run_target(run)
    if target is None:
        return False
    if target == PlannedRunStatus.FAILED:
        changed = _set_run_status(run, target, actor=actor, reason=_failure_reason(run))
        if changed:
            queue_recompute(
                run.plan.date,
                run.plan.generator_id,
                reason=f"planned run {run.sequence} failed",
                actor=actor,
            )
        return changed
    _set_run_status(run, target, actor=actor, reason=f"batch {run.batch.batch_number}")
    return False


@transaction.atomic
def planned_runs_sync(*, day: date, generator_id: int, actor: User | None = None) -> int:
    """Link the day's recorded batches of the generator to the accepted plan's runs (same
    generator, elution within 60 min of the planned one, the nearest first) and bring each
    run's status up to date. A run that fails (batch rejected, recalled, on hold, or too little
    activity) queues a re-plan of the rest of the day. Returns how many runs changed."""
    plan = (
        ProductionPlan.objects.filter(
            date=day, generator_id=generator_id, status=PlanStatus.ACCEPTED
        )
        .order_by("-id")
        .first()
    )
    if plan is None:
        return 0
    runs = list(
        plan.runs.select_for_update(of=("self",))
        .select_related("batch", "plan")
        .order_by("sequence")
    )
    linked = {r.batch_id for r in runs if r.batch_id}
    start, end = site_day_bounds(day)
    batches = (
        Batch.objects.filter(eos_at__gte=start, eos_at__lt=end, elutions__generator_id=generator_id)
        .exclude(pk__in=linked)
        .distinct()
        .prefetch_related("elutions")
        .order_by("eos_at", "id")
    )
    changed = 0
    window = LINK_WINDOW_MIN * 60
    for batch in batches:
        eluted = _batch_elution_at(batch)
        candidates = [
            r
            for r in runs
            if r.batch_id is None
            and r.status in (PlannedRunStatus.PLANNED, PlannedRunStatus.IN_PROGRESS)
            and abs((r.elution_at - eluted).total_seconds()) <= window
        ]
        if not candidates:
            continue
        run = min(candidates, key=lambda r: (abs((r.elution_at - eluted).total_seconds()), r.pk))
        _link(run, batch, actor=actor, reason="recorded batch within 60 min of the planned elution")
        changed += 1
    for run in runs:
        if run.batch_id is not None:
            status = run.status
            _after_link(run, actor=actor)
            changed += run.status != status
    return changed
