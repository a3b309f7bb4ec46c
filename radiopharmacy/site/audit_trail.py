"""Reading the audit trail (SPEC §2.8): one search for the page, the API and the CSV export, and
the entries as people read them.

- Record types come from a vocabulary (the project's models and the roles' resources, which
  refused accesses name), never from `DISTINCT object_type` over the table; each has a short
  name (`batch`, `qcresult`) and a label in words ("Batch", "QC result").
- A search by batch number finds the batch and everything linked to it, through the same links
  as the batch record (`batch_audit_events`, here), on the (object_type, object_id) index.
- Pages are read by keyset (`id < cursor`), never OFFSET, and nothing counts the table.
- Each entry is shown with its time in the site's zone with the UTC offset, its record named the
  same way in every entry (from the record as it is now: batch number, patient reference with the
  local injection time...), and its changes as field label: old → new in display units (foreign
  keys by the record's name, times local, numbers with their unit). The names are looked up once
  per page and record type, so a page runs a bounded number of queries.

It reads QC and scheduling records, so it lives in the site layer.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet

from qc.models import BatchSignature, Capa, Certificate, Investigation
from radiopharmacy.core import keyset
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.keyset import KeysetPage
from radiopharmacy.core.roles import MATRIX
from radiopharmacy.core.sitetime import site_local
from radiopharmacy.models import AuditEvent, Batch

PAGE_SIZE = 50
EXPORT_CHUNK = 1000
# Apps whose models are records of the trail, besides users, groups and authenticators.
_RECORD_APPS = ("radiopharmacy", "qc", "scheduling")
_OTHER_RECORDS = ("auth.user", "auth.group", "otp_totp.totpdevice")
# Words a default verbose name spells in lower case.
_WORDS = {
    "qc": "QC",
    "capa": "CAPA",
    "eos": "EOS",
    "rcp": "RCP",
    "tlc": "TLC",
    "ge68": "Ge-68",
    "ph": "pH",
    "otp": "OTP",
    "totp": "TOTP",
    "id": "ID",
    "url": "URL",
    "sha256": "SHA-256",
    "qp": "QP",
}
# Units read from a field's name (CONVENTIONS: numbers carry their unit in their name).
_UNITS = (
    ("_mbq_per_ml", "MBq/mL"),
    ("_mbq", "MBq"),
    ("_mci", "mCi"),
    ("_ml", "mL"),
    ("_ul", "µL"),
    ("_percent", "%"),
    ("_min", "min"),
    ("_h", "h"),
    ("_s", "s"),
    ("_kg", "kg"),
    ("_days", "days"),
)


def _ids(queryset, field: str = "pk") -> list[str]:
    return [str(pk) for pk in queryset.values_list(field, flat=True)]


def _linked_ids(batch: Batch, relation: str, field: str = "pk") -> list[str]:
    """Ids of the batch's linked records: from the records already loaded with it (the batch
    record prefetches them), else one query."""
    loaded = getattr(batch, "_prefetched_objects_cache", {}).get(relation)
    if loaded is not None:
        return [str(getattr(record, field)) for record in loaded]
    return _ids(getattr(batch, relation), field)


def batch_audit_events(batch: Batch):
    """Audit entries of the batch and of everything linked to it, oldest first: its elutions,
    QC results, deviations, signatures, certificate, doses and their bookings."""

    return AuditEvent.objects.filter(
        Q(object_type="radiopharmacy.batch", object_id=str(batch.pk))
        | Q(object_type="radiopharmacy.elution", object_id__in=_linked_ids(batch, "elutions"))
        | Q(object_type="qc.qcresult", object_id__in=_linked_ids(batch, "qc_results"))
        | Q(object_type="qc.deviation", object_id__in=_linked_ids(batch, "deviations"))
        | Q(
            object_type="qc.investigation",
            object_id__in=_ids(Investigation.objects.filter(deviation__batch=batch)),
        )
        | Q(object_type="qc.capa", object_id__in=_ids(Capa.objects.filter(deviation__batch=batch)))
        | Q(
            object_type="qc.batchsignature",
            object_id__in=_ids(BatchSignature.objects.filter(batch=batch)),
        )
        | Q(
            object_type="qc.certificate",
            object_id__in=_ids(Certificate.objects.filter(batch=batch)),
        )
        | Q(object_type="scheduling.dose", object_id__in=_linked_ids(batch, "doses"))
        | Q(
            object_type="scheduling.booking",
            object_id__in=_linked_ids(batch, "doses", "booking_id"),
        )
    ).order_by("id")


def _words(text: str) -> str:
    words = [_WORDS.get(w, w) for w in text.replace("_", " ").split()]
    if words and words[0] == words[0].lower():
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


@dataclass(frozen=True)
class RecordType:
    short: str  # in the API and the page's filter: "batch"
    stored: str  # AuditEvent.object_type: "radiopharmacy.batch"
    label: str  # in words: "Batch"
    model: type[models.Model] | None = None


def _record_types() -> dict[str, RecordType]:
    types: dict[str, RecordType] = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in _RECORD_APPS or meta.label_lower in _OTHER_RECORDS:
            label = str(meta.verbose_name)
            if label == label.lower():
                label = _words(label)
            types[meta.model_name] = RecordType(meta.model_name, meta.label_lower, label, model)
    # A refused write names the resource it was refused on (core/permissions.py).
    for resource in MATRIX:
        types.setdefault(
            resource, RecordType(resource, resource, f"{_words(resource)} (access refused)")
        )
    return dict(sorted(types.items(), key=lambda item: item[1].label.lower()))


@functools.cache
def record_types() -> dict[str, RecordType]:
    """The vocabulary of record types, by short name, sorted by label (built once)."""
    return _record_types()


@functools.cache
def _by_stored() -> dict[str, RecordType]:
    return {t.stored: t for t in record_types().values()}


def type_of(stored: str) -> RecordType:
    """The record type of an entry's object_type; one outside the vocabulary keeps its name."""
    return _by_stored().get(stored) or RecordType(stored, stored, stored)


class RecordTypeField(forms.CharField):
    """A record type by its short name (or its stored name): cleaned to the stored name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").strip()
        if not value:
            return ""
        types = record_types()
        found = types.get(value.lower()) or _by_stored().get(value.lower())
        if found is None:
            raise forms.ValidationError(
                f"Unknown record type {value!r}. Valid record types: {', '.join(types)}."
            )
        return found.stored


def find_batch(number: str) -> Batch | None:
    return Batch.objects.filter(batch_number__iexact=number.strip()).first()


@dataclass
class Criteria:
    """A search of the trail (each one optional): the page's form and the API's filters."""

    batch: Batch | None = None
    object_type: str = ""  # stored name
    object_id: str = ""
    user: str = ""  # username
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def search(criteria: Criteria) -> QuerySet[AuditEvent]:
    """Entries matching every criterion, unordered (the caller orders and slices by id)."""
    events = (
        batch_audit_events(criteria.batch) if criteria.batch else AuditEvent.objects.all()
    ).order_by()
    if criteria.object_type:
        events = events.filter(object_type=criteria.object_type)
    if criteria.object_id:
        events = events.filter(object_id=criteria.object_id.strip())
    if criteria.user:
        events = events.filter(username=criteria.user.strip())
    if criteria.action:
        events = events.filter(action=criteria.action)
    if criteria.since:
        events = events.filter(occurred_at__gte=criteria.since)
    if criteria.until:
        events = events.filter(occurred_at__lt=criteria.until)
    return events


def keyset_page(
    events: QuerySet[AuditEvent],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    return keyset.keyset_page(events, before=before, after=after, size=size)


def iterate(events: QuerySet[AuditEvent], chunk: int = EXPORT_CHUNK) -> Iterator[list[AuditEvent]]:
    """Every matching entry, oldest first, in keyset chunks (an export of any size)."""
    last = 0
    while True:
        rows = list(events.filter(id__gt=last).order_by("id")[:chunk])
        if not rows:
            return
        yield rows
        last = rows[-1].id


# --- the entries as people read them ---------------------------------------------------------


def local_time(value: dt.datetime | None) -> str:
    """A time in the site's zone with its UTC offset, to the second: "24 Nov 2026 09:15:02
    UTC+01:00"; the same instant reads the same wherever it is shown."""
    if value is None:
        return ""
    local = site_local(value)
    offset = local.strftime("%z")
    return f"{local:%d %b %Y %H:%M:%S} UTC{offset[:3]}:{offset[3:]}"


def _user_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _namers() -> dict[str, tuple[tuple[str, ...], Callable[[Any], str]]]:
    """How each record type is named (select_related, name), from the record as it is now."""
    return {
        "radiopharmacy.batch": ((), lambda b: b.batch_number),
        "radiopharmacy.elution": (
            ("generator",),
            lambda e: f"Elution of {e.generator.serial_number} at {local_time(e.eluted_at)}",
        ),
        "radiopharmacy.generator": ((), lambda g: g.serial_number),
        "qc.qcresult": (
            ("batch", "spec_test"),
            lambda r: f"{r.spec_test.name} of {r.batch.batch_number}",
        ),
        "qc.deviation": (
            ("batch",),
            lambda d: (
                f"{d.get_kind_display()} #{d.pk}"
                + (f" on {d.batch.batch_number}" if d.batch_id else "")
            ),
        ),
        "qc.investigation": (
            (),
            lambda i: f"{i.get_phase_display()} of quality event #{i.deviation_id}",
        ),
        "qc.capa": ((), lambda c: f"CAPA {c.pk} of quality event #{c.deviation_id}"),
        "qc.batchsignature": (("batch",), lambda s: f"{s.meaning} of {s.batch.batch_number}"),
        "qc.certificate": ((), lambda c: c.certificate_number),
        "scheduling.booking": (
            (),
            lambda b: f"{b.patient_ref}, injection {local_time(b.injection_at)}",
        ),
        "scheduling.dose": (
            ("booking", "batch"),
            lambda d: f"Dose for {d.booking.patient_ref} from {d.batch.batch_number}",
        ),
        "auth.user": ((), _user_name),
    }


class Names:
    """Stable names of records, looked up in one query per record type."""

    def __init__(self):
        self._wanted: dict[str, set[str]] = defaultdict(set)
        self._names: dict[tuple[str, str], str] = {}

    def know(self, records: Iterable[models.Model]) -> None:
        """Name records the caller has loaded already (with what their names read), so they
        are not looked up again."""
        namers = _namers()
        for record in records:
            stored_type = record._meta.label_lower
            self._names[(stored_type, str(record.pk))] = namers.get(stored_type, ((), str))[1](
                record
            )

    def want(self, stored_type: str, pk: Any) -> None:
        if pk not in (None, "") and (stored_type, str(pk)) not in self._names:
            self._wanted[stored_type].add(str(pk))

    def resolve(self) -> None:
        namers = _namers()
        for stored_type, pks in self._wanted.items():
            model = type_of(stored_type).model
            if model is None:
                continue
            related, name = namers.get(stored_type, ((), str))
            valid = [pk for pk in pks if pk.isdigit()] if _integer_pk(model) else list(pks)
            for obj in model._default_manager.select_related(*related).filter(pk__in=valid):
                self._names[(stored_type, str(obj.pk))] = name(obj)
        self._wanted.clear()

    def get(self, stored_type: str, pk: Any, default: str = "") -> str:
        return self._names.get((stored_type, str(pk)), default)


def _integer_pk(model) -> bool:
    return isinstance(model._meta.pk, models.AutoField | models.BigAutoField | models.IntegerField)


def _fields_by_name(model) -> dict[str, models.Field]:
    fields = {}
    for f in model._meta.concrete_fields:
        fields[f.name] = f
        fields[f.attname] = f
    return fields


def _unit_of(name: str) -> tuple[str, str]:
    """(suffix, unit) that a field's name ends with, or ("", "")."""
    return next(((suffix, unit) for suffix, unit in _UNITS if name.endswith(suffix)), ("", ""))


def field_label(model, name: str) -> str:
    """A changed field's label: its verbose name when the model gives one, else its name in
    words with the unit its name carries ("Activity EOS (MBq)")."""
    f = _fields_by_name(model).get(name) if model else None
    if f is not None and str(f.verbose_name) != f.name.replace("_", " "):
        return str(f.verbose_name)[:1].upper() + str(f.verbose_name)[1:]
    base = f.name if f is not None else name
    suffix, unit = _unit_of(base)
    if suffix:
        base = base[: -len(suffix)]
    elif base.endswith("_id"):
        base = base[:-3]
    return _words(base) + (f" ({unit})" if unit else "")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3g}"
    return str(value)


def display_value(model, name: str, value: Any, names: Names) -> str:
    """An old or new value as people read it."""
    if value is None or value == "":
        return "—"
    f = _fields_by_name(model).get(name) if model else None
    if isinstance(f, models.ForeignKey):
        target = f.related_model._meta.label_lower
        return names.get(target, value, f"{type_of(target).label} {value}")
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        try:
            return local_time(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(f, models.BooleanField) or isinstance(value, bool):
        return "Yes" if value else "No"
    if f is not None and f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    _, unit = _unit_of(f.name if f is not None else name)
    text = _number(value) if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class Entry:
    """An audit entry as people read it."""

    event: AuditEvent
    time: str
    user: str
    action: str
    record_type: RecordType
    record: str
    changes: list[Change] = field(default_factory=list)
    # A correction: what was corrected and what corrects it, side by side.
    corrected: str = ""
    correcting: str = ""

    @property
    def is_correction(self) -> bool:
        return self.event.action == AuditAction.CORRECTED


_ACTIONS = dict(AuditAction.choices)


def present(events: Iterable[AuditEvent], *, known: Iterable[models.Model] = ()) -> list[Entry]:
    """Entries for people: the names of their records and of the records their changes point
    to, looked up once per record type; `known` records (loaded by the caller with what their
    names read) are not looked up."""
    events = list(events)
    names = Names()
    names.know(known)
    for event in events:
        names.want(event.object_type, event.object_id)
        if event.user_id:
            names.want("auth.user", event.user_id)
        model = type_of(event.object_type).model
        fields = _fields_by_name(model) if model else {}
        for name, change in (event.changes or {}).items():
            f = fields.get(name)
            if isinstance(f, models.ForeignKey) and isinstance(change, dict):
                target = f.related_model._meta.label_lower
                names.want(target, change.get("old"))
                names.want(target, change.get("new"))
    names.resolve()
    superseded = _superseded_results(events)
    entries = []
    for event in events:
        kind = type_of(event.object_type)
        changes = [
            Change(
                field=name,
                label=field_label(kind.model, name),
                old=display_value(kind.model, name, change.get("old"), names),
                new=display_value(kind.model, name, change.get("new"), names),
            )
            for name, change in (event.changes or {}).items()
            if isinstance(change, dict)
        ]
        entry = Entry(
            event=event,
            time=local_time(event.occurred_at),
            user=names.get("auth.user", event.user_id, event.username or "system")
            if event.user_id
            else event.username or "system",
            action=_ACTIONS.get(event.action, event.action),
            record_type=kind,
            record=names.get(event.object_type, event.object_id, event.object_repr)
            or f"{kind.label} {event.object_id}".strip(),
            changes=changes,
        )
        if entry.is_correction:
            old_result = superseded.get(event.id)
            if old_result is not None:  # a QC result replaced by a new one
                entry.corrected = f"{entry.record}: {old_result}"
                entry.correcting = f"{entry.record}: {superseded.get(('new', event.id), '')}"
            else:  # fields corrected in place
                entry.corrected = "; ".join(f"{c.label}: {c.old}" for c in changes)
                entry.correcting = "; ".join(f"{c.label}: {c.new}" for c in changes)
        entries.append(entry)
    return entries


def _superseded_results(events: list[AuditEvent]) -> dict:
    """For a QC result's correction (a new result superseding the old one): both results."""
    from qc.models import QcResult

    wanted = {
        e.id: (e.changes.get("supersedes_id") or {}).get("new")
        for e in events
        if e.action == AuditAction.CORRECTED and e.object_type == "qc.qcresult" and e.changes
    }
    ids = {int(v) for v in wanted.values() if v} | {
        int(e.object_id) for e in events if e.id in wanted and e.object_id.isdigit()
    }
    if not ids:
        return {}
    results = {r.pk: r for r in QcResult.objects.filter(pk__in=ids)}

    def shown(result) -> str:
        verdict = "pass" if result.passed else "fail"
        return f"{result.value_display} {result.unit}".strip() + f" ({verdict})"

    out: dict = {}
    for event in events:
        old_id = wanted.get(event.id)
        if old_id and int(old_id) in results:
            out[event.id] = shown(results[int(old_id)])
            new = results.get(int(event.object_id)) if event.object_id.isdigit() else None
            out[("new", event.id)] = shown(new) if new else ""
    return out


CSV_HEADER = [
    "Entry",
    "Time (site, with UTC offset)",
    "User",
    "Action",
    "Record type",
    "Record",
    "Changes (field: old → new)",
    "Reason",
]


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The CSV export of a search, oldest first, one line per entry, written as it is read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + line(CSV_HEADER)  # the BOM: spreadsheets then read UTF-8 (→, µ, é)
    for chunk in iterate(events):
        for entry in present(chunk):
            event = entry.event
            yield line(
                [
                    event.id,
                    entry.time,
                    entry.user,
                    entry.action,
                    entry.record_type.label,
                    entry.record,
                    "\n".join(f"{c.label}: {c.old} → {c.new}" for c in entry.changes),
                    event.reason,
                ]
            )
