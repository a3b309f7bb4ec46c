"""Why a batch cannot be released now, in the words a radiopharmacist uses (SPEC §2.5).

The release service refuses a release while this list is not empty; the release check endpoint
and the release page show it.
"""

from django.utils import timezone

from qc.models import Deviation, QcResult
from qc.models.specs import QcStage
from qc.selectors import applicable_tests, latest_results, limit_for, spec_for_batch
from qc.specs import failure_text
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.sitetime import site_time


def _invalidated_result_ids(events) -> set[int]:
    return {
        e.qc_result_id
        for e in events
        if e.qc_result_id and e.is_closed and e.conclusion == Deviation.Conclusion.INVALIDATED
    }


def _events(batch) -> list:
    events = getattr(batch, "_prefetched_objects_cache", {}).get("deviations")
    return list(events if events is not None else batch.deviations.all())


def result_blockers(batch, *, stages=(QcStage.RELEASE,), missing: bool = True) -> list[str]:
    """The tests of `stages` whose counting result does not pass, in words: missing (when
    `missing`), failing, or invalidated by a closed OOS with no valid result entered after it."""
    blocking: list[str] = []
    invalidated = _invalidated_result_ids(_events(batch))
    latest = latest_results(batch)
    for test in applicable_tests(spec_for_batch(batch), batch.method):
        if test.stage not in stages:
            continue
        result: QcResult | None = latest.get(test.code)
        if result is None:
            if missing and test.required:
                blocking.append(f"{test.name} result missing")
            continue
        if result.pk in invalidated:
            blocking.append(
                f"{test.name}: the result was invalidated by its OOS investigation; "
                "enter the valid result"
            )
        elif not result.passed:
            limit = limit_for(test, batch.product)
            blocking.append(failure_text(test.name, limit, result.typed_value))
    return blocking


def event_blockers(batch) -> list[str]:
    """Quality events of the batch that stop its release: any not closed, any confirmed."""
    blocking: list[str] = []
    for event in _events(batch):
        label = f"{event.get_kind_display()} #{event.pk}"
        if not event.is_closed:
            blocking.append(f"{label} is {event.get_status_display().lower()}: {event.first_line}")
        elif event.conclusion == Deviation.Conclusion.CONFIRMED:
            blocking.append(f"{label} was confirmed: the batch can only be rejected")
    return blocking


def release_blockers(batch, *, at=None) -> list[str]:
    """Human sentences, one per reason the batch cannot be released at `at` (default now).

    Checks: status is QC pending; a specification is in force at EOS; every required release
    test applicable to the method has a result and the one that counts passes (not one an OOS
    investigation invalidated); the batch has not expired; every quality event of the batch is
    closed and none was confirmed (SPEC §2.5).
    """
    at = at or timezone.now()
    blocking: list[str] = []
    if batch.status != BatchStatus.QC_PENDING:
        blocking.append(f"Batch is {BatchStatus(batch.status).label}, not QC pending")
    if spec_for_batch(batch) is None:
        blocking.append("No QC specification is in force at the batch's end of synthesis")
    blocking += result_blockers(batch)
    if at >= batch.expires_at:
        blocking.append(f"Batch expired at {site_time(batch.expires_at)}")
    blocking += event_blockers(batch)
    return blocking
