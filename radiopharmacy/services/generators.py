"""Writes of generators: register one (in quarantine), accept it into use after its receipt
check, change its status, raise its warnings as alerts (SPEC §2.2). Each writes its audit
entries in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.bounds import (
    ELUATE_VOLUME_MAX_ML,
    GENERATOR_ACTIVITY_MAX_MBQ,
    MAX_ELUTIONS_LIMIT,
)
from radiopharmacy.core.checks import (
    bounded_text,
    not_future,
    positive_number,
    required_text,
    to_utc,
)
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import transition
from radiopharmacy.models import Generator

# Plausibility limits (radiopharmacy.core.bounds): the largest commercial Ge-68/Ga-68 generators
# hold about 4 GBq and are eluted with 4-5 mL; a value far beyond is a typing error (or a unit
# mix-up), not a generator.
MAX_ACTIVITY_MBQ = GENERATOR_ACTIVITY_MAX_MBQ
MAX_ELUATE_VOLUME_ML = ELUATE_VOLUME_MAX_ML
# A generator's calibration lies within a few years of its registration (shelf life 12 months).
CALIBRATION_WINDOW = timedelta(days=5 * 365)


@transaction.atomic
def generator_register(
    *,
    actor: User,
    manufacturer: str,
    serial_number: str,
    nominal_activity_mbq: float,
    calibrated_at: datetime,
    received_at: datetime,
    model: str = "",
    expires_at: datetime | None = None,
    max_elutions: int | None = None,
    nominal_efficiency_percent: float = 65.0,
    status: str = GeneratorStatus.QUARANTINE,
) -> Generator:
    """Register a received generator, in quarantine until its receipt check accepts it into use
    (`generator_accept`). `expires_at` defaults to calibration + 12 months.

    Preconditions: serial number not registered before (else 400 on `serial_number`).
    """
    manufacturer = bounded_text(manufacturer or "", "manufacturer", "Manufacturer", max_length=120)
    model = bounded_text(model or "", "model", "Model", max_length=120)
    serial_number = bounded_text(
        serial_number or "", "serial_number", "Serial number", max_length=80
    )
    manufacturer, serial_number = manufacturer.strip(), serial_number.strip()
    if not manufacturer:
        raise ApplicationError(
            "Manufacturer is required.", fields={"manufacturer": ["This field is required."]}
        )
    if not serial_number:
        raise ApplicationError(
            "Serial number is required.", fields={"serial_number": ["This field is required."]}
        )
    positive_number(
        nominal_activity_mbq,
        "nominal_activity_mbq",
        "Nominal activity",
        unit="MBq",
        maximum=MAX_ACTIVITY_MBQ,
    )
    calibrated_at = to_utc(calibrated_at, "calibrated_at")
    received_at = to_utc(received_at, "received_at")
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
    not_future(received_at, "received_at", "Reception time", now=timezone.now())
    if expires_at is None:
        expires_at = Generator.default_expiry(calibrated_at)
    expires_at = to_utc(expires_at, "expires_at")
    if expires_at <= calibrated_at:
        raise ApplicationError(
            "Expiry is not after calibration.",
            fields={"expires_at": ["The expiry must be after the calibration time."]},
        )
    if max_elutions is not None and not 1 <= max_elutions <= MAX_ELUTIONS_LIMIT:
        raise ApplicationError(
            "Maximum elutions must be at least 1.",
            fields={
                "max_elutions": [f"Give 1 to {MAX_ELUTIONS_LIMIT}, or leave empty for no limit."]
            },
        )
    eff = positive_number(
        nominal_efficiency_percent, "nominal_efficiency_percent", "Nominal efficiency", unit="%"
    )
    if eff > 100:
        raise ApplicationError(
            "Nominal efficiency above 100 %.",
            fields={"nominal_efficiency_percent": ["An efficiency is at most 100 %."]},
        )
    if status != GeneratorStatus.QUARANTINE:
        raise ApplicationError(
            "A new generator starts in quarantine.",
            fields={
                "status": [
                    "A new generator starts in quarantine; accept it into use after its "
                    "receipt check."
                ]
            },
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
    audit.record(
        actor=actor, action=AuditAction.CREATED, obj=generator, changes=audit.created(generator)
    )
    return generator


@transaction.atomic
def generator_set_status(*, actor: User, generator_id: int, status: str, reason: str) -> Generator:
    """Move a generator to `quarantine`, `in_use` or `retired` with a reason (audited)."""
    reason = required_text(reason, "reason", "Say why the status changes.")
    if status not in GeneratorStatus.values:
        raise ApplicationError(
            "Unknown status.", fields={"status": [f"Unknown status {status!r}."]}
        )
    generator = Generator.objects.select_for_update().get(pk=generator_id)
    if status == GeneratorStatus.IN_USE and generator.accepted_at is None:
        raise ApplicationError(
            "The generator has not been accepted into use.",
            fields={
                "status": [
                    f"Generator {generator.serial_number} has not passed its receipt check: "
                    "accept it into use (documents, certificate activity, first eluate)."
                ]
            },
        )
    return transition(generator, GeneratorStatus(status), actor=actor, reason=reason)


# What the receipt check confirms before a generator is accepted into use (SPEC §2.2).
RECEIPT_CHECKS = {
    "documents_checked": "The delivery documents and the certificate are checked.",
    "certificate_activity_checked": "The Ge-68 activity on the certificate is checked.",
    "first_eluate_checked": "The first eluate is checked.",
}


@transaction.atomic
def generator_accept(
    *,
    actor: User,
    generator_id: int,
    note: str,
    documents_checked: bool,
    certificate_activity_checked: bool,
    first_eluate_checked: bool,
) -> Generator:
    """Accept a generator in quarantine on receipt into use after its receipt check (SPEC §2.2):
    every check confirmed, a note, the radiopharmacist and the time recorded and audited.

    Refused (409) for a generator not in quarantine or already accepted once (a generator
    quarantined later, e.g. by a failed breakthrough, goes back in use by a status change).
    """
    note = required_text(note, "note", "Write what the receipt check found.")
    given = {
        "documents_checked": documents_checked,
        "certificate_activity_checked": certificate_activity_checked,
        "first_eluate_checked": first_eluate_checked,
    }
    missing = {
        field: [f"Confirm it: {RECEIPT_CHECKS[field]}"]
        for field, done in given.items()
        if done is not True
    }
    if missing:
        raise ApplicationError("The receipt check is not complete.", fields=missing)
    generator = Generator.objects.select_for_update().filter(pk=generator_id).first()
    if generator is None:
        raise ApplicationError(
            "Unknown generator.", fields={"generator": [f"No generator with id {generator_id}."]}
        )
    if generator.status != GeneratorStatus.QUARANTINE or generator.accepted_at is not None:
        raise StateConflict(
            f"Generator {generator.serial_number} is not awaiting its receipt check.",
            blocking=[
                f"generator status is {generator.get_status_display()}"
                + (", accepted before" if generator.accepted_at else "")
            ],
        )
    return transition(
        generator,
        GeneratorStatus.IN_USE,
        actor=actor,
        action=AuditAction.ACCEPTED,
        reason=note,
        also={"accepted_at": timezone.now(), "accepted_by_id": actor.pk, "acceptance_note": note},
    )


# --- Warnings as alerts (periodic job) -----------------------------------------------------------


def generator_warnings_raise(*, now: datetime | None = None) -> int:
    """Raise an alert for each warning of each generator not retired; returns how many are new.

    The key names the generator, the warning and what it is about (the failed test, the last
    test), so a rerun raises nothing new and a new occurrence raises a new alert.
    """
    from radiopharmacy.core.alerts import alert_raise
    from radiopharmacy.models import SiteSettings
    from radiopharmacy.selectors.generators import generator_warnings, generators_with_state

    now = now or timezone.now()
    site = SiteSettings.current()
    raised = 0
    generators = generators_with_state().exclude(status=GeneratorStatus.RETIRED)
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
