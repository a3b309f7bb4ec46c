"""Thin Celery tasks of the scheduling area: look rows up, call one service, safe to run twice.

Plan recomputes run on their own queue (`plans`, CELERY_TASK_ROUTES in settings), so a
certificate never waits behind them; the time limits stop a runaway search (the planner's own
CPU budget is far below them).
"""

from datetime import date, datetime

from django.contrib.auth import get_user_model

from radiopharmacy.core.outbox import outbox_task

RECOMPUTE_SOFT_TIME_LIMIT_S = 60
RECOMPUTE_TIME_LIMIT_S = 90


@outbox_task(
    name="scheduling.recompute_plan",
    soft_time_limit=RECOMPUTE_SOFT_TIME_LIMIT_S,
    time_limit=RECOMPUTE_TIME_LIMIT_S,
)
def recompute_plan_task(
    *,
    date: str,  # noqa: A002 - the outbox kwargs name
    generator_id: int,
    trigger: str = "",
    actor_id: int | None = None,
    requested_at: str | None = None,
    reason: str = "",
) -> int | None:
    """Recompute a day's plan for a generator after a change of the day (SPEC §2.7).

    Idempotent: the `trigger` (the outbox key) makes at most one plan, and a job whose change a
    later plan has already read does nothing. Returns the plan's id.
    """
    from scheduling.services.plans import plan_recompute, recompute_needed

    day = _parse_date(date)
    requested = datetime.fromisoformat(requested_at) if requested_at else None
    if not recompute_needed(date=day, generator_id=generator_id, requested_at=requested):
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    plan = plan_recompute(date=day, generator_id=generator_id, actor=actor, trigger=trigger)
    return plan.pk if plan is not None else None


@outbox_task(name="scheduling.sync_planned_runs", soft_time_limit=60, time_limit=90)
def sync_planned_runs_task() -> int:
    """Beat: link today's recorded batches to the accepted plans' runs, update their status,
    and queue a re-plan of the day for each run that failed (SPEC §2.7). Returns runs changed."""
    from radiopharmacy.core.sitetime import site_today
    from scheduling.choices import PlanStatus
    from scheduling.models import ProductionPlan
    from scheduling.services.plans import planned_runs_sync

    today = site_today()
    generator_ids = ProductionPlan.objects.filter(
        date=today, status=PlanStatus.ACCEPTED
    ).values_list("generator_id", flat=True)
    return sum(planned_runs_sync(day=today, generator_id=g) for g in sorted(set(generator_ids)))


def _parse_date(value: str) -> date:
    return date.fromisoformat(value)
