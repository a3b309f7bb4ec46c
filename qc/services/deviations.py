"""Quality events (SPEC §2.4a): open, investigate in two phases, close by signature.

An event is `open` → `investigating` (the first investigation phase recorded) → `closed` (a
qualified person's electronic signature with a conclusion). An OOS follows the FDA OOS guidance
(2006, rev. 2022): phase I asks whether the laboratory erred (calculation, instrument, sample,
method); when it finds no assignable cause, phase II looks at production, materials and
equipment. What a conclusion does to the batch is read by `qc.guards` (release) and
`qc.services.recall` (the hold): `invalidated` takes the failing result out of the count,
`confirmed` leaves only rejection or recall.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.models import Deviation, Investigation
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import bounded_text, required_text
from radiopharmacy.core.errors import ApplicationError, NotAllowed, NotFound, StateConflict
from radiopharmacy.core.roles import QUALIFIED_PERSON, has_role
from radiopharmacy.core.signing import printed_name, require_signature
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch

Kind, Conclusion = Deviation.Kind, Deviation.Conclusion

# The conclusions each kind can be closed with (SPEC §2.4a).
CONCLUSIONS: dict[str, tuple[str, ...]] = {
    Kind.OOS: (Conclusion.INVALIDATED, Conclusion.CONFIRMED),
    Kind.OOT: (Conclusion.INVALIDATED, Conclusion.CONFIRMED, Conclusion.NO_PRODUCT_IMPACT),
    Kind.DEVIATION: (Conclusion.NO_PRODUCT_IMPACT, Conclusion.CONFIRMED),
    Kind.COMPLAINT: (Conclusion.NO_PRODUCT_IMPACT, Conclusion.CONFIRMED),
}
# A quality event about a result needs the batch it was measured on.
KINDS_WITH_BATCH = (Kind.OOS, Kind.OOT)


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


@transaction.atomic
def deviation_open(
    *,
    batch: Batch | None,
    kind: str,
    description: str,
    actor: User | None,
    qc_result=None,
    affected_doses: list | None = None,
) -> Deviation:
    """Open a quality event (on `batch`, optional for a deviation or a complaint). `actor` may
    be None for a system job."""
    if kind not in Kind.values:
        raise _bad("kind", f"Choose one of: {', '.join(Kind.values)}.")
    if batch is None and kind in KINDS_WITH_BATCH:
        raise _bad("batch", f"An {Kind(kind).label.lower()} record belongs to a batch.")
    description = required_text(description, "description", "Describe the event.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    deviation = Deviation.objects.create(
        batch=batch,
        kind=kind,
        description=description,
        opened_by=user,
        opened_at=timezone.now(),
        qc_result=qc_result,
        affected_doses=affected_doses or [],
    )
    audit.record(
        actor=actor,
        action=AuditAction.DEVIATION_OPENED,
        obj=deviation,
        changes=audit.created(deviation),
    )
    return deviation


def _lock(deviation_id: int) -> Deviation:
    try:
        return Deviation.objects.select_for_update().get(pk=deviation_id)
    except Deviation.DoesNotExist:
        raise NotFound("No such quality event.") from None


def _ensure_not_closed(deviation: Deviation) -> None:
    if deviation.is_closed:
        raise StateConflict(
            "The quality event is closed: a new finding is a new event.",
            blocking=[f"closed by {deviation.closed_printed_name} ({deviation.conclusion})"],
        )


@transaction.atomic
def investigation_record(
    *, deviation_id: int, actor: User, phase: int, findings: str, assignable_cause: str = ""
) -> Investigation:
    """Record one phase of the investigation; the first one moves the event to
    `investigating`. Phase II follows a phase I that found no assignable cause."""
    try:
        phase = int(phase)
    except (TypeError, ValueError):
        raise _bad("phase", "Phase 1 or 2.") from None
    if phase not in Investigation.Phase.values:
        raise _bad("phase", "Phase 1 or 2.")
    findings = required_text(findings, "findings", "Write down what the investigation found.")
    cause = bounded_text((assignable_cause or "").strip(), "assignable_cause", "The cause")
    deviation = _lock(deviation_id)
    _ensure_not_closed(deviation)
    phases = {i.phase: i for i in deviation.investigations.all()}
    if phase in phases:
        raise StateConflict(
            f"Phase {phase} is already recorded.",
            blocking=[f"phase {phase} recorded by {printed_name(phases[phase].performed_by)}"],
        )
    if phase == Investigation.Phase.FULL_SCALE:
        first = phases.get(Investigation.Phase.LABORATORY)
        if first is None:
            raise StateConflict(
                "Phase II follows the laboratory investigation.",
                blocking=["phase I (laboratory investigation) is not recorded"],
            )
        if first.assignable_cause:
            raise StateConflict(
                "Phase I found an assignable laboratory error: no full-scale investigation.",
                blocking=[f"phase I cause: {first.assignable_cause}"],
            )
    investigation = Investigation.objects.create(
        deviation=deviation,
        phase=phase,
        findings=findings,
        assignable_cause=cause,
        performed_by=actor,
        recorded_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action=AuditAction.INVESTIGATION_RECORDED,
        obj=investigation,
        changes=audit.created(investigation),
    )
    if deviation.status == Deviation.Status.OPEN:
        transition(
            deviation,
            Deviation.Status.INVESTIGATING,
            actor=actor,
            action=AuditAction.INVESTIGATION_STARTED,
            reason=f"phase {phase} recorded",
        )
    return investigation


def closing_blockers(deviation: Deviation, conclusion: str) -> list[str]:
    """Why `deviation` cannot be closed with `conclusion` now, in words; empty when it can."""
    blocking: list[str] = []
    if deviation.is_closed:
        return ["the quality event is already closed"]
    phases = {i.phase: i for i in deviation.investigations.all()}
    if deviation.kind == Kind.OOS and Investigation.Phase.LABORATORY not in phases:
        blocking.append("An OOS is closed after its phase I (laboratory) investigation")
    if conclusion == Conclusion.INVALIDATED and not any(
        i.assignable_cause for i in phases.values()
    ):
        blocking.append(
            "Invalidating needs an assignable laboratory error found by the investigation"
        )
    return blocking


def deviation_close(
    *,
    deviation_id: int,
    actor: User,
    conclusion: str,
    note: str,
    password: str,
    otp_token: str = "",
    request=None,
) -> Deviation:
    """Close a quality event by a qualified person's signature (meaning "Investigation
    closed") with a conclusion and a note.

    Refused with nothing changed: not a qualified person (403), wrong password or one-time
    code (403, counted towards the lockout and logged
    in an entry of its own that stays), a conclusion the kind cannot have (400), the event not
    ready to close (409 with `blocking`). Call it outside a transaction.
    """
    if not (getattr(actor, "is_authenticated", False) and has_role(actor, QUALIFIED_PERSON)):
        raise NotAllowed("Only a qualified person can close a quality event.")
    deviation = Deviation.objects.filter(pk=deviation_id).first()
    if deviation is None:
        raise NotFound("No such quality event.")
    allowed = CONCLUSIONS[deviation.kind]
    if conclusion not in allowed:
        raise _bad(
            "conclusion",
            f"A {deviation.get_kind_display().lower()} is closed as: {', '.join(allowed)}.",
        )
    note = required_text(note, "note", "Give the conclusion in words.")
    require_signature(
        actor=actor,
        password=password,
        object_type=Deviation._meta.label_lower,
        object_id=deviation.pk,
        what="the closing of a quality event",
        changes={"conclusion": {"old": None, "new": conclusion}},
        otp_token=otp_token,
        request=request,
    )
    return _close(deviation_id=deviation.pk, actor=actor, conclusion=conclusion, note=note)


@transaction.atomic
def _close(*, deviation_id: int, actor: User, conclusion: str, note: str, at=None) -> Deviation:
    """Close after re-authentication. `at` backdates the signature: demo data only."""
    deviation = _lock(deviation_id)
    blocking = closing_blockers(deviation, conclusion)
    if blocking:
        raise StateConflict("The quality event cannot be closed yet.", blocking=blocking)
    # `closed_by_id`, not `closed_by`: the audit entry names the field as every other entry does.
    return transition(
        deviation,
        Deviation.Status.CLOSED,
        actor=actor,
        action=AuditAction.DEVIATION_CLOSED,
        reason=note,
        also={
            "closed_by_id": actor.pk,
            "closed_printed_name": printed_name(actor),
            "closed_at": at or timezone.now(),
            "closure_meaning": Deviation.CLOSING_MEANING,
            "conclusion": conclusion,
            "closure_note": note,
        },
    )
