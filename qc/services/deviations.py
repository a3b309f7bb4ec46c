"""Deviations and OOS records on a batch: open and close (SPEC §2.4)."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.models import Deviation
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import transition


@transaction.atomic
def deviation_open(
    *,
    batch,
    kind: str,
    description: str,
    actor: User | None,
    blocks_release: bool = True,
    qc_result=None,
    affected_doses: list | None = None,
) -> Deviation:
    """Open a deviation on `batch` (an OOS, a breakthrough failure...). `actor` may be None
    for a system job."""
    if kind not in Deviation.Kind.values:
        raise ApplicationError("Unknown deviation kind", fields={"kind": [f"Unknown: {kind}"]})
    if not (description or "").strip():
        raise ApplicationError("Describe the deviation", fields={"description": ["Required."]})
    user = actor if getattr(actor, "is_authenticated", False) else None
    deviation = Deviation.objects.create(
        batch=batch,
        kind=kind,
        description=description.strip(),
        blocks_release=blocks_release,
        opened_by=user,
        opened_at=timezone.now(),
        qc_result=qc_result,
        affected_doses=affected_doses or [],
    )
    audit.record(
        actor=actor,
        action=AuditAction.DEVIATION_OPENED,
        obj=deviation,
        changes=audit.created(deviation),
    )
    return deviation


@transaction.atomic
def deviation_close(*, deviation_id: int, actor: User, note: str) -> Deviation:
    """Close an open deviation with a closure note (the investigation's conclusion)."""
    if not (note or "").strip():
        raise ApplicationError("A closure note is required", fields={"note": ["Required."]})
    deviation = Deviation.objects.select_for_update().get(pk=deviation_id)
    if deviation.status == Deviation.Status.CLOSED:
        raise StateConflict("The deviation is already closed.", blocking=["deviation closed"])
    note = note.strip()
    # `closed_by_id`, not `closed_by`: the audit entry names the field as every other entry does.
    return transition(
        deviation,
        Deviation.Status.CLOSED,
        actor=actor,
        action=AuditAction.DEVIATION_CLOSED,
        reason=note,
        also={"closed_by_id": actor.pk, "closed_at": timezone.now(), "closure_note": note},
    )
