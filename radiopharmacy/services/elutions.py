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
from radiopharmacy.selectors.generators import (
    EFFICIENCY_WINDOW,
    current_elutions_queryset,
    generator_column_at,
    stored_state,
)
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
    earlier = previous.filter(eluted_at__lt=eluted_at)
    if exclude_id is None:
        # The stored state of the elution just before: no replay of the history.
        last = earlier.order_by("-eluted_at", "-id").first()
        state = physics.column_state_after(
            nominal_activity_mbq=generator.nominal_activity_mbq,
            calibrated_at=generator.calibrated_at,
            last=None if last is None else stored_state(last),
            at=eluted_at,
        )
    else:
        # A correction: the stored states after the corrected elution still count it, so the
        # history without it is replayed (corrections are rare).
        state = generator_column_at(generator, at=eluted_at, elutions=list(earlier))
    return {
        "activity_at_elution_mbq": activity_at_elution,
        "predicted_on_column_mbq": state.ga68_on_column_mbq,
        "efficiency_percent": physics.elution_efficiency_percent(
            activity_at_elution_mbq=activity_at_elution, on_column_mbq=state.ga68_on_column_mbq
        ),
    }


STATE_FIELDS = ("column_residual_mbq", "efficiency_estimate_percent", "elution_number")


def elution_states_refresh(*, generator: Generator, since: datetime | None = None) -> int:
    """Derive again the stored column state of the generator's current elutions from `since`
    on (all of them when None), from the state of the last one before `since`.

    Called in the transaction that records or corrects an elution (the only changes of the
    history), with the generator locked; the states are derived numbers, like
    `efficiency_percent`, so it writes no audit entry of its own: the recorded or corrected
    elution carries it. Returns the number of elutions updated.
    """
    current = current_elutions_queryset().filter(generator=generator)
    earlier = current.filter(eluted_at__lt=since) if since is not None else current.none()
    # The state of the one before, and the efficiencies η of the next ones still averages.
    window = list(
        earlier.order_by("-eluted_at", "-id").only(
            "eluted_at", "efficiency_percent", "predicted_on_column_mbq", *STATE_FIELDS
        )[: EFFICIENCY_WINDOW - 1]
    )[::-1]
    later = list(current.filter(eluted_at__gte=since) if since is not None else current)
    later.sort(key=lambda e: (e.eluted_at, e.pk))
    states = physics.elution_states(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=[
            physics.ElutionRecord(
                eluted_at=e.eluted_at, activity_at_elution_mbq=e.activity_at_elution_mbq
            )
            for e in later
        ],
        after=stored_state(window[-1]) if window else None,
    )
    estimates = physics.running_efficiency_estimates(
        [e.efficiency_percent for e in later],
        before=[e.efficiency_percent for e in window],
        nominal_percent=generator.nominal_efficiency_percent,
    )
    number = window[-1].elution_number if window else 0
    for elution, state, estimate in zip(later, states, estimates, strict=True):
        number += 1
        elution.column_residual_mbq = state.residual_mbq
        elution.efficiency_estimate_percent = estimate
        elution.elution_number = number
    Elution.objects.bulk_update(later, STATE_FIELDS, batch_size=500)
    return len(later)


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

    Refused (409) on a retired generator or one quarantined after its acceptance.
    """
    # Lock the generator: two elutions recorded at once must each see the other in the column
    # model, not both compute G from the same history.
    generator = Generator.objects.select_for_update().filter(pk=generator_id).first()
    if generator is None:
        raise ApplicationError(
            "Unknown generator.", fields={"generator": [f"No generator with id {generator_id}."]}
        )
    # The receipt check elutes a generator still in quarantine (SPEC §2.2: "first eluate
    # checked"); no batch may use that eluate while the generator is in quarantine
    # (batch_create). A generator quarantined after acceptance is not eluted.
    awaiting_acceptance = (
        generator.status == GeneratorStatus.QUARANTINE and generator.accepted_at is None
    )
    if generator.status not in ELUTABLE and not awaiting_acceptance:
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
        # Placeholders, derived just below with the ones after it (a back-dated elution).
        column_residual_mbq=0.0,
        efficiency_estimate_percent=0.0,
        elution_number=0,
        **numbers,
    )
    elution_states_refresh(generator=generator, since=elution.eluted_at)
    elution.refresh_from_db(fields=STATE_FIELDS)
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
                column_residual_mbq=0.0,
                efficiency_estimate_percent=0.0,
                elution_number=0,
                **numbers,
            )
    except IntegrityError:  # corrected concurrently by someone else
        raise StateConflict(
            "This elution was corrected at the same time by someone else.",
            blocking=["superseded"],
        ) from None
    # Every elution from the earlier of the two times on now follows a different history.
    elution_states_refresh(generator=old.generator, since=min(old.eluted_at, new.eluted_at))
    new.refresh_from_db(fields=STATE_FIELDS)
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


# --- Warnings on an elution and on the batches made from it (SPEC §2.2) -------------------------


def elution_efficiency_warning(elution: Elution, *, min_efficiency_percent: float) -> str | None:
    """The flag of an elution whose own efficiency is below the site's minimum (a setting,
    default 50 %), with the generator's nominal efficiency to compare; None when it is not."""
    if elution.efficiency_percent >= min_efficiency_percent:
        return None
    nominal = elution.generator.nominal_efficiency_percent
    return (
        f"Elution efficiency {elution.efficiency_percent:.1f} % is below the "
        f"{min_efficiency_percent:g} % minimum (nominal {nominal:g} %)."
    )


def batch_eluate_flags(batch, *, min_efficiency_percent: float) -> list[str]:
    """What a batch's record says about its eluate, in words: an elution of low efficiency, and
    an elution corrected after the batch was made (its numbers were derived from the old record).

    Uses `batch.elutions` with their generator and `superseded_by` (prefetch them for a list).
    """
    flags = []
    for elution in batch.elutions.all():
        when = timezone.localtime(elution.eluted_at)
        warning = elution_efficiency_warning(elution, min_efficiency_percent=min_efficiency_percent)
        if warning:
            flags.append(f"Eluate of {when:%H:%M}: {warning}")
        # A batch only takes current elutions (batch_create), so a correction of one of its
        # elutions was made after the batch.
        correction = getattr(elution, "superseded_by", None)
        if correction is not None:
            flags.append(
                f"Eluate of {when:%H:%M} was corrected after the batch was made "
                f"({correction.correction_reason}); check the batch's yield."
            )
    return flags
