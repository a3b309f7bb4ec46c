"""Release and rejection of a batch by electronic signature (SPEC §2.5).

A signature (21 CFR 11.50/11.70/11.200) is given by a qualified person who re-enters their
password; it stores the printed full name, the UTC time, the meaning and the SHA-256 of the
canonical batch record it signs (the record itself is stored beside the hash, so the link can be
checked and the certificate shows exactly what was signed). The certificate
(`qc.services.certificates`) is rendered by a Celery task queued through the outbox, so a broker
outage delays it but never loses it and never breaks the release.
"""

import hashlib
import json
import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.guards import release_blockers
from qc.models import BatchSignature, SignatureDecision
from qc.models.release import SIGNATURE_MEANINGS
from qc.selectors import applicable_tests, limit_for, spec_for_batch
from qc.specs import fmt_value, limit_text
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import audit, outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, NotAllowed, StateConflict
from radiopharmacy.core.roles import QUALIFIED_PERSON, has_role
from radiopharmacy.core.signing import printed_name, require_signature
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch

logger = logging.getLogger("gallium")

RECORD_FORMAT = 2  # bump when the content of the canonical record changes
CERTIFICATE_TASK = "qc.render_certificate"
DISPOSITION_DECISIONS = (SignatureDecision.RELEASE, SignatureDecision.REJECT)


# --- The canonical batch record ---------------------------------------------------------------


def _person(user) -> dict:
    return {"id": user.pk, "username": user.get_username(), "name": printed_name(user)}


def batch_record(batch) -> dict:
    """The batch record as plain JSON values: batch fields, elutions with their generator, lots,
    the specification version, every release and post-release test with the result that counts
    and its limit, the full result history (corrections included) and deviations.

    The status is left out: the signature itself states the decision.
    """
    j = audit.jsonable
    batch = (
        Batch.objects.select_related("product", "operator")
        .prefetch_related("elutions__generator", "qc_results__analyst", "deviations")
        .get(pk=batch.pk)
    )
    product = batch.product
    spec = spec_for_batch(batch)
    results = sorted(batch.qc_results.all(), key=lambda r: r.pk)
    latest = {}
    for result in results:
        latest[result.test_code] = result

    def result_dict(r) -> dict:
        return {
            "id": r.pk,
            "test_code": r.test_code,
            "value": j(r.value),
            # a censored result is printed as entered: "< 2.0"
            "value_display": r.value_text
            or f"{r.value_qualifier} {fmt_value(r.value_number)}".lstrip(),
            "value_qualifier": r.value_qualifier,
            "unit": r.unit,
            "limit": r.limit_text,
            "passed": r.passed,
            "performed_at": j(r.performed_at),
            "analyst": _person(r.analyst),
            "instrument": r.instrument,
            "method_details": r.method_details,
            "supersedes": r.supersedes_id,
            "reason": r.reason,
        }

    tests = []
    for test in applicable_tests(spec, batch.method):
        counted = latest.get(test.code)
        tests.append(
            {
                "code": test.code,
                "name": test.name,
                "method": test.method,
                "unit": test.unit,
                "stage": test.stage,
                "required": test.required,
                "limit": limit_text(limit_for(test, product)),
                "result": counted.pk if counted else None,
            }
        )
    elutions = sorted(batch.elutions.all(), key=lambda e: (e.eluted_at, e.pk))
    return {
        "format": RECORD_FORMAT,
        "batch": {
            "id": batch.pk,
            "batch_number": batch.batch_number,
            "product": {"id": product.pk, "code": product.code, "name": product.name},
            "production_date": j(batch.production_date),
            "method": batch.method,
            "module_name": batch.module_name,
            "module_serial": batch.module_serial,
            "kit_lot": batch.kit_lot,
            "precursor_lot": batch.precursor_lot,
            "precursor_mass_ug": batch.precursor_mass_ug,
            "reagent_lots": j(batch.reagent_lots),
            "operator": _person(batch.operator),
            "started_at": j(batch.started_at),
            "eos_at": j(batch.eos_at),
            "activity_mbq": batch.activity_mbq,
            "measured_at": j(batch.measured_at),
            "volume_ml": batch.volume_ml,
            "activity_at_eos_mbq": batch.activity_at_eos_mbq,
            "concentration_at_eos_mbq_per_ml": batch.concentration_at_eos_mbq_per_ml,
            "expires_at": j(batch.expires_at),
            "yield_percent": batch.yield_percent,
            "yield_uncorrected_percent": batch.yield_uncorrected_percent,
        },
        "elutions": [
            {
                "id": e.pk,
                "generator": {
                    "id": e.generator.pk,
                    "manufacturer": e.generator.manufacturer,
                    "model": e.generator.model,
                    "serial_number": e.generator.serial_number,
                },
                "eluted_at": j(e.eluted_at),
                "activity_mbq": e.activity_mbq,
                "measured_at": j(e.measured_at),
                "activity_at_elution_mbq": e.activity_at_elution_mbq,
                "volume_ml": e.volume_ml,
                "eluent_lot": e.eluent_lot,
            }
            for e in elutions
        ],
        "specification": (
            {"id": spec.pk, "version": spec.version, "effective_from": j(spec.effective_from)}
            if spec
            else None
        ),
        "qc_tests": tests,
        "qc_results": [result_dict(r) for r in results],
        "deviations": [
            {
                "id": d.pk,
                "kind": d.kind,
                "status": d.status,
                "description": d.description,
                "opened_at": j(d.opened_at),
                "conclusion": d.conclusion,
                "closed_by": d.closed_printed_name,
                "closed_at": j(d.closed_at),
                "closure_meaning": d.closure_meaning,
                "closure_note": d.closure_note,
            }
            for d in sorted(batch.deviations.all(), key=lambda d: d.pk)
        ],
    }


def canonical_json(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_batch_record(batch) -> bytes:
    """The canonical JSON (UTF-8, sorted keys, no spaces) of the batch record a QP signs."""
    return canonical_json(batch_record(batch)).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Signing ----------------------------------------------------------------------------------

# What the audit entry of a signature lists (the record itself is stored beside its hash).
SIGNED_FIELDS = (
    "batch_id",
    "user_id",
    "printed_name",
    "meaning",
    "decision",
    "comment",
    "signed_at",
    "record_sha256",
)


def signed_changes(signature: BatchSignature) -> dict:
    return audit.diff({}, audit.snapshot(signature, SIGNED_FIELDS))


def sign_batch_record(batch, *, actor: User, decision: str, comment: str, at) -> BatchSignature:
    """Store the actor's signature of `decision` on the batch record as it is now, with its
    audit entry (in the caller's transaction, after re-authentication).

    The record leaves the status out (the signature states the decision), so it reads the same
    after the move.
    """
    record = canonical_batch_record(batch)
    signature = BatchSignature.objects.create(
        batch=batch,
        user=actor,
        printed_name=printed_name(actor),
        meaning=SIGNATURE_MEANINGS[decision],
        decision=decision,
        comment=comment,
        signed_at=at,
        record_sha256=sha256_hex(record),
        record_json=record.decode("utf-8"),
    )
    audit.record(
        actor=actor,
        action=AuditAction.SIGNED,
        obj=signature,
        changes=signed_changes(signature),
        reason=signature.comment,
    )
    return signature


def ensure_qualified_person(actor: User) -> None:
    if not (getattr(actor, "is_authenticated", False) and has_role(actor, QUALIFIED_PERSON)):
        raise NotAllowed("Only a qualified person can release or reject a batch.")


def batch_release(
    *,
    batch_id: int,
    actor: User,
    password: str,
    decision: str = "release",
    comment: str = "",
    otp_token: str = "",
    request=None,
) -> Batch:
    """Release or reject a batch with the actor's electronic signature.

    Refused with nothing changed: not a qualified person (403), wrong password (403, logged in
    the audit trail in an entry of its own that stays), the actor made the batch (403, four
    eyes), not releasable per `release_blockers` (409 with `blocking`). A rejection needs no
    passing QC. Repeating the same decision returns the batch with its existing signature.
    Call it outside a transaction: the failed re-authentication entry commits on its own.
    """
    if decision not in DISPOSITION_DECISIONS:
        raise ApplicationError(
            "Choose release or reject.", fields={"decision": ['"release" or "reject".']}
        )
    ensure_qualified_person(actor)
    require_signature(
        actor=actor,
        password=password,
        object_type=Batch._meta.label_lower,
        object_id=batch_id,
        what="a batch disposition",
        changes={"decision": {"old": None, "new": decision}},
        otp_token=otp_token,
        request=request,
    )
    return _batch_sign(batch_id=batch_id, actor=actor, decision=decision, comment=comment)


@transaction.atomic
def _batch_sign(*, batch_id: int, actor: User, decision: str, comment: str, at=None) -> Batch:
    """Sign after re-authentication. `at` backdates the signature: demo data only (the demo
    week's batches are signed when a QP would have signed them); the public service never
    passes it."""
    # Row lock: two qualified persons (or one double click) signing the same batch at once
    # would both find it unsigned and both sign. The lock makes the second wait and then find
    # the first signature; the unique constraint on the signature is the backstop.
    batch = Batch.objects.select_for_update().select_related("product", "operator").get(pk=batch_id)
    existing = (
        BatchSignature.objects.filter(batch=batch, decision__in=DISPOSITION_DECISIONS)
        .order_by("id")
        .first()
    )
    if existing is not None:
        if existing.decision == decision:
            return batch  # a repeated click: the batch with its one signature
        raise StateConflict(
            f"Batch {batch.batch_number} has already been signed: {existing.meaning}.",
            blocking=[f"{existing.meaning} by {existing.printed_name}"],
        )
    if batch.operator_id == actor.pk:
        raise NotAllowed(
            "You made this batch: another qualified person must sign it (four eyes).",
        )
    now = at or timezone.now()
    if decision == SignatureDecision.RELEASE:
        blocking = release_blockers(batch, at=now)
        if blocking:
            raise StateConflict(f"Batch {batch.batch_number} is not releasable.", blocking=blocking)
        target = BatchStatus.RELEASED
    else:
        target = BatchStatus.REJECTED
    signed_comment = (comment or "").strip()
    transition(
        batch,
        target,
        actor=actor,
        action=AuditAction.RELEASED if target == BatchStatus.RELEASED else AuditAction.REJECTED,
        reason=signed_comment,
    )
    signature = sign_batch_record(
        batch, actor=actor, decision=decision, comment=signed_comment, at=now
    )
    if target == BatchStatus.RELEASED:
        outbox.enqueue(
            task_name=CERTIFICATE_TASK,
            key=f"certificate:{signature.pk}",
            kwargs={"signature_id": signature.pk},
        )
    return batch
