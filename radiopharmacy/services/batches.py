"""Synthesis batch records: create with derived numbers, correct with a reason (SPEC §2.3).

Derived numbers (activity and concentration at EOS, expiry, yields) are computed here with
`physics` and stored when the record is written, so every later reader sees the same values.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus, GeneratorStatus, SynthesisMethod
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import positive_number, require_aware
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.sitetime import site_date
from radiopharmacy.models import Batch, Elution, Product
from radiopharmacy.selectors.products import default_product

FROZEN_STATUSES = {BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.RECALLED}
CORRECTABLE_FIELDS = (
    "elutions",
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
    found = {e.pk: e for e in Elution.objects.select_related("generator").filter(pk__in=ids)}
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
    for field in ("started_at", "eos_at", "measured_at"):
        if check(require_aware, data.get(field), field) is not None:
            times[field] = data[field]
    if "started_at" in times and "eos_at" in times and times["eos_at"] < times["started_at"]:
        add("eos_at", "End of synthesis is before the synthesis started.")
    if "started_at" in times:
        for elution in elutions:
            if elution.eluted_at > times["started_at"]:
                add(
                    "elutions",
                    f"Elution {elution.pk} was eluted after the synthesis started.",
                )

    check(positive_number, data.get("activity_mbq"), "activity_mbq", "Activity", unit="MBq")
    check(positive_number, data.get("volume_ml"), "volume_ml", "Volume", unit="mL")
    mass = data.get("precursor_mass_ug")
    if mass is not None:
        try:
            if float(mass) < 0:
                add("precursor_mass_ug", "Cannot be negative.")
        except (TypeError, ValueError):
            add("precursor_mass_ug", "Enter a number.")

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
    return elutions, errors


def derive(*, product: Product, elutions: Iterable[Elution], data: dict) -> dict:
    """The stored derived numbers of a batch from its inputs (SPEC §2.3)."""
    eos_at = data["eos_at"]
    activity_at_eos = physics.decay_activity(
        float(data["activity_mbq"]), from_time=data["measured_at"], to_time=eos_at
    )
    eluate_at_eos = sum(
        physics.decay_activity(e.activity_at_elution_mbq, from_time=e.eluted_at, to_time=eos_at)
        for e in elutions
    )
    eluate_uncorrected = sum(e.activity_at_elution_mbq for e in elutions)
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
) -> Batch:
    """Record a synthesis at EOS: number it, store its derived numbers, status QC pending."""
    data = {
        "elutions": elutions,
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
    date = production_date(eos_at)
    # Two radiopharmacists recording batches of the same product at once would pick the same
    # sequence: the product row lock serialises them (PostgreSQL); the unique constraint and
    # the retry below cover SQLite and anything the lock misses. Sequences only grow (max + 1),
    # and batches are never deleted, so a number is never reused.
    Product.objects.select_for_update().filter(pk=product.pk).first()
    fields = {k: v for k, v in data.items() if k != "elutions"}
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
    batch.elutions.set(elution_rows)
    changes = audit.created(batch)
    changes["elutions"] = {"old": None, "new": sorted(e.pk for e in elution_rows)}
    audit.record(actor=actor, action=AuditAction.CREATED, obj=batch, changes=changes)
    return batch


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
    data = {f: getattr(batch, f) for f in CORRECTABLE_FIELDS if f != "elutions"}
    data["elutions"] = old_elutions
    data.update(changes)
    elution_rows, errors = _validate(data)
    if errors:
        raise ApplicationError("The correction is not valid.", fields=errors)
    data = _clean_text(data)
    old = audit.snapshot(batch)
    for field in CORRECTABLE_FIELDS:
        if field != "elutions":
            setattr(batch, field, data[field])
    for field, value in derive(product=batch.product, elutions=elution_rows, data=data).items():
        setattr(batch, field, value)
    batch.save()
    new_elutions = sorted(e.pk for e in elution_rows)
    if new_elutions != old_elutions:
        batch.elutions.set(elution_rows)
    diff = audit.diff(old, audit.snapshot(batch))
    if new_elutions != old_elutions:
        diff["elutions"] = {"old": old_elutions, "new": new_elutions}
    if not diff:
        raise ApplicationError("The correction changes nothing.")
    audit.record(
        actor=actor, action=AuditAction.CORRECTED, obj=batch, changes=diff, reason=reason.strip()
    )
    return batch
