"""Alerts raised by periodic jobs and shown on dashboards until acknowledged."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from radiopharmacy.core.models import Alert


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


def alert_acknowledge(*, alert_id: int, actor: User) -> Alert:
    alert = Alert.objects.get(pk=alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def open_alerts():
    return Alert.objects.filter(acknowledged_at__isnull=True).order_by("-raised_at")
