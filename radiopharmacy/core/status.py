"""Status transitions: each app registers the allowed moves of its statuses here, and services
change a record's `status` only through `transition` (or `ensure_transition` where the change
is not saved on its own), so a refused move is always the same 409 and always audited."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import StateConflict

TRANSITIONS: dict[type[models.TextChoices], dict[str, set[str]]] = {}


def register_transitions(choices: type[models.TextChoices], table: Mapping[str, set[str]]) -> None:
    """Declare the allowed moves of a status type; every status must have a row."""
    missing = set(choices.values) - set(table)
    if missing:
        raise ValueError(f"{choices.__name__}: no transitions given for {sorted(missing)}")
    TRANSITIONS[choices] = {str(k): {str(v) for v in targets} for k, targets in table.items()}


def can_transition(choices: type[models.TextChoices], current: str, target: str) -> bool:
    return str(target) in TRANSITIONS[choices].get(str(current), set())


def ensure_transition(choices: type[models.TextChoices], current: str, target: str) -> None:
    """A 409 naming both statuses when `current` may not become `target`."""
    if not can_transition(choices, current, target):
        raise StateConflict(
            f"Cannot go from {choices(current).label} to {choices(target).label}.",
            blocking=[f"status is {choices(current).label}"],
        )


def transition(
    obj: models.Model,
    target: models.TextChoices,
    *,
    actor: User | None,
    action: AuditAction = AuditAction.STATUS_CHANGED,
    reason: str = "",
    also: Mapping[str, Any] | None = None,
) -> models.Model:
    """Move `obj` to `target` through its table, save it, and audit the change.

    `target` is a member of the status type (its class names the table). `also` sets other
    fields in the same save (who closed it, when). Call inside the service's transaction, with
    the row locked where two users may race.
    """
    choices = type(target)
    if choices not in TRANSITIONS:
        raise TypeError(f"{target!r} is not a registered status: pass a TextChoices member")
    ensure_transition(choices, obj.status, target)
    fields = ["status", *(also or {})]
    before = audit.snapshot(obj, fields)
    obj.status = target
    for name, value in (also or {}).items():
        setattr(obj, name, value)
    obj.save(update_fields=fields)
    audit.record_change(actor=actor, action=action, obj=obj, before=before, reason=reason)
    return obj
