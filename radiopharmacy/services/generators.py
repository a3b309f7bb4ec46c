"""Writes of the generator area: register a generator, change its status, record and correct
elutions, record Ge-68 breakthrough results (SPEC §2.2). Each writes its audit entries in the
same transaction.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import audit
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import ensure_transition
from radiopharmacy.models import Batch, BreakthroughTest, Elution, Generator
from radiopharmacy.selectors.generators import current_elutions_queryset, elution_records

# Tablet and calibrator clocks drift: a time a minute "in the future" is a clock, not a typo.
CLOCK_SKEW = timedelta(minutes=2)
# Plausibility limits: the largest commercial Ge-68/Ga-68 generators hold about 4 GBq and are
# eluted with 4-5 mL; a value far beyond is a typing error (or a unit mix-up), not a generator.
MAX_ACTIVITY_MBQ = 20_000.0
MAX_ELUATE_VOLUME_ML = 50.0
# A generator's calibration lies within a few years of its registration (shelf life 12 months).
CALIBRATION_WINDOW = timedelta(days=5 * 365)
ELUTABLE = {GeneratorStatus.IN_USE}


def _require_aware(value, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ApplicationError("Invalid time.", fields={field: ["Give a date and time."]})
    if timezone.is_naive(value):
        raise ApplicationError(
            "Invalid time.",
            fields={field: ["Give the time with its UTC offset; a time without one is ambiguous."]},
        )
    return value


def _not_future(value: datetime, field: str, label: str, now: datetime) -> None:
    if value > now + CLOCK_SKEW:
        raise ApplicationError(
            f"{label} is in the future.",
            fields={field: [f"{label} cannot be in the future."]},
        )


def _positive(value, field: str, label: str, unit: str = "", maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApplicationError(f"{label} must be a number.", fields={field: ["Enter a number."]})
    suffix = f" {unit}" if unit else ""
    if value <= 0:
        raise ApplicationError(
            f"{label} must be positive.",
            fields={field: [f"{label} must be greater than 0{suffix}."]},
        )
    if maximum is not None and value > maximum:
        raise ApplicationError(
            f"{label} is implausibly large.",
            fields={
                field: [
                    f"{label} of {value:g}{suffix} cannot be right: at most "
                    f"{maximum:g}{suffix}. Check the unit."
                ]
            },
        )
    return float(value)


# --- Generators ----------------------------------------------------------------------------------


@transaction.atomic
def generator_register(
    *,
    actor,
    manufacturer: str,
    serial_number: str,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    received_at: datetime,
    model: str = "",
    expires_at: datetime | None = None,
    max_elutions: int | None = None,
    nominal_efficiency_percent: float = 65.0,
    status: str = GeneratorStatus.IN_USE,
) -> Generator:
    """Register a received generator. `expires_at` defaults to calibration + 12 months.

    Preconditions: serial number not registered before (else 400 on `serial_number`).
    """
    manufacturer = (manufacturer or "").strip()
    serial_number = (serial_number or "").strip()
    if not manufacturer:
        raise ApplicationError(
            "Manufacturer is required.", fields={"manufacturer": ["This field is required."]}
        )
    if not serial_number:
        raise ApplicationError(
            "Serial number is required.", fields={"serial_number": ["This field is required."]}
        )
    _positive(
        nominal_activity_mbq, "nominal_activity_mbq", "Nominal activity", "MBq", MAX_ACTIVITY_MBQ
    )
    _require_aware(calibrated_at, "calibrated_at")
    _require_aware(received_at, "received_at")
    if abs(calibrated_at - timezone.now()) > CALIBRATION_WINDOW:
        raise ApplicationError(
            "Calibration time is implausible.",
            fields={"calibrated_at": ["The calibration must be within 5 years of today."]},
        )
    if abs(received_at - calibrated_at) > timedelta(days=365):
        raise ApplicationError(
            "Reception time is implausible.",
            fields={"received_at": ["The generator is received within a year of its calibration."]},
        )
    _not_future(received_at, "received_at", "Reception time", timezone.now())
    if expires_at is None:
        expires_at = Generator.default_expiry(calibrated_at)
    _require_aware(expires_at, "expires_at")
    if expires_at <= calibrated_at:
        raise ApplicationError(
            "Expiry is not after calibration.",
            fields={"expires_at": ["The expiry must be after the calibration time."]},
        )
    if max_elutions is not None and max_elutions < 1:
        raise ApplicationError(
            "Maximum elutions must be at least 1.",
            fields={"max_elutions": ["Give at least 1, or leave empty for no limit."]},
        )
    eff = _positive(
        nominal_efficiency_percent, "nominal_efficiency_percent", "Nominal efficiency", "%"
    )
    if eff > 100:
        raise ApplicationError(
            "Nominal efficiency above 100 %.",
            fields={"nominal_efficiency_percent": ["An efficiency is at most 100 %."]},
        )
    if status not in GeneratorStatus.values:
        raise ApplicationError(
            "Unknown status.", fields={"status": [f"Unknown status {status!r}."]}
        )
    if Generator.objects.filter(serial_number=serial_number).exists():
        raise ApplicationError(
            "Serial number already registered.",
            fields={"serial_number": [f"A generator with serial number {serial_number} exists."]},
        )
    generator = Generator(
        manufacturer=manufacturer,
        model=(model or "").strip(),
        serial_number=serial_number,
        nominal_activity_mbq=float(nominal_activity_mbq),
        calibrated_at=calibrated_at,
        received_at=received_at,
        expires_at=expires_at,
        max_elutions=max_elutions,
        nominal_efficiency_percent=eff,
        status=status,
        registered_by=actor,
    )
    try:
        with transaction.atomic():
            generator.save(force_insert=True)
    except IntegrityError:  # registered by someone else between the check and the insert
        raise ApplicationError(
            "Serial number already registered.",
            fields={"serial_number": [f"A generator with serial number {serial_number} exists."]},
        ) from None
    audit.record(actor=actor, action="created", obj=generator, changes=audit.created(generator))
    return generator


@transaction.atomic
def generator_set_status(*, actor, generator_id: int, status: str, reason: str) -> Generator:
    """Move a generator to `quarantine`, `in_use` or `retired` with a reason (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "A reason is required.", fields={"reason": ["Say why the status changes."]}
        )
    if status not in GeneratorStatus.values:
        raise ApplicationError(
            "Unknown status.", fields={"status": [f"Unknown status {status!r}."]}
        )
    generator = Generator.objects.select_for_update().get(pk=generator_id)
    return _set_status(actor=actor, generator=generator, status=status, reason=reason)


def _set_status(*, actor, generator: Generator, status: str, reason: str) -> Generator:
    ensure_transition(GeneratorStatus, generator.status, status)
    old = audit.snapshot(generator, ["status"])
    generator.status = status
    generator.save(update_fields=["status"])
    audit.record_change(
        actor=actor,
        action="status_changed",
        obj=generator,
        before=old,
        reason=reason,
    )
    return generator


# --- Elutions ------------------------------------------------------------------------------------


def _elution_numbers(
    *,
    generator: Generator,
    eluted_at: datetime,
    activity_mbq: float,
    measured_at: datetime,
    volume_ml: float,
    exclude_id: int | None = None,
) -> dict:
    """Validate an elution's inputs and derive E, G(t_e) and the efficiency."""
    _require_aware(eluted_at, "eluted_at")
    _require_aware(measured_at, "measured_at")
    _positive(activity_mbq, "activity_mbq", "Activity", "MBq", MAX_ACTIVITY_MBQ)
    _positive(volume_ml, "volume_ml", "Volume", "mL", MAX_ELUATE_VOLUME_ML)
    now = timezone.now()
    _not_future(eluted_at, "eluted_at", "Elution time", now)
    _not_future(measured_at, "measured_at", "Measurement time", now)
    if measured_at < eluted_at:
        raise ApplicationError(
            "Measured before the elution.",
            fields={"measured_at": ["The eluate cannot be measured before it was eluted."]},
        )
    if eluted_at < generator.received_at:
        raise ApplicationError(
            "Elution before the generator was received.",
            fields={"eluted_at": ["The elution is before the generator was received."]},
        )
    previous = current_elutions_queryset().filter(generator=generator)
    if exclude_id is not None:
        previous = previous.exclude(pk=exclude_id)
    if previous.filter(eluted_at=eluted_at).exists():
        raise ApplicationError(
            "Another elution at the same time.",
            fields={"eluted_at": ["Another elution of this generator is recorded at this time."]},
        )
    try:
        activity_at_elution = physics.decay_activity(
            float(activity_mbq), from_time=measured_at, to_time=eluted_at, nuclide=physics.GA68
        )
    except ValueError as exc:
        raise ApplicationError(str(exc), fields={"measured_at": [str(exc)]}) from None
    state = physics.column_state(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=elution_records(previous.filter(eluted_at__lt=eluted_at)),
        at=eluted_at,
    )
    return {
        "activity_at_elution_mbq": activity_at_elution,
        "predicted_on_column_mbq": state.ga68_on_column_mbq,
        "efficiency_percent": physics.elution_efficiency_percent(
            activity_at_elution_mbq=activity_at_elution, on_column_mbq=state.ga68_on_column_mbq
        ),
    }


@transaction.atomic
def elution_record(
    *,
    actor,
    generator_id: int,
    eluted_at: datetime,
    activity_mbq: float,
    measured_at: datetime,
    volume_ml: float,
    eluent_lot: str = "",
) -> Elution:
    """Record an elution with E (decay-corrected to `eluted_at`), G(t_e) and its efficiency.

    Refused (409) on a generator in quarantine or retired.
    """
    # Lock the generator: two elutions recorded at once must each see the other in the column
    # model, not both compute G from the same history.
    generator = Generator.objects.select_for_update().filter(pk=generator_id).first()
    if generator is None:
        raise ApplicationError(
            "Unknown generator.", fields={"generator": [f"No generator with id {generator_id}."]}
        )
    if generator.status not in ELUTABLE:
        raise StateConflict(
            f"Generator {generator.serial_number} is {generator.get_status_display().lower()}; "
            "it cannot be eluted.",
            blocking=[f"generator status is {generator.get_status_display()}"],
        )
    numbers = _elution_numbers(
        generator=generator,
        eluted_at=eluted_at,
        activity_mbq=activity_mbq,
        measured_at=measured_at,
        volume_ml=volume_ml,
    )
    elution = Elution.objects.create(
        generator=generator,
        eluted_at=eluted_at,
        activity_mbq=float(activity_mbq),
        measured_at=measured_at,
        volume_ml=float(volume_ml),
        eluent_lot=(eluent_lot or "").strip(),
        performed_by=actor,
        **numbers,
    )
    audit.record(actor=actor, action="created", obj=elution, changes=audit.created(elution))
    return elution


CORRECTABLE_FIELDS = ("eluted_at", "activity_mbq", "measured_at", "volume_ml", "eluent_lot")


@transaction.atomic
def elution_correct(
    *,
    actor,
    elution_id: int,
    reason: str,
    eluted_at: datetime | None = None,
    activity_mbq: float | None = None,
    measured_at: datetime | None = None,
    volume_ml: float | None = None,
    eluent_lot: str | None = None,
) -> Elution:
    """Correct an elution: a new elution supersedes it with a reason; both stay on record.

    Fields not given keep their old value. Only the latest version can be corrected (409).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "A reason is required.", fields={"reason": ["Say why the elution is corrected."]}
        )
    old = Elution.objects.select_for_update().select_related("generator").get(pk=elution_id)
    if Elution.objects.filter(supersedes=old).exists():
        raise StateConflict(
            "This elution was already corrected; correct its latest version.",
            blocking=[f"superseded by elution {old.superseded_by.pk}"],
        )
    Generator.objects.select_for_update().filter(pk=old.generator_id).first()
    given = {
        "eluted_at": eluted_at,
        "activity_mbq": activity_mbq,
        "measured_at": measured_at,
        "volume_ml": volume_ml,
        "eluent_lot": eluent_lot,
    }
    values = {k: (getattr(old, k) if v is None else v) for k, v in given.items()}
    numbers = _elution_numbers(
        generator=old.generator,
        eluted_at=values["eluted_at"],
        activity_mbq=values["activity_mbq"],
        measured_at=values["measured_at"],
        volume_ml=values["volume_ml"],
        exclude_id=old.pk,
    )
    try:
        with transaction.atomic():
            new = Elution.objects.create(
                generator=old.generator,
                eluted_at=values["eluted_at"],
                activity_mbq=float(values["activity_mbq"]),
                measured_at=values["measured_at"],
                volume_ml=float(values["volume_ml"]),
                eluent_lot=(values["eluent_lot"] or "").strip(),
                supersedes=old,
                correction_reason=reason,
                performed_by=actor,
                **numbers,
            )
    except IntegrityError:  # corrected concurrently by someone else
        raise StateConflict(
            "This elution was corrected at the same time by someone else.",
            blocking=["superseded"],
        ) from None
    fields = [*CORRECTABLE_FIELDS, *numbers]
    audit.record(
        actor=actor,
        action="corrected",
        obj=new,
        changes={
            **audit.diff(audit.snapshot(old, fields), audit.snapshot(new, fields)),
            "supersedes": {"old": None, "new": old.pk},
        },
        reason=reason,
    )
    audit.record(
        actor=actor,
        action="superseded",
        obj=old,
        changes={"superseded_by": {"old": None, "new": new.pk}},
        reason=reason,
    )
    return new


# --- Ge-68 breakthrough --------------------------------------------------------------------------


def _elution_chain_ids(elution: Elution) -> list[int]:
    """This elution and every earlier version it corrects (batches may point at any of them)."""
    ids = [elution.pk]
    current = elution
    while current.supersedes_id is not None:
        ids.append(current.supersedes_id)
        current = Elution.objects.only("id", "supersedes_id").get(pk=current.supersedes_id)
    return ids


@transaction.atomic
def breakthrough_record(
    *, actor, elution_id: int, ge68_activity_kbq: float, measured_at: datetime
) -> BreakthroughTest:
    """Record a Ge-68 breakthrough result for an elution, measured ≥ 48 h after it.

    A failure (over 0.001 %) quarantines the generator and opens a release-blocking deviation on
    every batch made from the elution.
    """
    elution = Elution.objects.select_related("generator").get(pk=elution_id)
    if Elution.objects.filter(supersedes=elution).exists():
        raise StateConflict(
            "This elution was corrected; record the breakthrough on its latest version.",
            blocking=["elution superseded"],
        )
    _require_aware(measured_at, "measured_at")
    if isinstance(ge68_activity_kbq, bool) or not isinstance(ge68_activity_kbq, int | float):
        raise ApplicationError(
            "Invalid activity.", fields={"ge68_activity_kbq": ["Enter a number."]}
        )
    if not math.isfinite(ge68_activity_kbq) or ge68_activity_kbq < 0:
        raise ApplicationError(
            "Invalid activity.",
            fields={"ge68_activity_kbq": ["The Ge-68 activity must be 0 kBq or more."]},
        )
    _not_future(measured_at, "measured_at", "Measurement time", timezone.now())
    earliest = elution.eluted_at + physics.BREAKTHROUGH_MIN_DELAY
    if measured_at < earliest:
        hours = physics.elapsed_minutes(elution.eluted_at, measured_at) / 60.0
        raise ApplicationError(
            "Measured too early.",
            fields={
                "measured_at": [
                    "Ge-68 breakthrough must be measured at least 48 h after elution "
                    f"(not before {timezone.localtime(earliest):%Y-%m-%d %H:%M %Z}); "
                    f"this is {hours:.1f} h after."
                ]
            },
        )
    percent = physics.breakthrough_percent(
        ge68_activity_kbq=float(ge68_activity_kbq),
        measured_at=measured_at,
        eluted_at=elution.eluted_at,
        ga68_at_elution_mbq=elution.activity_at_elution_mbq,
    )
    test = BreakthroughTest.objects.create(
        elution=elution,
        ge68_activity_kbq=float(ge68_activity_kbq),
        measured_at=measured_at,
        breakthrough_percent=percent,
        limit_percent=physics.BREAKTHROUGH_LIMIT_PERCENT,
        passed=physics.breakthrough_passed(percent),
        performed_by=actor,
    )
    audit.record(actor=actor, action="created", obj=test, changes=audit.created(test))
    if not test.passed:
        _breakthrough_failed(actor=actor, elution=elution, test=test)
    return test


def _breakthrough_failed(*, actor, elution: Elution, test: BreakthroughTest) -> None:
    from qc.services.deviations import deviation_open

    reason = (
        f"Ge-68 breakthrough {test.breakthrough_percent:.5f} % over the "
        f"{test.limit_percent:g} % limit (elution {elution.pk} of "
        f"{timezone.localtime(elution.eluted_at):%Y-%m-%d %H:%M %Z})"
    )
    generator = Generator.objects.select_for_update().get(pk=elution.generator_id)
    if generator.status == GeneratorStatus.IN_USE:
        _set_status(
            actor=actor, generator=generator, status=GeneratorStatus.QUARANTINE, reason=reason
        )
    batches = Batch.objects.filter(elutions__in=_elution_chain_ids(elution)).distinct()
    for batch in batches.order_by("id"):
        deviation_open(
            batch=batch,
            kind="breakthrough",
            description=reason,
            actor=actor,
            blocks_release=True,
        )


# --- Warnings as alerts (periodic job) -----------------------------------------------------------


def generator_warnings_raise(*, now: datetime | None = None) -> int:
    """Raise an alert for each warning of each generator not retired; returns how many are new.

    The key names the generator, the warning and what it is about (the failed test, the last
    test), so a rerun raises nothing new and a new occurrence raises a new alert.
    """
    from radiopharmacy.core.alerts import alert_raise
    from radiopharmacy.models import SiteSettings
    from radiopharmacy.selectors.generators import generator_warnings, generators_with_history

    now = now or timezone.now()
    site = SiteSettings.current()
    raised = 0
    generators = generators_with_history().exclude(status=GeneratorStatus.RETIRED)
    for generator in generators:
        for warning in generator_warnings(generator, now=now, site=site):
            critical = warning.code in ("breakthrough_failed", "expired")
            _alert, created = alert_raise(
                key=f"generator:{generator.pk}:{warning.code}:{warning.ref}",
                kind=f"generator_{warning.code}",
                level="critical" if critical else "warning",
                message=f"Generator {generator.serial_number}: {warning.message}",
                object_type="radiopharmacy.generator",
                object_id=str(generator.pk),
            )
            raised += int(created)
    return raised
