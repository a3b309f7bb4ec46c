"""Corrective and preventive actions of a quality event (SPEC §2.4a).

A CAPA is `open` → `done` (completed, with what was done) → `verified` (the effectiveness check),
and the person who verifies is not the one who completed it. An action past its due date raises
an alert (`capa_overdue_alerts`, run by the periodic job).
"""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.models import Capa, Deviation
from radiopharmacy.core import audit
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import required_text
from radiopharmacy.core.errors import ApplicationError, NotAllowed, NotFound
from radiopharmacy.core.models import Alert
from radiopharmacy.core.sitetime import site_today
from radiopharmacy.core.status import transition


def _lock(capa_id: int) -> Capa:
    try:
        return Capa.objects.select_for_update().select_related("deviation").get(pk=capa_id)
    except Capa.DoesNotExist:
        raise NotFound("No such CAPA.") from None


@transaction.atomic
def capa_create(
    *, actor: User, deviation: Deviation, description: str, owner: User, due_on: dt.date
) -> Capa:
    """Add a corrective or preventive action to a quality event (closed or not: a CAPA often
    outlives the investigation)."""
    description = required_text(description, "description", "Describe the action.")
    if not getattr(owner, "is_active", False):
        raise ApplicationError(
            "The owner is not an active user.", fields={"owner": ["Choose an active user."]}
        )
    if due_on < site_today() - dt.timedelta(days=1):
        raise ApplicationError(
            "The due date has passed.", fields={"due_on": ["A due date from today on."]}
        )
    capa = Capa.objects.create(
        deviation=deviation,
        description=description,
        owner=owner,
        due_on=due_on,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit.record(actor=actor, action=AuditAction.CREATED, obj=capa, changes=audit.created(capa))
    return capa


@transaction.atomic
def capa_complete(*, capa_id: int, actor: User, note: str) -> Capa:
    """Mark the action done, saying what was done."""
    note = required_text(note, "note", "Say what was done.")
    capa = _lock(capa_id)
    return transition(
        capa,
        Capa.Status.DONE,
        actor=actor,
        action=AuditAction.CAPA_COMPLETED,
        reason=note,
        also={"completed_by_id": actor.pk, "completed_at": timezone.now(), "completion_note": note},
    )


@transaction.atomic
def capa_verify(*, capa_id: int, actor: User, effectiveness_check: str) -> Capa:
    """Verify a done action with its effectiveness check: by someone other than who did it."""
    check = required_text(
        effectiveness_check, "effectiveness_check", "Describe the effectiveness check."
    )
    capa = _lock(capa_id)
    if capa.completed_by_id == actor.pk:
        raise NotAllowed("You completed this action: another person verifies it.")
    return transition(
        capa,
        Capa.Status.VERIFIED,
        actor=actor,
        action=AuditAction.CAPA_VERIFIED,
        reason=check,
        also={
            "verified_by_id": actor.pk,
            "verified_at": timezone.now(),
            "effectiveness_check": check,
        },
    )


def overdue_capas(today: dt.date | None = None):
    today = today or site_today()
    return Capa.objects.filter(status=Capa.Status.OPEN, due_on__lt=today).select_related(
        "owner", "deviation"
    )


def capa_overdue_alerts(today: dt.date | None = None) -> int:
    """Raise one alert per open action past its due date; returns how many were new."""
    raised = 0
    for capa in overdue_capas(today):
        owner = capa.owner.get_full_name() or capa.owner.get_username()
        _, new = alert_raise(
            key=f"capa-overdue:{capa.pk}",
            kind="capa_overdue",
            level=Alert.Level.WARNING,
            message=(
                f"CAPA {capa.pk} of quality event {capa.deviation_id} was due on "
                f"{capa.due_on:%Y-%m-%d} (owner {owner}): {capa.description.splitlines()[0]}"
            ),
            object_type=Capa._meta.label_lower,
            object_id=str(capa.pk),
        )
        raised += new
    return raised
