"""Models of the foundation: the audit trail and its checkpoints, alerts and the outbox.

They belong to the radiopharmacy app (app label `radiopharmacy`, imported by its models package)
but live here so that the foundation imports no domain module.
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of the audit trail (SPEC §2.8, 21 CFR 11.10(e)).

    Written only by radiopharmacy.core.audit.record(), in the transaction of the change it
    describes.
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
    # HMAC-SHA256 of the entry's id and hash under settings.AUDIT_HMAC_KEY (kept out of the
    # database): recomputing the hashes after an edit cannot forge it.
    hmac = models.CharField(max_length=64, default="")

    class Meta:
        ordering = ["id"]
        # One per filter of the audit search (radiopharmacy/site/audit_trail.py), each ending
        # with the id the pages are read by (keyset, newest first); a batch search reads
        # (object_type, object_id), the period occurred_at.
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["object_type", "id"], name="auditevent_type_id_idx"),
            models.Index(fields=["username", "id"], name="auditevent_username_id_idx"),
            models.Index(fields=["action", "id"], name="auditevent_action_id_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.username} {self.action} {self.object_type}#{self.object_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the audit chain's head: entry id, number of entries, head hash.

    Written with the same content, one JSON line each, to files in AUDIT_CHECKPOINT_DIR, outside
    the database: those files are the authority `verify_audit` checks the chain against; this
    table is a copy for convenience. Append-only like the trail (triggers; the application's
    role may only INSERT and SELECT).
    """

    created_at = models.DateTimeField()
    last_entry_id = models.BigIntegerField()
    entry_count = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    hmac = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkpoint {self.created_at:%Y-%m-%d %H:%M:%S} at entry {self.last_entry_id}"


class Alert(models.Model):
    """Something a person must see (overdue test, expiring batch, generator warning).

    Raised by periodic jobs with a unique `key`, so a job that runs twice raises it once;
    dashboards show it until someone acknowledges it.
    """

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=60)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.WARNING)
    message = models.TextField()
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return self.message


class OutboxJob(models.Model):
    """A task to publish to Celery, written in the same transaction as the change that needs it.

    If the broker is down when the transaction commits, the row stays `pending` and the sweeper
    publishes it later: the change never fails for the broker, and the job is never lost. A job
    that has failed OUTBOX_MAX_ATTEMPTS times is `failed` until an administrator retries it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PUBLISHED = "published", "Published"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    task_name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, unique=True)  # one job per purpose, e.g. certificate:12
    kwargs = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(
        default=0,
        help_text="Failed attempts: the broker refused it, the task raised, or it never finished.",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task_name} {self.key} ({self.status})"


class AuditReview(models.Model):
    """A signed review of the audit trail over a period (SPEC §2.8, EU GMP Annex 11 §9).

    Written only by radiopharmacy.core.audit_review.audit_review_sign, after the reviewer's
    re-authentication. It states what was seen: how many entries of the period the review
    lists, and the id and hash of the last of them, so an entry added to the period afterwards
    (or a changed one) is told apart from the reviewed trail.
    """

    period_start = models.DateTimeField()  # UTC, included
    period_end = models.DateTimeField()  # UTC, excluded
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=60)
    note = models.TextField(blank=True)
    signed_at = models.DateTimeField()  # UTC
    entry_count = models.PositiveIntegerField()
    last_entry_id = models.BigIntegerField(null=True, blank=True)
    last_entry_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-period_end", "-id"]

    def __str__(self) -> str:
        return f"audit review {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"
