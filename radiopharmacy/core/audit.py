"""The audit service: the only writer of AuditEvent rows, its checkpoints, and the verifier.

Every entry stores the SHA-256 of its canonical content together with the previous entry's hash,
so a changed, removed or inserted row breaks the chain at that point, and an HMAC of its id and
hash under a key kept out of the database (settings.AUDIT_HMAC_KEY), so that recomputing the
hashes after an edit does not hide it. Entry ids are consecutive (1, 2, 3, ...): a missing id is
a deleted entry. Signed checkpoints of the chain's head (entry id, count, head hash, time) are
appended to files outside the database, every AUDIT_CHECKPOINT_EVERY entries, by beat and on
demand (`manage.py audit_checkpoint`): a deleted tail or a rewritten chain no longer matches them
(`manage.py verify_audit`).
"""

import datetime as dt
import hashlib
import hmac as hmac_lib
import json
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, connections, models, transaction
from django.utils import timezone

from radiopharmacy.core.models import AuditCheckpoint, AuditEvent

logger = logging.getLogger("gallium.audit")


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
    INVESTIGATION_STARTED = "investigation_started", "Investigation started"
    INVESTIGATION_RECORDED = "investigation_recorded", "Investigation phase recorded"
    PUT_ON_HOLD = "put_on_hold", "Put on hold"
    HOLD_LIFTED = "hold_lifted", "Hold lifted"
    CAPA_COMPLETED = "capa_completed", "CAPA completed"
    CAPA_VERIFIED = "capa_verified", "CAPA verified"
    ALERT_ACKNOWLEDGED = "alert_acknowledged", "Alert acknowledged"
    # the audit trail itself (radiopharmacy/core/audit_review.py)
    AUDIT_REVIEWED = "audit_reviewed", "Audit trail reviewed"
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
    # users, groups and sign-in (radiopharmacy/core/accounts.py)
    USER_CREATED = "user_created", "User created"
    USER_CHANGED = "user_changed", "User changed"
    USER_ROLES_CHANGED = "user_roles_changed", "User's roles changed"
    USER_PASSWORD_CHANGED = "user_password_changed", "User's password changed"
    USER_ACTIVATED = "user_activated", "User activated"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    USER_DELETE_REFUSED = "user_delete_refused", "User deletion refused"
    GROUP_CHANGED = "group_changed", "Group changed"
    ACCOUNT_LOCKED = "account_locked", "Account locked"
    OTP_DEVICE_ENROLLED = "otp_device_enrolled", "Authenticator enrolled"
    OTP_DEVICE_REMOVED = "otp_device_removed", "Authenticator removed"
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


# The fields an entry's hash covers, in the order of an entry row (`ENTRY_COLUMNS`).
HASHED_FIELDS = (
    "occurred_at",
    "user_id",
    "username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "reason",
    "prev_hash",
)
# An entry row: what `verify_entry_rows` checks, as stored (a tuple in this order or a mapping).
ENTRY_COLUMNS = ("id", *HASHED_FIELDS, "hash", "hmac")
# One encoder for the canonical form (json.dumps builds a new one at each call with options).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    occurred_at: Any,
    user_id: int | None,
    username: str,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: Any,
    reason: str,
    prev_hash: str,
) -> str:
    """The SHA-256 of an entry's canonical content: the one definition of what is hashed.

    `occurred_at` is an aware datetime or its `jsonable` form; `changes` a value that JSON
    round-trips unchanged (as stored: `jsonable` of a JSON-decoded value is that value)."""
    payload = {
        "occurred_at": occurred_at if isinstance(occurred_at, str) else jsonable(occurred_at),
        "user_id": user_id,
        "username": username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "changes": changes,
        "reason": reason,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_CANONICAL.encode(payload).encode("utf-8")).hexdigest()


# The verifier's fast path (issue 15): the stdlib's canonical encoder is most of an entry's cost,
# orjson's sorted encoding a fraction of it. orjson's text only ever confirms: when it hashes to
# the stored hash, it is the canonical text that hash was made of; the stdlib reads it back as
# exactly the content decoded here (orjson writes every value it accepts so, floats to the bit:
# tests/radiopharmacy/test_audit_verify.py checks it), whose canonical text is that text again,
# so `entry_hash` would match too. Otherwise (a tampered entry, a float orjson writes its own way
# such as 1e-05, a value it refuses such as an integer beyond 64 bits) `entry_hash` decides.
# The stored text is decoded by the stdlib (orjson's decoder turns big integers into floats),
# refusing NaN and infinities, which orjson would write as null.
class _NotFast(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # an infinity ("1e400") or NaN
        raise _NotFast(text)
    return value


def _refuse(text: str) -> float:
    raise _NotFast(text)  # NaN, Infinity, -Infinity


# Its scanner only: the text as stored has no surrounding whitespace (else `entry_hash` decides).
_scan_stored_json = json.JSONDecoder(parse_float=_finite, parse_constant=_refuse).scan_once
# Datetimes, dataclasses and subclasses raise instead of orjson's own forms of them.
_ORJSON_SORTED = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _confirmed(row: tuple) -> bool:
    """True when a stored row's content hashes to its stored hash by the fast path (see above);
    False when it cannot tell: `entry_hash` decides."""
    occurred_at, changes = row[1], row[8]
    if type(occurred_at) is not str or type(changes) is not str:
        return False  # decoded values (an offline row) are not as stored: the reference path
    try:
        value, end = _scan_stored_json(changes, 0)
        if end != len(changes):
            return False
        text = orjson.dumps(
            {
                "occurred_at": occurred_at,
                "user_id": row[2],
                "username": row[3],
                "action": row[4],
                "object_type": row[5],
                "object_id": row[6],
                "object_repr": row[7],
                "changes": value,
                "reason": row[9],
                "prev_hash": row[10],
            },
            option=_ORJSON_SORTED,
        )
    except (StopIteration, ValueError, TypeError):  # orjson.JSONEncodeError is a TypeError
        return False
    return hashlib.sha256(text).hexdigest() == row[11]


def content_hash(event: AuditEvent) -> str:
    return entry_hash(
        *(getattr(event, name) for name in HASHED_FIELDS[:7]),
        jsonable(event.changes),
        event.reason,
        event.prev_hash,
    )


def _keyed(key: str | None = None) -> "hmac_lib.HMAC":
    """An HMAC-SHA256 under the trail's key (settings.AUDIT_HMAC_KEY unless given), to copy."""
    secret = settings.AUDIT_HMAC_KEY if key is None else key
    return hmac_lib.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def _mac(message: str, keyed: "hmac_lib.HMAC | None" = None) -> str:
    mac = (keyed or _keyed()).copy()
    mac.update(message.encode("utf-8"))
    return mac.hexdigest()


def entry_mac(entry_id: int, entry_hash: str, keyed: "hmac_lib.HMAC | None" = None) -> str:
    """The HMAC of an entry: binds its hash (so its content and its link) to its position.
    `keyed`: a `_keyed()` object made once for many entries (the verifier)."""
    return _mac(f"auditevent:{entry_id}:{entry_hash}", keyed)


def _lock_chain() -> None:
    """Serialise appends to the chain (and checkpoints of its head), inside a transaction."""
    if connection.vendor == "postgresql":
        # Two transactions appending at once would both chain to the same previous hash.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # On SQLite the IMMEDIATE transaction already holds the database's write lock.


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
        _lock_chain()
        previous_id, previous = AuditEvent.objects.order_by("-id").values_list(
            "id", "hash"
        ).first() or (0, GENESIS_HASH)
        user = actor if getattr(actor, "is_authenticated", False) else None
        event = AuditEvent(
            id=previous_id + 1,  # consecutive under the chain's lock: a gap is a deletion
            occurred_at=timezone.now(),
            user=user,
            username=user.get_username() if user else "system",
            action=action,
            object_type=object_type or (object_type_of(obj) if obj is not None else ""),
            object_id=str(object_id if object_id is not None else (obj.pk if obj else "")),
            object_repr=str(obj)[:200] if obj is not None else "",
            changes=jsonable(dict(changes or {})),
            reason=reason or "",
            prev_hash=previous,
        )
        event.hash = content_hash(event)
        event.hmac = entry_mac(event.id, event.hash)
        event.save(force_insert=True)
        if event.id % settings.AUDIT_CHECKPOINT_EVERY == 0:
            # After the commit, in a transaction of its own: never inside the caller's.
            transaction.on_commit(_checkpoint_after_commit, robust=True)
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
class Checkpoint:
    """A signed statement: at `at`, the chain had `count` entries ending with `entry_id`, whose
    hash was `head_hash`. One JSON line in a checkpoint file, and a row of AuditCheckpoint."""

    at: str  # ISO 8601, UTC
    entry_id: int
    count: int
    head_hash: str
    hmac: str = ""
    source: str = field(default="", compare=False)

    @classmethod
    def of_row(cls, row: AuditCheckpoint) -> "Checkpoint":
        return cls(
            at=row.created_at.astimezone(dt.UTC).isoformat(),
            entry_id=row.last_entry_id,
            count=row.entry_count,
            head_hash=row.head_hash,
            hmac=row.hmac,
            source=f"database checkpoint #{row.pk}",
        )

    def payload(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "entry_id": self.entry_id,
            "count": self.count,
            "head_hash": self.head_hash,
        }

    def expected_mac(self) -> str:
        canonical = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return _mac(f"auditcheckpoint:{canonical}")

    @property
    def signed(self) -> bool:
        return hmac_lib.compare_digest(self.expected_mac(), self.hmac)

    def line(self) -> str:
        return json.dumps({**self.payload(), "hmac": self.hmac}, sort_keys=True) + "\n"


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def checkpoint_write(*, only_if_moved: bool = False) -> Checkpoint | None:
    """Sign the chain's head now and append it to this month's checkpoint file, then to the
    table. `only_if_moved`: write nothing when the head is the last checkpoint's (beat)."""
    with transaction.atomic():
        _lock_chain()
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        entry_id, head_hash = head or (0, GENESIS_HASH)
        if only_if_moved:
            last = AuditCheckpoint.objects.order_by("-id").first()
            if last is not None and (last.last_entry_id, last.head_hash) == (entry_id, head_hash):
                if Checkpoint.of_row(last).signed:  # a row forged without the key does not count
                    return None
        now = timezone.now().astimezone(dt.UTC)
        unsigned = Checkpoint(
            at=now.isoformat(),
            entry_id=entry_id,
            count=AuditEvent.objects.count(),
            head_hash=head_hash,
        )
        checkpoint = Checkpoint(**unsigned.payload(), hmac=unsigned.expected_mac())
        # The file first: it is the authority, and a checkpoint of committed entries stays true
        # even if this transaction then fails.
        directory = checkpoint_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"checkpoints-{now:%Y-%m}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, checkpoint.line().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        AuditCheckpoint.objects.create(
            created_at=now,
            last_entry_id=checkpoint.entry_id,
            entry_count=checkpoint.count,
            head_hash=checkpoint.head_hash,
            hmac=checkpoint.hmac,
        )
    return checkpoint


def _checkpoint_after_commit() -> None:
    try:
        checkpoint_write(only_if_moved=True)
    except Exception:  # noqa: BLE001 - the committed change stands; beat writes the next one
        logger.exception("audit: could not write the checkpoint")


def load_checkpoints() -> tuple[list[Checkpoint], list[tuple[int | None, str]]]:
    """Every checkpoint of the files (the authority) and of the table, and what is wrong with
    them: a line or row whose signature fails, a row that no file holds."""
    found: dict[str, Checkpoint] = {}
    problems: list[tuple[int | None, str]] = []
    directory = checkpoint_dir()
    paths = sorted(directory.glob("checkpoints-*.jsonl")) if directory.is_dir() else []
    for path in paths:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                data = json.loads(text)
                checkpoint = Checkpoint(
                    at=str(data["at"]),
                    entry_id=int(data["entry_id"]),
                    count=int(data["count"]),
                    head_hash=str(data["head_hash"]),
                    hmac=str(data["hmac"]),
                    source=where,
                )
            except (ValueError, TypeError, KeyError, AttributeError):
                problems.append((None, f"checkpoint file {where} is not a checkpoint"))
                continue
            if not checkpoint.signed:
                problems.append((None, f"checkpoint {where} has a bad signature (it was edited)"))
                continue
            found.setdefault(checkpoint.hmac, checkpoint)
    for row in AuditCheckpoint.objects.order_by("id"):
        checkpoint = Checkpoint.of_row(row)
        if not checkpoint.signed:
            problems.append((None, f"{checkpoint.source} has a bad signature"))
        elif checkpoint.hmac not in found:
            problems.append(
                (
                    None,
                    f"{checkpoint.source} (entry {row.last_entry_id}, {checkpoint.at}) is in no "
                    "checkpoint file: lines were removed from the checkpoint files",
                )
            )
            found[checkpoint.hmac] = checkpoint
    return sorted(found.values(), key=lambda c: (c.entry_id, c.at)), problems


@dataclass(frozen=True)
class ChainReport:
    checked: int  # entries of the trail intact up to the end, or up to the first bad one
    first_broken_id: int | None
    problem: str
    problems: tuple[str, ...] = ()
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None
    # Incremental: the checkpoint the check started from (None: the whole chain was read), and
    # how many entries this run read and hashed.
    since: Checkpoint | None = None
    read: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem


def _range(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first} to {last} are"


def entry_row_problem(row: tuple, keyed: "hmac_lib.HMAC | None" = None) -> str | None:
    """What is wrong with one entry row on its own (`ENTRY_COLUMNS` order, `occurred_at` as an
    aware datetime or its `jsonable` form, `changes` decoded or as JSON text): its content
    against its stored hash, then, with `keyed` (`_keyed()`), its HMAC. None when it is intact."""
    entry_id, stored_hash = row[0], row[11]
    if not _confirmed(row):
        changes = row[8]
        if isinstance(changes, str):
            changes = json.loads(changes)
        if entry_hash(*row[1:8], changes, row[9], row[10]) != stored_hash:
            return f"entry {entry_id} was changed: its content no longer matches its hash"
    if keyed is not None and not hmac_lib.compare_digest(
        entry_mac(entry_id, stored_hash, keyed), row[12] or ""
    ):
        return (
            f"entry {entry_id} was rewritten: its signature (HMAC) does not match, so its hash "
            "was recomputed or it was moved"
        )
    return None


def verify_entry_rows(
    rows: Iterable[tuple | Mapping[str, Any]], *, key: str | None = None, chained: bool = False
) -> list[tuple[int, str]]:
    """Check entry rows as stored, without the database (an export checked offline): each row's
    content against its hash and, when `key` is given, its HMAC; `chained`: the rows are
    consecutive entries, each must link to the one before it. Rows are tuples in
    `ENTRY_COLUMNS` order or mappings with those keys. Returns (entry id, problem) pairs, empty
    when every row is intact."""
    keyed = _keyed(key) if key is not None else None
    problems: list[tuple[int, str]] = []
    previous: tuple | None = None
    for raw in rows:
        row = tuple(raw[c] for c in ENTRY_COLUMNS) if isinstance(raw, Mapping) else tuple(raw)
        if chained and previous is not None and row[10] != previous[11]:
            problems.append((row[0], f"entry {row[0]} does not link to entry {previous[0]}"))
        elif problem := entry_row_problem(row, keyed):
            problems.append((row[0], problem))
        previous = row
    return problems


# Rows read per query by the verifier: keyset chunks (id > last), never OFFSET.
VERIFY_CHUNK = 10_000


def _chunks(names: Iterable[str], after_id: int, until_id: int | None) -> Iterable[list]:
    """The raw rows (these columns, or SQL expressions of them) of the entries with `after_id` <
    id <= `until_id` (to the end: None) in id order, a keyset chunk at a time."""
    quote = connection.ops.quote_name
    id_column = quote("id")
    bound = "" if until_id is None else f" AND {id_column} <= %s"
    sql = (
        f"SELECT {', '.join(names)} FROM {quote(AuditEvent._meta.db_table)} "
        f"WHERE {id_column} > %s{bound} ORDER BY {id_column} LIMIT %s"
    )
    last = after_id
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                sql, [last, VERIFY_CHUNK] if until_id is None else [last, until_id, VERIFY_CHUNK]
            )
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]


def _stored_rows(after_id: int = 0, until_id: int | None = None) -> Iterable[tuple]:
    """Entry rows with `after_id` < id <= `until_id` (to the end: None) in id order, as tuples
    (`ENTRY_COLUMNS`), `occurred_at` in its `jsonable` form and `changes` as stored (JSON
    text): no model objects."""
    quote = connection.ops.quote_name
    meta = AuditEvent._meta
    columns = [quote(meta.get_field(name).column) for name in ENTRY_COLUMNS]
    # The time as text (ISO on both engines, parsed by datetime.fromisoformat in C): the
    # drivers' converters to a datetime are Python code, the slowest step of the read.
    columns[1] = f"CAST({columns[1]} AS TEXT)"
    # `changes` as text too: PostgreSQL's driver would decode the jsonb in Python code, and the
    # verifier decodes the text itself (`_confirmed`).
    columns[8] = f"CAST({columns[8]} AS TEXT)"
    for rows in _chunks(columns, after_id, until_id):
        for row in rows:
            occurred_at = row[1]
            if isinstance(occurred_at, str) and occurred_at[10:11] == " ":
                # SQLite's naive UTC "YYYY-MM-DD HH:MM:SS[.ffffff]", PostgreSQL's in its session
                # time zone, UTC, "...:SS[.ff]+00" (trailing zeros dropped): their ISO form in UTC
                # (`jsonable`) by hand, the cheapest step of a read that is mostly parsing.
                utc = occurred_at[:-3] if occurred_at.endswith("+00") else occurred_at
                if len(utc) == 19:
                    yield (row[0], f"{utc[:10]}T{utc[11:]}+00:00", *row[2:])
                    continue
                if 21 <= len(utc) <= 26 and utc[19] == "." and utc[20:].isdigit():
                    yield (row[0], f"{utc[:10]}T{utc[11:19]}.{utc[20:]:0<6}+00:00", *row[2:])
                    continue
            if isinstance(occurred_at, str):
                occurred_at = dt.datetime.fromisoformat(occurred_at)
            if occurred_at.tzinfo is None:  # SQLite stores naive UTC
                occurred_at = occurred_at.replace(tzinfo=dt.UTC)
            elif occurred_at.utcoffset():
                occurred_at = occurred_at.astimezone(dt.UTC)
            # = jsonable(occurred_at): the ISO form in UTC ("+00:00"), without its checks
            yield (row[0], occurred_at.isoformat(), *row[2:])


def _content_problems(bounds: tuple[int, int]) -> list[tuple[int, str]]:
    """A pool process's share of the check: the problems of the entries `bounds[0]` < id <=
    `bounds[1]` on their own (`entry_row_problem`)."""
    keyed = _keyed()
    return [
        (row[0], problem)
        for row in _stored_rows(*bounds)
        if (problem := entry_row_problem(row, keyed)) is not None
    ]


def _can_fork() -> bool:
    """Whether the check may hash in child processes: not in a daemonic process (a Celery
    worker's, which may have none), not inside a transaction (the children's own connections
    would not see it), not on an in-memory SQLite database (they would not see it either)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and not connection.in_atomic_block
        and not (connection.vendor == "sqlite" and connection.is_in_memory_db())
    )


def _checked_rows(
    after_id: int, keyed: "hmac_lib.HMAC", processes: int
) -> Iterable[tuple[int, str, str, str | None]]:
    """(id, prev_hash, hash, its own problem or None) of each entry with id > `after_id`, in id
    order. With `processes` > 1 (and a chain long enough to be worth it) child processes hash
    chunks of ids while this one reads the links: the caller checks them in order as in one
    process, so links across chunk borders, gaps and checkpoints are checked exactly alike."""
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if processes < 2 or last_id - after_id < 2 * VERIFY_CHUNK or not _can_fork():
        for row in _stored_rows(after_id):
            yield row[0], row[10], row[11], entry_row_problem(row, keyed)
        return
    # Up to the last entry now: one appended meanwhile is for the next check.
    bounds = [
        (low, min(low + VERIFY_CHUNK, last_id)) for low in range(after_id, last_id, VERIFY_CHUNK)
    ]
    quote = connection.ops.quote_name
    links = [quote(AuditEvent._meta.get_field(name).column) for name in ("id", "prev_hash", "hash")]
    connections.close_all()  # each child opens its own connection: never share one over a fork
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for chunk, problems in zip(bounds, pool.imap(_content_problems, bounds), strict=True):
            found = dict(problems)
            for rows in _chunks(links, *chunk):
                for entry_id, prev_hash, entry_hash_ in rows:
                    yield entry_id, prev_hash, entry_hash_, found.get(entry_id)


def verify_chain(*, since_checkpoint: bool = False, processes: int = 1) -> ChainReport:
    """Check every entry (hash, link to the one before, HMAC) and the chain against every
    checkpoint; name the first bad entry or the missing range, and list every problem found.

    `since_checkpoint`: check only the entries from the latest signed checkpoint on, after
    checking that checkpoint itself (its head entry's hash, content and HMAC, and the number of
    entries up to it); the whole chain when there is no checkpoint yet. `processes`: how many
    processes hash the entries (`manage.py verify_audit`: the machine's CPUs; one in a Celery
    worker, whose processes cannot have children), with the same findings."""
    checkpoints, problems = load_checkpoints()
    keyed = _keyed()
    expected_prev, prev_id, count = GENESIS_HASH, 0, 0
    since = checkpoints[-1] if since_checkpoint and checkpoints else None
    pending = list(checkpoints)  # sorted by entry id
    if since is not None:
        # The entry before the checkpoint's head is trusted: the head's hash, which the signed
        # checkpoint names, covers its link to it.
        before = AuditEvent.objects.filter(id__lt=since.entry_id)
        prev_id, expected_prev = before.order_by("-id").values_list("id", "hash").first() or (
            0,
            GENESIS_HASH,
        )
        count = before.count()
        pending = [c for c in checkpoints if c.entry_id >= since.entry_id]
    first_bad_count: int | None = None
    read = 0
    count_before = count

    def bad(entry_id: int | None, message: str) -> None:
        nonlocal first_bad_count
        problems.append((entry_id, message))
        if first_bad_count is None and entry_id is not None:
            first_bad_count = count_before

    for entry_id, row_prev, row_hash, own_problem in _checked_rows(prev_id, keyed, processes):
        count_before = count
        count += 1
        read += 1
        if row_prev != expected_prev:
            if entry_id > prev_id + 1:
                before = f"entry {prev_id}" if prev_id else "the start of the chain"
                bad(
                    entry_id,
                    f"{_range(prev_id + 1, entry_id - 1)} missing (deleted): entry {entry_id} "
                    f"does not link to {before}",
                )
            else:
                real_prev = (
                    AuditEvent.objects.filter(hash=row_prev).values_list("id", flat=True).first()
                )
                if real_prev is not None and real_prev != prev_id:
                    bad(
                        entry_id,
                        f"entries were reordered: entry {entry_id} chains to entry {real_prev}, "
                        f"not to entry {prev_id} before it",
                    )
                else:
                    bad(
                        entry_id,
                        f"entry {entry_id} does not link to the entry before it: an entry was "
                        "inserted, replaced or removed",
                    )
        elif own_problem is not None:
            bad(entry_id, own_problem)
        while pending and pending[0].entry_id < entry_id:
            checkpoint = pending.pop(0)
            if checkpoint.entry_id > prev_id:
                bad(
                    entry_id,
                    f"entry {checkpoint.entry_id}, the head of the checkpoint of "
                    f"{checkpoint.at}, is missing (deleted)",
                )
        while pending and pending[0].entry_id == entry_id:
            checkpoint = pending.pop(0)
            if checkpoint.head_hash != row_hash:
                bad(
                    entry_id,
                    f"entry {entry_id} does not match the checkpoint of {checkpoint.at}: the "
                    "chain up to it was rewritten",
                )
            elif checkpoint.count != count:
                what = "missing (deleted)" if count < checkpoint.count else "inserted"
                bad(
                    entry_id,
                    f"{abs(checkpoint.count - count)} entries up to entry {entry_id} are {what}: "
                    f"the checkpoint of {checkpoint.at} counted {checkpoint.count}, the trail "
                    f"has {count}",
                )
        expected_prev, prev_id = row_hash, entry_id
    beyond = [c for c in pending if c.entry_id > prev_id]
    if beyond:
        last = max(beyond, key=lambda c: (c.entry_id, c.count))
        count_before = count
        if count == 0:
            bad(
                1 if last.entry_id else None,
                f"the trail is empty but the checkpoint of {last.at} covers {last.count} entries "
                f"up to entry {last.entry_id}: every entry was deleted",
            )
        else:
            bad(
                prev_id + 1,
                f"{_range(prev_id + 1, last.entry_id)} missing at the end (deleted): the trail "
                f"ends at entry {prev_id}, the checkpoint of {last.at} covers {last.count} "
                f"entries up to entry {last.entry_id}",
            )
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    first_id = ordered[0][0] if ordered else None
    return ChainReport(
        checked=count if first_bad_count is None else first_bad_count,
        first_broken_id=first_id,
        problem=ordered[0][1] if ordered else "",
        problems=tuple(message for _, message in ordered),
        checkpoints=len(checkpoints),
        last_checkpoint=checkpoints[-1] if checkpoints else None,
        since=since,
        read=read,
    )
