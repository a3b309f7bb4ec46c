"""A released batch that fails afterwards: hold at once, then the qualified person recalls or
lifts the hold by electronic signature (SPEC §2.3, §2.4, §2.4a).

A failing post-release test holds the batch in the transaction that records the result: from
then on no dose can be assigned, drawn, measured or administered from it (`scheduling.guards`),
and a critical alert with the look-back list (every dose of the batch) stays on the qualified
person's and the radiopharmacists' dashboards until a qualified person acknowledges it.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.guards import result_blockers
from qc.models import Deviation, QcResult, SignatureDecision
from qc.models.release import SIGNATURE_MEANINGS
from qc.models.specs import QcStage
from qc.services.deviations import deviation_open
from qc.services.release import ensure_qualified_person, sign_batch_record
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.alerts import BATCH_ON_HOLD, BATCH_RECALLED, alert_raise
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import required_text
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.models import Alert
from radiopharmacy.core.signing import require_signature
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch
from radiopharmacy.selectors.batches import doses_for_followup

RECALL_DECISIONS = (SignatureDecision.RECALL, SignatureDecision.LIFT_HOLD)
HOLD_ALERT, RECALL_ALERT = BATCH_ON_HOLD, BATCH_RECALLED  # acknowledged by a QP only

STATUS_WORDS = {
    "assigned": "assigned, not drawn",
    "dispensed": "drawn into a syringe, not administered",
    "administered": "administered",
    "cancelled": "cancelled",
}


def lookback(batch: Batch) -> list[dict]:
    """Every dose of the batch with where it went, for the look-back page, CSV and API."""
    rows = doses_for_followup(batch)
    for row in rows:
        row["whereabouts"] = STATUS_WORDS.get(row["status"], row["status"])
    return rows


def lookback_lines(rows: list[dict]) -> list[str]:
    """The look-back list in words, one line per dose (alert and quality event texts)."""
    if not rows:
        return ["No dose was assigned from this batch."]
    lines = [f"Doses of this batch ({len(rows)}):"]
    for row in rows:
        line = f"- dose {row['dose']}, patient {row['patient_ref']}: {row['whereabouts']}"
        if row["administered_activity_mbq"] is not None:
            line += f" ({row['administered_activity_mbq']:.1f} MBq at {row['administered_at']})"
        lines.append(line)
    return lines


def _raise_lookback_alert(*, batch: Batch, kind: str, headline: str, rows: list[dict]) -> Alert:
    alert, _ = alert_raise(
        key=f"{kind}:{batch.pk}",
        kind=kind,
        level=Alert.Level.CRITICAL,
        message="\n".join([headline, *lookback_lines(rows)]),
        object_type=Batch._meta.label_lower,
        object_id=str(batch.pk),
    )
    return alert


def batch_hold(
    *, batch: Batch, actor: User | None, result: QcResult | None, sentence: str
) -> Deviation:
    """Hold a released batch whose post-release test failed (`result`; None for its eluate's
    breakthrough) in the caller's transaction, with the batch row locked, and open the OOS with
    the look-back list. A batch already on hold gets the OOS only."""
    rows = lookback(batch)
    if batch.status == BatchStatus.RELEASED:
        transition(
            batch,
            BatchStatus.ON_HOLD,
            actor=actor,
            action=AuditAction.PUT_ON_HOLD,
            reason=f"Post-release test failed: {sentence}",
        )
    headline = (
        f"{sentence} (post-release). Batch {batch.batch_number} is on hold: no dose may be "
        "drawn or given from it until the qualified person decides."
    )
    deviation = deviation_open(
        batch=batch,
        kind=Deviation.Kind.OOS,
        description="\n".join([headline, *lookback_lines(rows)]),
        actor=actor,
        qc_result=result,
        affected_doses=rows,
    )
    _raise_lookback_alert(batch=batch, kind=HOLD_ALERT, headline=headline, rows=rows)
    return deviation


def lift_hold_blockers(batch: Batch) -> list[str]:
    """Why the hold on `batch` cannot be lifted, in words; empty when it can.

    Needs: every quality event of the batch closed, none `confirmed`, an OOS closed as
    `invalidated`, and no post-release result that still fails or was invalidated without a
    valid result after it.
    """
    blocking = []
    events = list(batch.deviations.all())
    for event in events:
        if not event.is_closed:
            blocking.append(f"{event.get_kind_display()} #{event.pk} is not closed")
        elif event.conclusion == Deviation.Conclusion.CONFIRMED:
            blocking.append(
                f"{event.get_kind_display()} #{event.pk} was confirmed: the batch can only "
                "be recalled"
            )
    if not any(
        e.kind == Deviation.Kind.OOS and e.conclusion == Deviation.Conclusion.INVALIDATED
        for e in events
    ):
        blocking.append("No OOS of the batch was closed as invalidated")
    blocking += result_blockers(batch, stages=(QcStage.POST_RELEASE,), missing=False)
    return blocking


def batch_recall(
    *,
    batch_id: int,
    actor: User,
    decision: str,
    reason: str,
    password: str,
    otp_token: str = "",
    request=None,
) -> Batch:
    """Recall a released or held batch, or lift its hold, with the qualified person's
    signature ("Recalled", "Hold lifted") and a reason.

    Refused with nothing changed: not a qualified person or wrong password (403, the failed
    re-authentication logged), the batch not in a state for it or the hold not liftable (409
    with `blocking`). Call it outside a transaction.
    """
    if decision not in RECALL_DECISIONS:
        raise ApplicationError(
            "Choose recall or lift_hold.", fields={"decision": ['"recall" or "lift_hold".']}
        )
    ensure_qualified_person(actor)
    reason = required_text(reason, "reason", "Give the reason for the decision.")
    require_signature(
        actor=actor,
        password=password,
        object_type=Batch._meta.label_lower,
        object_id=batch_id,
        what=f"a batch {SIGNATURE_MEANINGS[decision].lower()}",
        changes={"decision": {"old": None, "new": decision}},
        otp_token=otp_token,
        request=request,
    )
    return _recall_sign(batch_id=batch_id, actor=actor, decision=decision, reason=reason)


@transaction.atomic
def _recall_sign(*, batch_id: int, actor: User, decision: str, reason: str, at=None) -> Batch:
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch_id)
    if decision == SignatureDecision.RECALL:
        if batch.status not in (BatchStatus.RELEASED, BatchStatus.ON_HOLD):
            raise StateConflict(
                f"Batch {batch.batch_number} cannot be recalled.",
                blocking=[f"Batch is {batch.get_status_display().lower()}"],
            )
        target, action = BatchStatus.RECALLED, AuditAction.RECALLED
    else:
        if batch.status != BatchStatus.ON_HOLD:
            raise StateConflict(
                f"Batch {batch.batch_number} is not on hold.",
                blocking=[f"Batch is {batch.get_status_display().lower()}"],
            )
        blocking = lift_hold_blockers(batch)
        if blocking:
            raise StateConflict(
                f"The hold on batch {batch.batch_number} cannot be lifted.", blocking=blocking
            )
        target, action = BatchStatus.RELEASED, AuditAction.HOLD_LIFTED
    transition(batch, target, actor=actor, action=action, reason=reason)
    signature = sign_batch_record(
        batch, actor=actor, decision=decision, comment=reason, at=at or timezone.now()
    )
    if target == BatchStatus.RECALLED:
        headline = (
            f"Batch {batch.batch_number} recalled by {signature.printed_name} at "
            f"{site_time(signature.signed_at)}: {reason}"
        )
        _raise_lookback_alert(
            batch=batch, kind=RECALL_ALERT, headline=headline, rows=lookback(batch)
        )
    return batch
