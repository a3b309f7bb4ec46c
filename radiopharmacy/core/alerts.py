"""Alerts raised by periodic jobs and shown on dashboards until acknowledged."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import NotAllowed
from radiopharmacy.core.models import Alert
from radiopharmacy.core.roles import QUALIFIED_PERSON, has_role

# A held or recalled batch's alert (with its look-back list) stays on the dashboards until a
# qualified person, who decides about the batch, acknowledges it (SPEC §2.4).
BATCH_ON_HOLD, BATCH_RECALLED = "batch_on_hold", "batch_recalled"
QUALIFIED_PERSON_ACKNOWLEDGES = {BATCH_ON_HOLD, BATCH_RECALLED}


def alert_raise(
    *,
    key: str,
    kind: str,
    message: str,
    level: str = Alert.Level.WARNING,
    object_type: str = "",
    object_id: str = "",
) -> tuple[Alert, bool]:
    """Raise an alert once per key: a job that runs twice does not raise it twice."""
    existing = Alert.objects.filter(key=key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            return Alert.objects.create(
                key=key,
                kind=kind,
                level=level,
                message=message,
                object_type=object_type,
                object_id=object_id,
            ), True
    except IntegrityError:  # a concurrent run of the same job got there first
        return Alert.objects.get(key=key), False


@transaction.atomic
def alert_acknowledge(*, alert_id: int, actor: User) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert_id)
    if alert.kind in QUALIFIED_PERSON_ACKNOWLEDGES and not has_role(actor, QUALIFIED_PERSON):
        raise NotAllowed("A qualified person acknowledges this alert.")
    if alert.acknowledged_at is None:
        before = audit.snapshot(alert, ["acknowledged_at", "acknowledged_by_id"])
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit.record_change(
            actor=actor, action=AuditAction.ALERT_ACKNOWLEDGED, obj=alert, before=before
        )
    return alert


def open_alerts():
    return Alert.objects.filter(acknowledged_at__isnull=True).order_by("-raised_at")
