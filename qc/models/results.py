"""QC results (corrected by superseding) and quality events: OOS, deviations, their
investigations and CAPA (SPEC §2.4, §2.4a)."""

from django.conf import settings
from django.db import models

from qc.specs import Censored, fmt_value
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
    # "<" for a result below a detection or quantitation limit ("< 2.0"): value_number is x
    value_qualifier = models.CharField(max_length=1, blank=True, default="")
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
        """As typed and as the API returns it: a number, "pass"/"fail", or "< x"."""
        if self.value_text:
            return self.value_text
        if self.value_qualifier:
            return self.value_display
        return self.value_number

    @property
    def value_display(self) -> str:
        if self.value_text:
            return self.value_text
        if self.value_qualifier:
            return f"{self.value_qualifier} {fmt_value(self.value_number)}"
        return f"{self.value_number:g}"

    @property
    def typed_value(self):
        """The value as `qc.specs` judges it (a number, "pass"/"fail" or a Censored)."""
        if self.value_text:
            return self.value_text
        if self.value_qualifier:
            return Censored(self.value_number)
        return self.value_number


class Deviation(models.Model):
    """A quality event (SPEC §2.4a): an OOS, an out-of-trend result, a deviation or a complaint.

    open → investigating → closed; closing is a qualified person's electronic signature with a
    conclusion. The API and the pages call it a deviation, as the spec's `deviations/` does.
    """

    class Kind(models.TextChoices):
        OOS = "oos", "Out of specification"
        OOT = "oot", "Out of trend"
        DEVIATION = "deviation", "Deviation"
        COMPLAINT = "complaint", "Complaint"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        CLOSED = "closed", "Closed"

    class Conclusion(models.TextChoices):
        INVALIDATED = "invalidated", "Invalidated (assignable laboratory error)"
        CONFIRMED = "confirmed", "Confirmed (the batch fails)"
        NO_PRODUCT_IMPACT = "no_product_impact", "No product impact"

    CLOSING_MEANING = "Investigation closed"

    batch = models.ForeignKey(
        "radiopharmacy.Batch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deviations",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    # the closing signature: who, printed name, when (UTC), meaning, conclusion, note
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_printed_name = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_meaning = models.CharField(max_length=60, blank=True)
    conclusion = models.CharField(max_length=20, choices=Conclusion.choices, blank=True)
    closure_note = models.TextField(blank=True)
    qc_result = models.ForeignKey(
        QcResult, null=True, blank=True, on_delete=models.PROTECT, related_name="deviations"
    )
    # the look-back list when a released batch was put on hold: [{"dose", "booking", ...}]
    affected_doses = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            # the register and the API's list, newest first, without sorting every event
            models.Index(fields=["opened_at", "id"], name="deviation_opened_at_id"),
        ]

    def __str__(self) -> str:
        where = f"batch {self.batch.batch_number}" if self.batch_id else "no batch"
        return f"{self.get_kind_display()} #{self.pk} on {where} ({self.get_status_display()})"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def first_line(self) -> str:
        return self.description.splitlines()[0] if self.description else ""


class Investigation(models.Model):
    """One phase of an OOS investigation (FDA OOS guidance 2006, rev. 2022): phase 1 is the
    laboratory investigation, phase 2 the full-scale one (production, materials, equipment)."""

    class Phase(models.IntegerChoices):
        LABORATORY = 1, "Phase I: laboratory investigation"
        FULL_SCALE = 2, "Phase II: full-scale investigation"

    deviation = models.ForeignKey(
        Deviation, on_delete=models.PROTECT, related_name="investigations"
    )
    phase = models.PositiveSmallIntegerField(choices=Phase.choices)
    findings = models.TextField()
    # what caused it ("transcription error: 93 typed for 97.2"), empty when none was found
    assignable_cause = models.TextField(blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["deviation_id", "phase", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deviation", "phase"], name="one_record_per_phase")
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} of quality event {self.deviation_id}"


class Capa(models.Model):
    """A corrective or preventive action of a quality event. Completed and verified (the
    effectiveness check) by two different people."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        VERIFIED = "verified", "Verified"

    deviation = models.ForeignKey(Deviation, on_delete=models.PROTECT, related_name="capas")
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completion_note = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    effectiveness_check = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"CAPA {self.pk} of quality event {self.deviation_id} ({self.get_status_display()})"


# A closed quality event stays closed: a new finding is a new event.
register_transitions(
    Deviation.Status,
    {
        Deviation.Status.OPEN: {Deviation.Status.INVESTIGATING, Deviation.Status.CLOSED},
        Deviation.Status.INVESTIGATING: {Deviation.Status.CLOSED},
        Deviation.Status.CLOSED: set(),
    },
)
register_transitions(
    Capa.Status,
    {
        Capa.Status.OPEN: {Capa.Status.DONE},
        Capa.Status.DONE: {Capa.Status.VERIFIED},
        Capa.Status.VERIFIED: set(),
    },
)
