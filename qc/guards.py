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


def release_blockers(batch, *, at=None) -> list[str]:
    """Human sentences, one per reason the batch cannot be released at `at` (default now).

    Checks: status is QC pending; a specification is in force at EOS; every required release
    test applicable to the method has a result and the latest result of each passes; the batch
    has not expired; no open deviation blocks release.
    """
    at = at or timezone.now()
    blocking: list[str] = []
    if batch.status != BatchStatus.QC_PENDING:
        blocking.append(f"Batch is {BatchStatus(batch.status).label}, not QC pending")
    spec = spec_for_batch(batch)
    if spec is None:
        blocking.append("No QC specification is in force at the batch's end of synthesis")
    latest = latest_results(batch)
    for test in applicable_tests(spec, batch.method):
        if test.stage != QcStage.RELEASE:
            continue
        result: QcResult | None = latest.get(test.code)
        if result is None:
            if test.required:
                blocking.append(f"{test.name} result missing")
            continue
        if not result.passed:
            limit = limit_for(test, batch.product)
            blocking.append(failure_text(test.name, limit, result.value))
    if at >= batch.expires_at:
        blocking.append(f"Batch expired at {site_time(batch.expires_at)}")
    deviations = getattr(batch, "_prefetched_objects_cache", {}).get("deviations")
    if deviations is None:
        deviations = batch.deviations.all()
    for deviation in deviations:
        if deviation.status == Deviation.Status.OPEN and deviation.blocks_release:
            first_line = deviation.description.splitlines()[0] if deviation.description else ""
            blocking.append(f"Open deviation ({deviation.get_kind_display()}): {first_line}")
    return blocking
