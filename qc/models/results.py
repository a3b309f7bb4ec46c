"""QC results (corrected by superseding) and deviations/OOS records (SPEC §2.4)."""

from django.conf import settings
from django.db import models

from radiopharmacy.core.status import register_transitions


class QcResult(models.Model):
    """One measured result of a test on a batch. The latest result of a test counts.

    A correction is a new result that `supersedes` the previous latest one, with a reason.
    """

    batch = models.ForeignKey(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="qc_results"
    )
    test_code = models.SlugField(max_length=40)
    spec_test = models.ForeignKey(
        "qc.SpecificationTest", on_delete=models.PROTECT, related_name="results"
    )
    value_number = models.FloatField(null=True, blank=True)
    value_text = models.CharField(max_length=10, blank=True)  # "pass" | "fail"
    unit = models.CharField(max_length=20, blank=True)
    method_details = models.TextField(blank=True)
    instrument = models.CharField(max_length=120, blank=True)
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField()
    passed = models.BooleanField()
    limit_text = models.CharField(max_length=120)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch_id", "id"]
        indexes = [models.Index(fields=["batch", "test_code"])]

    def __str__(self) -> str:
        return f"{self.test_code} = {self.value_display} ({'pass' if self.passed else 'fail'})"

    @property
    def value(self):
        return self.value_text if self.value_text else self.value_number

    @property
    def value_display(self) -> str:
        if self.value_text:
            return self.value_text
        return f"{self.value_number:g}"


class Deviation(models.Model):
    """A deviation on a batch: out-of-specification result, breakthrough failure, other."""

    class Kind(models.TextChoices):
        OOS = "oos", "Out of specification"
        BREAKTHROUGH = "breakthrough", "Ge-68 breakthrough"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    batch = models.ForeignKey(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="deviations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    blocks_release = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_note = models.TextField(blank=True)
    qc_result = models.ForeignKey(
        QcResult, null=True, blank=True, on_delete=models.PROTECT, related_name="deviations"
    )
    # a recall lists every dose drawn from the batch for follow-up: [{"dose", "booking", ...}]
    affected_doses = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on batch {self.batch_id} ({self.status})"


# A closed deviation stays closed: a new finding is a new deviation.
register_transitions(
    Deviation.Status,
    {Deviation.Status.OPEN: {Deviation.Status.CLOSED}, Deviation.Status.CLOSED: set()},
)
