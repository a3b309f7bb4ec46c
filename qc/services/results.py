"""QC results: record, correct by superseding, judge against the specification (SPEC §2.4).

A failing release test opens an OOS that blocks release. A failing post-release test on a
released batch opens an OOS and recalls the batch, listing every dose drawn from it.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from qc.models import Deviation, QcResult
from qc.models.specs import QcStage
from qc.selectors import applicable_tests, limit_for, spec_for_batch
from qc.services.deviations import deviation_open
from qc.specs import failure_text, limit_text, parse_value, passes
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import require_aware
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch
from radiopharmacy.selectors.batches import doses_for_followup


def _bad(field: str, message: str, detail: str | None = None):
    return ApplicationError(detail or message, fields={field: [message]})


@transaction.atomic
def qc_result_record(
    *,
    actor: User,
    batch_id: int,
    test: str,
    value,
    performed_at: datetime,
    unit: str | None = None,
    method_details: str = "",
    instrument: str = "",
    supersedes: int | QcResult | None = None,
    reason: str = "",
) -> QcResult:
    """Record a QC result; a second result of a test is a correction and needs a reason."""
    # Two analysts entering the same test at once would both supersede the same result.
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch_id)
    require_aware(performed_at, "performed_at")
    spec = spec_for_batch(batch)
    spec_test = next((t for t in applicable_tests(spec, batch.method) if t.code == test), None)
    if spec_test is None:
        known = ", ".join(sorted({t.code for t in applicable_tests(spec, batch.method)}))
        raise _bad("test", f"Unknown test {test!r} for this batch's specification ({known}).")
    if batch.status in (BatchStatus.REJECTED, BatchStatus.RECALLED):
        raise StateConflict(
            "The batch record is frozen.",
            blocking=[f"Batch is {BatchStatus(batch.status).label}; its record is frozen"],
        )
    if batch.status == BatchStatus.RELEASED and spec_test.stage != QcStage.POST_RELEASE:
        raise StateConflict(
            "The batch is released: only post-release results can be added.",
            blocking=[f"{spec_test.name} is a release test and the batch is released"],
        )
    limit = limit_for(spec_test, batch.product)
    try:
        parsed = parse_value(limit, value)
    except ValueError as exc:
        raise _bad("value", str(exc)) from None
    if unit not in (None, "") and unit.strip() != spec_test.unit:
        raise _bad("unit", f"Give the value in {spec_test.unit or 'no unit'}.")

    previous = (
        QcResult.objects.filter(batch=batch, test_code=test, superseded_by__isnull=True)
        .order_by("-id")
        .first()
    )
    supersedes_id = supersedes.pk if isinstance(supersedes, QcResult) else supersedes
    if supersedes_id is not None:
        try:
            supersedes_id = int(supersedes_id)
        except (TypeError, ValueError):
            raise _bad("supersedes", "Not a result id.") from None
        if previous is None or previous.pk != supersedes_id:
            raise _bad(
                "supersedes",
                "A correction replaces the latest result of the same test on this batch.",
            )
    if previous is not None and not (reason or "").strip():
        raise _bad(
            "reason",
            f"{spec_test.name} already has a result; a correction needs a reason.",
        )

    passed = passes(limit, parsed)
    result = QcResult.objects.create(
        batch=batch,
        test_code=test,
        spec_test=spec_test,
        value_number=parsed if isinstance(parsed, float) else None,
        value_text=parsed if isinstance(parsed, str) else "",
        unit=spec_test.unit,
        method_details=method_details or "",
        instrument=instrument or "",
        analyst=actor,
        performed_at=performed_at,
        passed=passed,
        limit_text=limit_text(limit),
        supersedes=previous,
        reason=(reason or "").strip(),
    )
    audit.record(
        actor=actor,
        action=AuditAction.CORRECTED if previous else "created",
        obj=result,
        changes=audit.created(result),
        reason=result.reason,
    )
    result.recall_doses = None
    if not passed:
        _on_failure(actor=actor, batch=batch, result=result, limit=limit, parsed=parsed)
    return result


def _on_failure(*, actor: User, batch: Batch, result: QcResult, limit, parsed) -> None:
    spec_test = result.spec_test
    sentence = failure_text(spec_test.name, limit, parsed)
    if spec_test.stage == QcStage.POST_RELEASE and batch.status == BatchStatus.RELEASED:
        doses = doses_for_followup(batch)
        transition(
            batch,
            BatchStatus.RECALLED,
            actor=actor,
            action=AuditAction.RECALLED,
            reason=f"Post-release test failed: {sentence}",
        )
        lines = [f"{sentence} (post-release). Batch {batch.batch_number} recalled."]
        if doses:
            lines.append(f"Doses drawn from this batch for follow-up ({len(doses)}):")
            lines += [
                f"- dose {d['dose']}, booking {d['booking']} {d['patient_ref']}".rstrip()
                + f", {d['status']}"
                for d in doses
            ]
        else:
            lines.append("No doses were drawn from this batch.")
        deviation_open(
            batch=batch,
            kind=Deviation.Kind.OOS,
            description="\n".join(lines),
            actor=actor,
            blocks_release=True,
            qc_result=result,
            affected_doses=doses,
        )
        result.recall_doses = doses
        return
    deviation_open(
        batch=batch,
        kind=Deviation.Kind.OOS,
        description=f"{sentence} (out of specification)",
        actor=actor,
        blocks_release=True,
        qc_result=result,
    )
