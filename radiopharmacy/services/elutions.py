"""Writes of elutions: record one with its decay-corrected activity, the column content the model
predicted and the efficiency, and correct one by superseding it with a reason (SPEC §2.2).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import (
    bounded_text,
    not_future,
    positive_number,
    required_text,
    to_utc,
)
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import Elution, Generator
from radiopharmacy.selectors.generators import current_elutions_queryset, generator_column_at
from radiopharmacy.services.generators import MAX_ACTIVITY_MBQ, MAX_ELUATE_VOLUME_ML

ELUTABLE = {GeneratorStatus.IN_USE}


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
    eluted_at = to_utc(eluted_at, "eluted_at")
    measured_at = to_utc(measured_at, "measured_at")
    positive_number(activity_mbq, "activity_mbq", "Activity", unit="MBq", maximum=MAX_ACTIVITY_MBQ)
    positive_number(volume_ml, "volume_ml", "Volume", unit="mL", maximum=MAX_ELUATE_VOLUME_ML)
    now = timezone.now()
    not_future(eluted_at, "eluted_at", "Elution time", now=now)
    not_future(measured_at, "measured_at", "Measurement time", now=now)
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
    state = generator_column_at(
        generator, at=eluted_at, elutions=list(previous.filter(eluted_at__lt=eluted_at))
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
    actor: User,
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
    eluent_lot = bounded_text(eluent_lot or "", "eluent_lot", "Eluent lot", max_length=80)
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
    audit.record(
        actor=actor, action=AuditAction.CREATED, obj=elution, changes=audit.created(elution)
    )
    return elution


CORRECTABLE_FIELDS = ("eluted_at", "activity_mbq", "measured_at", "volume_ml", "eluent_lot")


@transaction.atomic
def elution_correct(
    *,
    actor: User,
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
    reason = required_text(reason, "reason", "Say why the elution is corrected.")
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
    values["eluent_lot"] = bounded_text(
        values["eluent_lot"] or "", "eluent_lot", "Eluent lot", max_length=80
    )
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
        action=AuditAction.CORRECTED,
        obj=new,
        changes={
            **audit.diff(audit.snapshot(old, fields), audit.snapshot(new, fields)),
            "supersedes": {"old": None, "new": old.pk},
        },
        reason=reason,
    )
    audit.record(
        actor=actor,
        action=AuditAction.SUPERSEDED,
        obj=old,
        changes={"superseded_by": {"old": None, "new": new.pk}},
        reason=reason,
    )
    return new
