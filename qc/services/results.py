"""QC results: record, correct by superseding, judge against the specification (SPEC §2.4).

A failing release test opens an OOS that blocks release. A failing post-release test on a
released batch opens an OOS and puts the batch on hold at once (`qc.services.recall`), with the
look-back list of every dose of the batch; the qualified person then decides.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Subquery

from qc.models import Deviation, QcResult
from qc.models.specs import EarliestFrom, QcStage
from qc.selectors import applicable_tests, limit_for, spec_for_batch
from qc.services import trends
from qc.services.deviations import deviation_open
from qc.services.recall import batch_hold
from qc.specs import Censored, failure_text, limit_text, parse_value, passes
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import not_future, to_utc
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.models import Batch


def _bad(field: str, message: str, detail: str | None = None):
    return ApplicationError(detail or message, fields={field: [message]})


def _number_or_none(parsed) -> float | None:
    return parsed if isinstance(parsed, float) else None


def _hours(value: float) -> str:
    return f"{value:g} h"


def _check_earliest(batch: Batch, spec_test, performed_at: datetime) -> None:
    """A result is not performed before its batch started, nor before its test allows (Ge-68
    breakthrough of the product >= 48 h after EOS: the Ga-68 must have decayed)."""
    if batch.started_at and performed_at < batch.started_at:
        raise _bad(
            "performed_at",
            f"{site_time(performed_at)} is before the synthesis started "
            f"({site_time(batch.started_at)}).",
        )
    if spec_test.earliest_after_h is None:
        return
    if spec_test.earliest_from == EarliestFrom.ELUTION:
        elutions = list(batch.elutions.all())
        reference = min((e.eluted_at for e in elutions), default=batch.eos_at)
        words = "the elution"
    else:
        reference, words = batch.eos_at, "the end of synthesis"
    earliest = reference + timedelta(hours=spec_test.earliest_after_h)
    if performed_at < earliest:
        raise _bad(
            "performed_at",
            f"{spec_test.name} is performed at least {_hours(spec_test.earliest_after_h)} "
            f"after {words} ({site_time(reference)}), so not before {site_time(earliest)}.",
        )


@transaction.atomic
def qc_result_record(
    *,
    actor: User,
    batch_id: int,
    test: str,
    value,
    performed_at: datetime,
    unit: str | None = None,
    method_details: str | None = None,
    instrument: str | None = None,
    supersedes: int | QcResult | None = None,
    reason: str = "",
) -> QcResult:
    """Record a QC result; a second result of a test is a correction and needs a reason."""
    # Two analysts entering the same test at once would both supersede the same result.
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch_id)
    performed_at = to_utc(performed_at, "performed_at")
    not_future(performed_at, "performed_at", "The test")
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
    if (
        batch.status in (BatchStatus.RELEASED, BatchStatus.ON_HOLD)
        and spec_test.stage != QcStage.POST_RELEASE
    ):
        raise StateConflict(
            "The batch is released: only post-release results can be added.",
            blocking=[f"{spec_test.name} is a release test and the batch is released"],
        )
    _check_earliest(batch, spec_test, performed_at)
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

    if previous is not None:
        # A correction keeps how it was measured unless the correction says otherwise.
        method_details = previous.method_details if method_details is None else method_details
        instrument = previous.instrument if instrument is None else instrument
    passed = passes(limit, parsed)
    result = QcResult.objects.create(
        batch=batch,
        test_code=test,
        spec_test=spec_test,
        value_number=parsed.bound if isinstance(parsed, Censored) else _number_or_none(parsed),
        value_text=parsed if isinstance(parsed, str) else "",
        value_qualifier=parsed.qualifier if isinstance(parsed, Censored) else "",
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
    result.hold_doses = None
    if not passed:
        _on_failure(actor=actor, batch=batch, result=result, limit=limit, parsed=parsed)
    else:
        # Out of trend (SPEC §2.9): judge this result's metric and the batch's yield on their
        # control charts; a new violation opens one `oot` event, a correction of it none.
        trends.oot_check_batch(batch_id=batch.pk, actor=actor, test_code=test)
    return result


def _on_failure(*, actor: User, batch: Batch, result: QcResult, limit, parsed) -> None:
    spec_test = result.spec_test
    sentence = failure_text(spec_test.name, limit, parsed)
    if spec_test.stage == QcStage.POST_RELEASE and batch.status in (
        BatchStatus.RELEASED,
        BatchStatus.ON_HOLD,
    ):
        deviation = batch_hold(batch=batch, actor=actor, result=result, sentence=sentence)
        result.hold_doses = deviation.affected_doses
        return
    deviation_open(
        batch=batch,
        kind=Deviation.Kind.OOS,
        description=f"{sentence} (out of specification)",
        actor=actor,
        qc_result=result,
    )


def analyst_last_methods(*, analyst: User, test_codes) -> dict[str, dict[str, str]]:
    """The instrument and method details each test was last entered with by this analyst
    (any batch), to prefill the QC entry: a lab reuses the same HPLC or pH meter for weeks.
    Remembered from the results themselves, so nothing is stored twice (one query)."""
    last_ids = (
        QcResult.objects.filter(analyst=analyst, test_code__in=list(test_codes))
        .exclude(instrument="", method_details="")
        .values("test_code")
        .annotate(last_id=Max("id"))
        .values("last_id")
    )
    rows = QcResult.objects.filter(id__in=Subquery(last_ids)).values_list(
        "test_code", "instrument", "method_details"
    )
    return {
        code: {"instrument": instrument, "method_details": method_details}
        for code, instrument, method_details in rows
    }
