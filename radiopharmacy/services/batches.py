"""Synthesis batch records: create with derived numbers, correct with a reason (SPEC §2.3).

Derived numbers (activity and concentration at EOS, expiry, yields) are computed here with
`physics` and stored when the record is written, so every later reader sees the same values.
"""

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus, GeneratorStatus, SynthesisMethod
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.bounds import (
    BATCH_ACTIVITY_MAX_MBQ,
    BATCH_VOLUME_MAX_ML,
    ELUATE_VOLUME_MAX_ML,
    PRECURSOR_MASS_MAX_UG,
    SYNTHESIS_SPAN_MAX,
)
from radiopharmacy.core.checks import bounded_text, not_future, positive_number, to_utc
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.sitetime import site_date
from radiopharmacy.models import Batch, BatchElution, Elution, Product
from radiopharmacy.selectors.products import default_product

FROZEN_STATUSES = {BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.RECALLED}
CORRECTABLE_FIELDS = (
    "elutions",
    "elution_volumes",
    "method",
    "started_at",
    "eos_at",
    "activity_mbq",
    "measured_at",
    "volume_ml",
    "module_name",
    "module_serial",
    "kit_lot",
    "precursor_lot",
    "precursor_mass_ug",
    "reagent_lots",
)
DERIVED_FIELDS = (
    "activity_at_eos_mbq",
    "concentration_at_eos_mbq_per_ml",
    "expires_at",
    "yield_percent",
    "yield_uncorrected_percent",
)
_NUMBER_ATTEMPTS = 5
# Model max_length of the short text inputs (a longer one is a 400, never a database error).
TEXT_LENGTHS = {"module_name": 120, "module_serial": 80, "kit_lot": 80, "precursor_lot": 80}
LOT_NAME_LENGTH, LOT_LENGTH = 120, 80


_LINKS = ("elutions", "elution_volumes")


def production_date(eos_at: datetime):
    """The batch date: the EOS date in the site's zone (23:30 UTC may be tomorrow locally)."""
    return site_date(eos_at)


def batch_number(product: Product, date, sequence: int) -> str:
    return f"{product.code}-{date:%Y%m%d}-{sequence:02d}"


def _resolve_elutions(raw) -> tuple[list[Elution], list[str]]:
    ids = []
    for item in raw or []:
        pk = item.pk if isinstance(item, Elution) else item
        try:
            ids.append(int(pk))
        except (TypeError, ValueError):
            return [], [f"{pk!r} is not an elution id."]
    if not ids:
        return [], ["Choose at least one elution."]
    # Locked: two batches recorded at once from one eluate must see each other's use of it.
    found = {
        e.pk: e
        for e in Elution.objects.select_for_update(of=("self",))
        .select_related("generator")
        .filter(pk__in=ids)
    }
    errors = [f"Elution {pk} does not exist." for pk in ids if pk not in found]
    elutions = [found[pk] for pk in dict.fromkeys(ids) if pk in found]
    for elution in elutions:
        if elution.generator.status == GeneratorStatus.QUARANTINE:
            errors.append(
                f"Elution {elution.pk} is from generator {elution.generator.serial_number}, "
                "which is in quarantine."
            )
        if Elution.objects.filter(supersedes=elution).exists():
            errors.append(f"Elution {elution.pk} was corrected; choose the corrected record.")
    return elutions, errors


def _validate(data: dict) -> tuple[list[Elution], dict[str, list[str]]]:
    """Check a complete set of batch inputs; returns the elutions and field errors."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    def check(rule, *args, **kwargs):
        """The value a core check returns, its field messages collected (every input is
        checked, so the form shows all its errors at once)."""
        try:
            return rule(*args, **kwargs)
        except ApplicationError as error:
            for field, messages in error.fields.items():
                errors.setdefault(field, []).extend(messages)
            return None

    elutions, elution_errors = _resolve_elutions(data.get("elutions"))
    for message in elution_errors:
        add("elutions", message)

    times = {}
    now = timezone.now()
    labels = {
        "started_at": "The synthesis start",
        "eos_at": "The end of synthesis",
        "measured_at": "The activity measurement",
    }
    for field in ("started_at", "eos_at", "measured_at"):
        value = check(to_utc, data.get(field), field)
        if value is not None and check(not_future, value, field, labels[field], now=now) is None:
            times[field] = data[field] = value
    if "started_at" in times and "eos_at" in times and times["eos_at"] < times["started_at"]:
        add("eos_at", "End of synthesis is before the synthesis started.")
    span = f"{SYNTHESIS_SPAN_MAX.total_seconds() / 3600:g} h"
    if "started_at" in times and "eos_at" in times:
        if times["eos_at"] - times["started_at"] > SYNTHESIS_SPAN_MAX:
            add("eos_at", f"A synthesis does not last more than {span}.")
    if "eos_at" in times and "measured_at" in times:
        if abs(times["measured_at"] - times["eos_at"]) > SYNTHESIS_SPAN_MAX:
            add("measured_at", f"The product is measured within {span} of the end of synthesis.")
    if "started_at" in times:
        for elution in elutions:
            if times["started_at"] - elution.eluted_at > SYNTHESIS_SPAN_MAX:
                add(
                    "elutions",
                    f"Elution {elution.pk} was eluted more than {span} before the synthesis "
                    "started: its Ga-68 has decayed.",
                )
    if "started_at" in times:
        for elution in elutions:
            if elution.eluted_at > times["started_at"]:
                add(
                    "elutions",
                    f"Elution {elution.pk} was eluted after the synthesis started.",
                )

    check(
        positive_number,
        data.get("activity_mbq"),
        "activity_mbq",
        "Activity",
        unit="MBq",
        maximum=BATCH_ACTIVITY_MAX_MBQ,
    )
    check(
        positive_number,
        data.get("volume_ml"),
        "volume_ml",
        "Volume",
        unit="mL",
        maximum=BATCH_VOLUME_MAX_ML,
    )
    mass = data.get("precursor_mass_ug")
    if mass is not None:
        try:
            number = float(mass)
            if not math.isfinite(number) or number < 0:
                add("precursor_mass_ug", "Cannot be negative.")
            elif number > PRECURSOR_MASS_MAX_UG:
                add(
                    "precursor_mass_ug",
                    f"{number:g} µg of precursor cannot be right: at most "
                    f"{PRECURSOR_MASS_MAX_UG:g} µg.",
                )
        except (TypeError, ValueError):
            add("precursor_mass_ug", "Enter a number.")
    for field, length in TEXT_LENGTHS.items():
        check(bounded_text, data.get(field) or "", field, "The text", max_length=length)

    method = data.get("method")
    if method not in SynthesisMethod.values:
        add("method", f"Choose one of: {', '.join(SynthesisMethod.values)}.")
    elif method == SynthesisMethod.AUTOMATED and not (data.get("module_name") or "").strip():
        add("module_name", "Required for an automated synthesis.")
    elif method == SynthesisMethod.KIT and not (data.get("kit_lot") or "").strip():
        add("kit_lot", "Required for a kit preparation.")

    lots = data.get("reagent_lots")
    if lots is not None and not (
        isinstance(lots, list)
        and all(isinstance(x, dict) and set(x) <= {"name", "lot"} for x in lots)
    ):
        add("reagent_lots", 'A list of {"name", "lot"}.')
    elif lots and any(
        len(str(x.get("name") or "")) > LOT_NAME_LENGTH or len(str(x.get("lot") or "")) > LOT_LENGTH
        for x in lots
    ):
        add("reagent_lots", f"A name has at most {LOT_NAME_LENGTH} characters, a lot {LOT_LENGTH}.")
    volumes = _elution_volumes(data.get("elution_volumes"), elutions, add)
    if not errors:
        _check_eluate_use(elutions, volumes, batch_id=data.get("_batch_id"), add=add)
        if "eos_at" in times:
            _check_yield(elutions, volumes, data, add=add)
    data["elution_volumes"] = volumes
    return elutions, errors


def _elution_volumes(raw, elutions: list[Elution], add) -> dict[int, float]:
    """{elution id: volume of its eluate this batch used (mL)} from `[{"elution", "volume_ml"}]`
    (or a mapping); an elution left out was used whole."""
    if not raw:
        return {}
    items = raw.items() if isinstance(raw, dict) else raw
    volumes: dict[int, float] = {}
    chosen = {e.pk for e in elutions}
    for item in items:
        try:
            if isinstance(item, tuple):
                pk, volume = item
            else:
                pk, volume = item["elution"], item["volume_ml"]
            pk = int(pk.pk if isinstance(pk, Elution) else pk)
            volume = float(volume)
        except (KeyError, TypeError, ValueError):
            add("elution_volumes", 'A list of {"elution": id, "volume_ml": number}.')
            return {}
        if pk not in chosen:
            add("elution_volumes", f"Elution {pk} is not one of the batch's elutions.")
        elif not math.isfinite(volume) or volume <= 0 or volume > ELUATE_VOLUME_MAX_ML:
            add(
                "elution_volumes",
                f"The volume used of elution {pk} must be above 0 and at most "
                f"{ELUATE_VOLUME_MAX_ML:g} mL.",
            )
        else:
            volumes[pk] = volume
    return volumes


def _check_eluate_use(elutions, volumes: dict[int, float], *, batch_id, add) -> None:
    """An eluate feeds one batch, unless split by volume: a second batch using it must state the
    volume it used (and so must the first), and the volumes add up to at most the eluate's."""
    if not elutions:
        return
    # A corrected elution is the same eluate: its earlier versions' uses count too.
    eluate_of: dict[int, int] = {}
    for elution in elutions:
        version = elution.pk
        while version is not None and version not in eluate_of:
            eluate_of[version] = elution.pk
            version = (
                Elution.objects.filter(pk=version).values_list("supersedes_id", flat=True).first()
            )
    uses = BatchElution.objects.filter(elution_id__in=list(eluate_of)).select_related("batch")
    if batch_id is not None:
        uses = uses.exclude(batch_id=batch_id)
    others: dict[int, list[BatchElution]] = {}
    for use in uses:
        others.setdefault(eluate_of[use.elution_id], []).append(use)
    for elution in elutions:
        mine = volumes.get(elution.pk)
        used = others.get(elution.pk, [])
        whole = [u.batch.batch_number for u in used if u.volume_used_ml is None]
        if whole:
            add(
                "elutions",
                f"Elution {elution.pk} was used whole by batch {', '.join(whole)}; an eluate "
                "feeds one batch unless each batch states the volume it used.",
            )
            continue
        if used and mine is None:
            add(
                "elution_volumes",
                f"Elution {elution.pk} is already used by batch "
                f"{', '.join(u.batch.batch_number for u in used)}: give the volume of its eluate "
                "this batch used.",
            )
            continue
        total = sum(u.volume_used_ml for u in used) + (mine or 0.0)
        if total > elution.volume_ml + 1e-9:
            add(
                "elution_volumes",
                f"The batches use {total:g} mL of elution {elution.pk}, which had "
                f"{elution.volume_ml:g} mL.",
            )


def _eluate_fraction(elution: Elution, volumes: dict[int, float]) -> float:
    volume = volumes.get(elution.pk)
    if volume is None or elution.volume_ml <= 0:
        return 1.0
    return min(1.0, volume / elution.volume_ml)


def _check_yield(elutions, volumes, data: dict, *, add) -> None:
    """The product cannot hold more activity than the eluate it was made from: decay-corrected
    yield at most 100 % plus the calibrators' measurement tolerance (YIELD_TOLERANCE_PERCENT)."""
    try:
        activity = float(data["activity_mbq"])
        at_eos = physics.decay_activity(
            activity, from_time=data["measured_at"], to_time=data["eos_at"]
        )
    except (KeyError, TypeError, ValueError):
        return
    eluate = sum(
        _eluate_fraction(e, volumes)
        * physics.decay_activity(
            e.activity_at_elution_mbq, from_time=e.eluted_at, to_time=data["eos_at"]
        )
        for e in elutions
    )
    limit = 100.0 + float(settings.YIELD_TOLERANCE_PERCENT)
    if eluate > 0 and 100.0 * at_eos / eluate > limit:
        add(
            "activity_mbq",
            f"{at_eos:.0f} MBq at EOS from {eluate:.0f} MBq of eluate (decay-corrected to EOS) "
            f"is a yield of {100.0 * at_eos / eluate:.0f} %: at most {limit:g} % is possible. "
            "Check the activity, its unit and the elutions.",
        )


def derive(*, product: Product, elutions: Iterable[Elution], data: dict) -> dict:
    """The stored derived numbers of a batch from its inputs (SPEC §2.3). Of a split eluate,
    only the share this batch used (by volume) counts in its yields."""
    eos_at = data["eos_at"]
    volumes = data.get("elution_volumes") or {}
    activity_at_eos = physics.decay_activity(
        float(data["activity_mbq"]), from_time=data["measured_at"], to_time=eos_at
    )
    eluate_at_eos = sum(
        _eluate_fraction(e, volumes)
        * physics.decay_activity(e.activity_at_elution_mbq, from_time=e.eluted_at, to_time=eos_at)
        for e in elutions
    )
    eluate_uncorrected = sum(
        _eluate_fraction(e, volumes) * e.activity_at_elution_mbq for e in elutions
    )
    return {
        "activity_at_eos_mbq": activity_at_eos,
        "concentration_at_eos_mbq_per_ml": activity_at_eos / float(data["volume_ml"]),
        # in UTC: "4 h later" is real time, whatever the clocks do
        "expires_at": eos_at.astimezone(UTC) + timedelta(minutes=product.shelf_life_min),
        "yield_percent": 100.0 * activity_at_eos / eluate_at_eos if eluate_at_eos > 0 else None,
        "yield_uncorrected_percent": (
            100.0 * activity_at_eos / eluate_uncorrected if eluate_uncorrected > 0 else None
        ),
    }


def _clean_text(data: dict) -> dict:
    for field in ("module_name", "module_serial", "kit_lot", "precursor_lot"):
        data[field] = (data.get(field) or "").strip()
    data["reagent_lots"] = data.get("reagent_lots") or []
    for field in ("activity_mbq", "volume_ml"):
        data[field] = float(data[field])
    if data.get("precursor_mass_ug") is not None:
        data["precursor_mass_ug"] = float(data["precursor_mass_ug"])
    return data


@transaction.atomic
def batch_create(
    *,
    actor: User,
    elutions,
    method: str,
    started_at: datetime,
    eos_at: datetime,
    activity_mbq: float,
    measured_at: datetime,
    volume_ml: float,
    product: Product | None = None,
    module_name: str = "",
    module_serial: str = "",
    kit_lot: str = "",
    precursor_lot: str = "",
    precursor_mass_ug: float | None = None,
    reagent_lots: list | None = None,
    elution_volumes=None,
) -> Batch:
    """Record a synthesis at EOS: number it, store its derived numbers, status QC pending.

    `elution_volumes` ([{"elution", "volume_ml"}]) splits an eluate between batches: the volume
    of each eluate this batch used; an elution not listed was used whole by this batch.
    """
    data = {
        "elutions": elutions,
        "elution_volumes": elution_volumes,
        "method": method,
        "started_at": started_at,
        "eos_at": eos_at,
        "activity_mbq": activity_mbq,
        "measured_at": measured_at,
        "volume_ml": volume_ml,
        "module_name": module_name,
        "module_serial": module_serial,
        "kit_lot": kit_lot,
        "precursor_lot": precursor_lot,
        "precursor_mass_ug": precursor_mass_ug,
        "reagent_lots": reagent_lots,
    }
    product = product or default_product()
    elution_rows, errors = _validate(data)
    if errors:
        raise ApplicationError("The batch record is not valid.", fields=errors)
    data = _clean_text(data)
    derived = derive(product=product, elutions=elution_rows, data=data)
    eos_at = data["eos_at"]
    date = production_date(eos_at)
    # Two radiopharmacists recording batches of the same product at once would pick the same
    # sequence: the product row lock serialises them (PostgreSQL); the unique constraint and
    # the retry below cover SQLite and anything the lock misses. Sequences only grow (max + 1),
    # and batches are never deleted, so a number is never reused.
    Product.objects.select_for_update().filter(pk=product.pk).first()
    fields = {k: v for k, v in data.items() if k not in ("elutions", "elution_volumes")}
    for attempt in range(_NUMBER_ATTEMPTS):
        last = (
            Batch.objects.filter(product=product, production_date=date).aggregate(
                m=Max("sequence")
            )["m"]
            or 0
        )
        sequence = last + 1 + attempt
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    product=product,
                    production_date=date,
                    sequence=sequence,
                    batch_number=batch_number(product, date, sequence),
                    operator=actor,
                    status=BatchStatus.QC_PENDING,
                    **fields,
                    **derived,
                )
            break
        except IntegrityError:
            if attempt == _NUMBER_ATTEMPTS - 1:
                raise
    _set_elutions(batch, elution_rows, data["elution_volumes"])
    changes = audit.created(batch)
    changes["elutions"] = {"old": None, "new": sorted(e.pk for e in elution_rows)}
    if data["elution_volumes"]:
        changes["elution_volumes"] = {"old": None, "new": _volumes_json(data["elution_volumes"])}
    audit.record(actor=actor, action=AuditAction.CREATED, obj=batch, changes=changes)
    return batch


def _set_elutions(batch: Batch, elutions: list[Elution], volumes: dict[int, float]) -> None:
    BatchElution.objects.filter(batch=batch).delete()
    BatchElution.objects.bulk_create(
        BatchElution(batch=batch, elution=e, volume_used_ml=volumes.get(e.pk)) for e in elutions
    )


def _volumes_json(volumes: dict[int, float]) -> dict[str, float]:
    return {str(pk): volumes[pk] for pk in sorted(volumes)}


@transaction.atomic
def batch_correct(*, actor: User, batch_id: int, changes: dict, reason: str) -> Batch:
    """Correct inputs of a batch record with a reason; derived numbers are recomputed.

    Refused (409) once the batch is released, rejected or recalled: the record is frozen.
    The batch number stays as issued.
    """
    if not (reason or "").strip():
        raise ApplicationError("A correction needs a reason.", fields={"reason": ["Required."]})
    unknown = sorted(set(changes or {}) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise ApplicationError(
            "These fields cannot be corrected.",
            fields={f: ["Cannot be corrected."] for f in unknown},
        )
    if not changes:
        raise ApplicationError("Nothing to correct.", fields={"changes": ["Required."]})
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch_id)
    if batch.status in FROZEN_STATUSES:
        raise StateConflict(
            "The batch record is frozen.",
            blocking=[f"Batch is {BatchStatus(batch.status).label}; its record is frozen"],
        )
    old_elutions = sorted(batch.elutions.values_list("pk", flat=True))
    old_volumes = {
        u.elution_id: u.volume_used_ml
        for u in BatchElution.objects.filter(batch=batch, volume_used_ml__isnull=False)
    }
    data = {f: getattr(batch, f) for f in CORRECTABLE_FIELDS if f not in _LINKS}
    data["elutions"] = old_elutions
    data["elution_volumes"] = old_volumes
    data.update(changes)
    data["_batch_id"] = batch.pk
    elution_rows, errors = _validate(data)
    if errors:
        raise ApplicationError("The correction is not valid.", fields=errors)
    data = _clean_text(data)
    old = audit.snapshot(batch)
    for field in CORRECTABLE_FIELDS:
        if field not in _LINKS:
            setattr(batch, field, data[field])
    for field, value in derive(product=batch.product, elutions=elution_rows, data=data).items():
        setattr(batch, field, value)
    batch.save()
    new_elutions = sorted(e.pk for e in elution_rows)
    new_volumes = data["elution_volumes"]
    if new_elutions != old_elutions or new_volumes != old_volumes:
        _set_elutions(batch, elution_rows, new_volumes)
    diff = audit.diff(old, audit.snapshot(batch))
    if new_elutions != old_elutions:
        diff["elutions"] = {"old": old_elutions, "new": new_elutions}
    if new_volumes != old_volumes:
        diff["elution_volumes"] = {
            "old": _volumes_json(old_volumes),
            "new": _volumes_json(new_volumes),
        }
    if not diff:
        raise ApplicationError("The correction changes nothing.")
    audit.record(
        actor=actor, action=AuditAction.CORRECTED, obj=batch, changes=diff, reason=reason.strip()
    )
    return batch
