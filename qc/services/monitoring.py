"""Periodic checks of QC deadlines and batch expiry; each raises its alert once (unique key)."""

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from qc.models import QcResult
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.models import Batch, BreakthroughTest, Elution

# 21 CFR 212.70(e): sterility testing may finish after release but must start within 30 h of EOS.
STERILITY_START_WITHIN = timedelta(hours=30)
# SPEC §5: Ge-68 breakthrough measured within 7 days of an elution used in a batch.
BREAKTHROUGH_WITHIN = timedelta(days=7)
EXPIRY_WARNING = timedelta(minutes=30)
# Older records are someone's investigation already; do not scan the whole history every run.
LOOKBACK = timedelta(days=60)


def check_sterility_overdue(*, now=None) -> int:
    """Released batches with no sterility result by EOS + 30 h. Returns alerts newly raised."""
    now = now or timezone.now()
    sterility = QcResult.objects.filter(batch=OuterRef("pk"), test_code="sterility")
    overdue = Batch.objects.filter(
        status=BatchStatus.RELEASED,
        eos_at__lte=now - STERILITY_START_WITHIN,
        eos_at__gte=now - LOOKBACK,
    ).exclude(Exists(sterility))
    raised = 0
    for batch in overdue:
        _, made = alert_raise(
            key=f"sterility-not-started:{batch.pk}",
            kind="sterility_overdue",
            message=f"Sterility test of batch {batch.batch_number} not started within 30 h of "
            f"EOS (due {site_time(batch.eos_at + STERILITY_START_WITHIN, '%d %b %H:%M %Z')}).",
            object_type="radiopharmacy.batch",
            object_id=str(batch.pk),
        )
        raised += made
    return raised


def check_breakthrough_overdue(*, now=None) -> int:
    """Elutions used in a batch with no Ge-68 breakthrough test 7 days after elution."""
    now = now or timezone.now()
    tested = BreakthroughTest.objects.filter(elution=OuterRef("pk"))
    overdue = (
        Elution.objects.filter(
            batches__isnull=False,
            eluted_at__lte=now - BREAKTHROUGH_WITHIN,
            eluted_at__gte=now - LOOKBACK,
        )
        .exclude(Exists(tested))
        .select_related("generator")
        .distinct()
    )
    raised = 0
    for elution in overdue:
        _, made = alert_raise(
            key=f"breakthrough-overdue:{elution.pk}",
            kind="breakthrough_overdue",
            message=f"Ge-68 breakthrough of the elution of "
            f"{site_time(elution.eluted_at, '%d %b %H:%M %Z')} "
            f"(generator {elution.generator.serial_number}) not measured within 7 days.",
            object_type="radiopharmacy.elution",
            object_id=str(elution.pk),
        )
        raised += made
    return raised


def check_batch_expiry(*, now=None) -> int:
    """Batches expiring within 30 min, and batches that expired without being released."""
    now = now or timezone.now()
    raised = 0
    soon = Batch.objects.filter(
        status__in=[BatchStatus.QC_PENDING, BatchStatus.RELEASED],
        expires_at__gt=now,
        expires_at__lte=now + EXPIRY_WARNING,
    )
    for batch in soon:
        _, made = alert_raise(
            key=f"batch-expiring:{batch.pk}",
            kind="batch_expiring",
            message=f"Batch {batch.batch_number} expires at {site_time(batch.expires_at)}"
            + (" and is not released yet." if batch.status == BatchStatus.QC_PENDING else "."),
            object_type="radiopharmacy.batch",
            object_id=str(batch.pk),
        )
        raised += made
    expired = Batch.objects.filter(
        status__in=[BatchStatus.IN_PRODUCTION, BatchStatus.QC_PENDING],
        expires_at__lte=now,
        expires_at__gte=now - LOOKBACK,
    )
    for batch in expired:
        _, made = alert_raise(
            key=f"batch-expired-unreleased:{batch.pk}",
            kind="batch_expired_unreleased",
            message=f"Batch {batch.batch_number} expired at {site_time(batch.expires_at)} "
            "without being released: reject it.",
            object_type="radiopharmacy.batch",
            object_id=str(batch.pk),
        )
        raised += made
    return raised
