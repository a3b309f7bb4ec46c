from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of the audit trail (SPEC §2.8, 21 CFR 11.10(e)).

    Written only by radiopharmacy.core.audit.record(), in the transaction of the change it describes.
    The database refuses UPDATE and DELETE on this table (triggers, see audit_sql.py).
    """

    occurred_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.username} {self.action} {self.object_type}#{self.object_id}"
