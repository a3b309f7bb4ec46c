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
from radiopharmacy.models import BreakthroughTest, SiteSettings
from radiopharmacy.services.elutions import batch_eluate_flags


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


def generators_breakthrough_passed(batches) -> set[int]:
    """Ids of the generators of `batches` that have passed a Ge-68 breakthrough test (one
    query, for a list of batches)."""
    ids = {e.generator_id for b in batches for e in b.elutions.all()}
    return set(
        BreakthroughTest.objects.filter(elution__generator_id__in=ids, passed=True)
        .values_list("elution__generator_id", flat=True)
        .distinct()
    )


def release_warnings(batch, *, site=None, breakthrough_passed: set[int] | None = None) -> list[str]:
    """What the qualified person should know but that does not block release (SPEC §2.2): a
    generator of the batch that has never passed a Ge-68 breakthrough test (the first result
    comes 48 h after the first elution), an eluate of low efficiency, an eluate corrected after
    the batch was made. For a list, pass `breakthrough_passed` (generators_breakthrough_passed).
    """
    site = site or SiteSettings.current()
    warnings: list[str] = []
    generators = {e.generator_id: e.generator for e in batch.elutions.all()}
    tested = (
        generators_breakthrough_passed([batch])
        if breakthrough_passed is None
        else breakthrough_passed
    )
    for generator_id, generator in generators.items():
        if generator_id not in tested:
            warnings.append(
                f"Generator {generator.serial_number} has no passed Ge-68 breakthrough result "
                "yet: the first comes 48 h after its first elution."
            )
    warnings += batch_eluate_flags(batch, min_efficiency_percent=site.min_efficiency_percent)
    return warnings
