"""The audit service: the only writer of AuditEvent rows, and the chain verifier.

Every entry stores the SHA-256 of its canonical content together with the previous entry's hash,
so a changed, removed or inserted row breaks the chain at that point (`manage.py verify_audit`).
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.utils import timezone

from radiopharmacy.core.models import AuditEvent


class AuditAction(models.TextChoices):
    """Every action the trail records: one vocabulary for the services and the audit search."""

    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    CORRECTED = "corrected", "Corrected"
    SUPERSEDED = "superseded", "Superseded"
    DELETED = "deleted", "Deleted"
    STATUS_CHANGED = "status_changed", "Status changed"
    # batches, release and certificates
    RELEASED = "released", "Released"
    REJECTED = "rejected", "Rejected"
    RECALLED = "recalled", "Recalled"
    SIGNED = "signed", "Signed"
    SIGNATURE_REAUTH_FAILED = "signature_reauth_failed", "Signature re-authentication failed"
    CERTIFICATE_RENDERED = "certificate_rendered", "Certificate rendered"
    DEVIATION_OPENED = "deviation_opened", "Deviation opened"
    DEVIATION_CLOSED = "deviation_closed", "Deviation closed"
    # bookings and doses
    CANCELLED = "cancelled", "Cancelled"
    RESCHEDULED = "rescheduled", "Rescheduled"
    MISSED = "missed", "Missed"
    DOSE_ASSIGNED = "dose_assigned", "Dose assigned"
    DOSE_CANCELLED = "dose_cancelled", "Dose cancelled"
    MEASURED = "measured", "Measured"
    DISPENSED = "dispensed", "Dispensed"
    ADMINISTERED = "administered", "Administered"
    # plans
    ACCEPTED = "accepted", "Accepted"
    MARKED_STALE = "marked_stale", "Marked stale"
    # security and operations
    ACCESS_DENIED = "access_denied", "Access denied"
    OUTBOX_JOB_FAILED = "outbox_job_failed", "Background job failed"
    OUTBOX_JOB_RETRIED = "outbox_job_retried", "Background job retried"


GENESIS_HASH = "0" * 64
# Any constant works: it names the lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK_KEY = 6_868_271


def jsonable(value: Any) -> Any:
    """A JSON-safe, round-trip-stable form of a field value (the hash depends on it)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return str(value) if isinstance(value, dt.timedelta) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Field values of a model instance (foreign keys by id) for a diff."""
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    return {name: jsonable(getattr(instance, name)) for name in names}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two snapshots: {field: {"old": ..., "new": ...}}."""
    keys = sorted(set(old) | set(new))
    return {
        k: {"old": jsonable(old.get(k)), "new": jsonable(new.get(k))}
        for k in keys
        if jsonable(old.get(k)) != jsonable(new.get(k))
    }


def created(instance: models.Model) -> dict[str, dict[str, Any]]:
    """The changes of a creation: every field from None."""
    return diff({}, snapshot(instance))


def object_type_of(instance: models.Model) -> str:
    return instance._meta.label_lower


def content_hash(event: AuditEvent) -> str:
    payload = {
        "occurred_at": jsonable(event.occurred_at),
        "user_id": event.user_id,
        "username": event.username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": jsonable(event.changes),
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one entry to the chain, inside the caller's transaction.

    Pass either `obj` or `object_type` and `object_id`. `changes` is {field: {"old", "new"}}.
    `action` is one of AuditAction (a free string would escape the audit search's vocabulary).
    """
    action = AuditAction(action)  # ValueError for an action outside the vocabulary: a bug
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two transactions appending at once would both chain to the same previous hash.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # On SQLite the IMMEDIATE transaction already holds the database's write lock.
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        user = actor if getattr(actor, "is_authenticated", False) else None
        event = AuditEvent(
            occurred_at=timezone.now(),
            user=user,
            username=user.get_username() if user else "system",
            action=action,
            object_type=object_type or (object_type_of(obj) if obj is not None else ""),
            object_id=str(object_id if object_id is not None else (obj.pk if obj else "")),
            object_repr=str(obj)[:200] if obj is not None else "",
            changes=jsonable(dict(changes or {})),
            reason=reason or "",
            prev_hash=previous or GENESIS_HASH,
        )
        event.hash = content_hash(event)
        event.save(force_insert=True)
        return event


def record_change(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model,
    before: Mapping[str, Any],
    reason: str = "",
) -> AuditEvent:
    """Append the change of `obj` since `before` (a `snapshot` taken before the change): the
    same fields are read again from `obj` and only those that differ are recorded."""
    after = snapshot(obj, list(before)) if before else snapshot(obj)
    return record(actor=actor, action=action, obj=obj, changes=diff(before, after), reason=reason)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain() -> ChainReport:
    """Recompute every entry's hash in order; name the first entry that does not match."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.prev_hash != expected_prev:
            return ChainReport(
                checked,
                event.id,
                "its previous-hash link does not match the "
                "entry before it (an entry was removed or inserted)",
            )
        if content_hash(event) != event.hash:
            return ChainReport(
                checked, event.id, "its content no longer matches its hash (the entry was changed)"
            )
        expected_prev = event.hash
        checked += 1
    return ChainReport(checked, None, "")
