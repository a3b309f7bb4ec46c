"""Thin Celery tasks of the scheduling area: look rows up, call one service, safe to run twice."""

from datetime import date

from django.contrib.auth import get_user_model

from radiopharmacy.core.outbox import outbox_task


@outbox_task(name="scheduling.recompute_plan")
def recompute_plan_task(
    *,
    date: str,  # noqa: A002 - the outbox kwargs name
    generator_id: int,
    trigger: str = "",
    actor_id: int | None = None,
) -> int | None:
    """Recompute a day's plan for a generator after a booking change (SPEC §2.7).

    Idempotent: the `trigger` (the outbox key) makes at most one plan. Returns the plan's id.
    """
    from scheduling.services.plans import plan_recompute

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    plan = plan_recompute(
        date=_parse_date(date), generator_id=generator_id, actor=actor, trigger=trigger
    )
    return plan.pk if plan is not None else None


def _parse_date(value: str) -> date:
    return date.fromisoformat(value)
