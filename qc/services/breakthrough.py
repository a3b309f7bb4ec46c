"""Ge-68 breakthrough results (SPEC §2.2): a QC test of the generator's eluate, measured at least
48 h after the elution. A failure quarantines the generator and opens a release-blocking
deviation on every batch made from the elution.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qc.services.deviations import deviation_open
from qc.services.recall import batch_hold
from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.bounds import GE68_SAMPLE_ACTIVITY_MAX_KBQ
from radiopharmacy.core.checks import not_future, to_utc
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.status import transition
from radiopharmacy.models import Batch, BreakthroughTest, Elution, Generator


def _elution_chain_ids(elution: Elution) -> list[int]:
    """This elution and every earlier version it corrects (batches may point at any of them)."""
    ids = [elution.pk]
    current = elution
    while current.supersedes_id is not None:
        ids.append(current.supersedes_id)
        current = Elution.objects.only("id", "supersedes_id").get(pk=current.supersedes_id)
    return ids


@transaction.atomic
def breakthrough_record(
    *, actor: User, elution_id: int, ge68_activity_kbq: float, measured_at: datetime
) -> BreakthroughTest:
    """Record a Ge-68 breakthrough result for an elution, measured ≥ 48 h after it.

    A failure (over 0.001 %) quarantines the generator and opens an OOS on every batch made
    from the elution; a released one is put on hold with its look-back list.
    """
    elution = Elution.objects.select_related("generator").get(pk=elution_id)
    if Elution.objects.filter(supersedes=elution).exists():
        raise StateConflict(
            "This elution was corrected; record the breakthrough on its latest version.",
            blocking=["elution superseded"],
        )
    measured_at = to_utc(measured_at, "measured_at")
    if isinstance(ge68_activity_kbq, bool) or not isinstance(ge68_activity_kbq, int | float):
        raise ApplicationError(
            "Invalid activity.", fields={"ge68_activity_kbq": ["Enter a number."]}
        )
    if not math.isfinite(ge68_activity_kbq) or ge68_activity_kbq < 0:
        raise ApplicationError(
            "Invalid activity.",
            fields={"ge68_activity_kbq": ["The Ge-68 activity must be 0 kBq or more."]},
        )
    if ge68_activity_kbq > GE68_SAMPLE_ACTIVITY_MAX_KBQ:
        raise ApplicationError(
            "Implausible activity.",
            fields={
                "ge68_activity_kbq": [
                    f"{ge68_activity_kbq:g} kBq of Ge-68 in a retained sample cannot be right: at "
                    f"most {GE68_SAMPLE_ACTIVITY_MAX_KBQ:g} kBq. Check the unit."
                ]
            },
        )
    not_future(measured_at, "measured_at", "Measurement time", now=timezone.now())
    earliest = elution.eluted_at + physics.BREAKTHROUGH_MIN_DELAY
    if measured_at < earliest:
        hours = physics.elapsed_minutes(elution.eluted_at, measured_at) / 60.0
        raise ApplicationError(
            "Measured too early.",
            fields={
                "measured_at": [
                    "Ge-68 breakthrough must be measured at least 48 h after elution "
                    f"(not before {timezone.localtime(earliest):%Y-%m-%d %H:%M %Z}); "
                    f"this is {hours:.1f} h after."
                ]
            },
        )
    percent = physics.breakthrough_percent(
        ge68_activity_kbq=float(ge68_activity_kbq),
        measured_at=measured_at,
        eluted_at=elution.eluted_at,
        ga68_at_elution_mbq=elution.activity_at_elution_mbq,
    )
    test = BreakthroughTest.objects.create(
        elution=elution,
        ge68_activity_kbq=float(ge68_activity_kbq),
        measured_at=measured_at,
        breakthrough_percent=percent,
        limit_percent=physics.BREAKTHROUGH_LIMIT_PERCENT,
        passed=physics.breakthrough_passed(percent),
        performed_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.CREATED, obj=test, changes=audit.created(test))
    if not test.passed:
        _breakthrough_failed(actor=actor, elution=elution, test=test)
    return test


def _breakthrough_failed(*, actor: User, elution: Elution, test: BreakthroughTest) -> None:
    reason = (
        f"Ge-68 breakthrough {test.breakthrough_percent:.5f} % over the "
        f"{test.limit_percent:g} % limit (elution {elution.pk} of "
        f"{timezone.localtime(elution.eluted_at):%Y-%m-%d %H:%M %Z})"
    )
    generator = Generator.objects.select_for_update().get(pk=elution.generator_id)
    if generator.status == GeneratorStatus.IN_USE:
        transition(generator, GeneratorStatus.QUARANTINE, actor=actor, reason=reason)
    ids = Batch.objects.filter(elutions__in=_elution_chain_ids(elution)).values("id")
    for batch in Batch.objects.select_for_update().filter(id__in=ids).order_by("id"):
        if batch.status == BatchStatus.RELEASED:
            batch_hold(batch=batch, actor=actor, result=None, sentence=reason)
        else:
            deviation_open(batch=batch, kind="oos", description=reason, actor=actor)
