"""Bookings, doses and the per-batch volume allocation (SPEC §2.6).

Derived numbers (activity and volume to draw, activity at injection, administered activity) are
computed by `scheduling.services` and stored when the record is written, so a record shows what
the radiopharmacist saw at the time.
"""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from scheduling.choices import BookingStatus, DoseStatus, PlannedRunStatus, PlanStatus

# Pseudonymous references only (SPEC §2.6: no names): letters, digits and dashes, no spaces, and
# at least one digit, so "P-20261124-03" or "MRN4471" pass and "Smith" or "Jan Jansen" do not.
PATIENT_REF_PATTERN = r"^(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9][A-Za-z0-9-]{1,39}$"
PATIENT_REF_MESSAGE = (
    "Use the pseudonymous patient reference (letters, digits and dashes, at least one digit, "
    "no spaces, at most 40 characters), never a name."
)
patient_ref_validator = RegexValidator(PATIENT_REF_PATTERN, PATIENT_REF_MESSAGE)

# Plausible adult/paediatric weights; anything outside is a typing mistake (grams, pounds).
MIN_WEIGHT_KG = 1.0
MAX_WEIGHT_KG = 350.0


class Booking(models.Model):
    """A patient's appointment for an injection, with the prescribed activity."""

    patient_ref = models.CharField(max_length=40, validators=[patient_ref_validator])
    product = models.ForeignKey(
        "radiopharmacy.Product", on_delete=models.PROTECT, related_name="bookings"
    )
    weight_kg = models.FloatField(
        validators=[MinValueValidator(MIN_WEIGHT_KG), MaxValueValidator(MAX_WEIGHT_KG)]
    )
    injection_at = models.DateTimeField()
    prescribed_activity_mbq = models.FloatField(validators=[MinValueValidator(0.001)])
    tolerance_percent = models.FloatField(validators=[MinValueValidator(0.0)])
    status = models.CharField(
        max_length=20, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    status_reason = models.TextField(blank=True)  # why cancelled, missed or rescheduled
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["injection_at", "id"]
        indexes = [models.Index(fields=["injection_at"]), models.Index(fields=["status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gte=MIN_WEIGHT_KG) & Q(weight_kg__lte=MAX_WEIGHT_KG),
                name="booking_weight_plausible",
            ),
            models.CheckConstraint(
                condition=Q(prescribed_activity_mbq__gt=0), name="booking_activity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_ref} at {self.injection_at:%Y-%m-%d %H:%M}"

    @property
    def active_dose(self):
        """The booking's dose that is not cancelled, or None (uses a prefetch when present)."""
        prefetched = getattr(self, "active_doses", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.doses.exclude(status=DoseStatus.CANCELLED).first()


class Dose(models.Model):
    """A booking's syringe drawn from a batch: planned, measured, administered."""

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="doses")
    batch = models.ForeignKey("radiopharmacy.Batch", on_delete=models.PROTECT, related_name="doses")
    status = models.CharField(
        max_length=20, choices=DoseStatus.choices, default=DoseStatus.ASSIGNED
    )

    # Plan: what to draw at draw_at so that the prescribed activity is there at injection.
    draw_at = models.DateTimeField()
    activity_at_injection_planned_mbq = models.FloatField()  # the prescription, copied
    activity_to_draw_mbq = models.FloatField()
    concentration_at_draw_mbq_per_ml = models.FloatField()
    volume_to_draw_ml = models.FloatField()
    # Volume held in the batch's BatchAllocation, in whole microlitres (rounded up) so that
    # adding and releasing it is exact. Zero once released by a cancellation before drawing.
    allocated_volume_ul = models.PositiveIntegerField()

    # Dose calibrator reading of the syringe.
    measured_activity_mbq = models.FloatField(null=True, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)
    activity_at_injection_mbq = models.FloatField(null=True, blank=True)
    deviation_percent = models.FloatField(null=True, blank=True)
    within_tolerance = models.BooleanField(null=True, blank=True)

    # Administration.
    injected_at = models.DateTimeField(null=True, blank=True)
    residual_activity_mbq = models.FloatField(null=True, blank=True)
    residual_measured_at = models.DateTimeField(null=True, blank=True)
    administered_activity_mbq = models.FloatField(null=True, blank=True)

    cancel_reason = models.TextField(blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dispensed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draw_at", "id"]
        indexes = [models.Index(fields=["draw_at"])]
        constraints = [
            # One live dose per booking; cancelled ones stay for the record.
            models.UniqueConstraint(
                fields=["booking"],
                condition=~Q(status=DoseStatus.CANCELLED),
                name="one_active_dose_per_booking",
            ),
            models.CheckConstraint(
                condition=Q(volume_to_draw_ml__gt=0), name="dose_volume_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Dose {self.pk} for {self.booking.patient_ref}"


class BatchAllocation(models.Model):
    """How much of a batch's volume is promised to doses: the database-level over-allocation guard.

    Race: two radiopharmacists assigning from the same batch at once. The service locks the batch
    row, and additionally increments `allocated_volume_ul` with a conditional UPDATE that only
    matches while the result stays within `total_volume_ul`; the CHECK constraint makes an
    over-allocation impossible even for a write that bypasses the service.
    """

    batch = models.OneToOneField(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="allocation"
    )
    total_volume_ul = models.PositiveIntegerField()
    allocated_volume_ul = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(allocated_volume_ul__lte=F("total_volume_ul")),
                name="batch_allocation_within_total",
            ),
            models.CheckConstraint(
                condition=Q(allocated_volume_ul__gte=0), name="batch_allocation_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.allocated_volume_ul} of {self.total_volume_ul} µL of batch {self.batch_id}"

    @property
    def remaining_volume_ul(self) -> int:
        return self.total_volume_ul - self.allocated_volume_ul


# --- Production plans -----------------------------------------------------------------------


class PlanSettings(models.Model):
    """The site's plan settings (SPEC §2.7), one row, edited by the administrator in the admin
    (every change audited). The shelf life comes from the product, the expected yield from the
    released batches (the site's default yield when there are none)."""

    synthesis_duration_min = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    qc_duration_min = models.PositiveIntegerField(default=25, validators=[MaxValueValidator(240)])
    draw_lead_time_min = models.PositiveIntegerField(
        default=10, validators=[MaxValueValidator(120)]
    )
    grid_min = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    earliest_elution = models.TimeField(default=time(6, 0))
    working_end = models.TimeField(default=time(17, 0))
    synthesis_modules = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    module_turnaround_min = models.PositiveIntegerField(
        default=10, validators=[MaxValueValidator(240)]
    )
    max_syntheses = models.PositiveIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    confidence = models.FloatField(
        default=0.90,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text="Each run is planned for the activity reached with this probability.",
    )
    time_budget_s = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.5)],
        help_text="CPU seconds the planner may search before it returns its best plan so far.",
    )

    class Meta:
        verbose_name_plural = "plan settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest_elution__lt=F("working_end")),
                name="plan_settings_day_in_order",
            ),
        ]

    def __str__(self) -> str:
        return "Plan settings"

    @classmethod
    def current(cls) -> "PlanSettings":
        """The stored settings, or the defaults (unsaved: reading writes nothing unaudited)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class ProductionPlan(models.Model):
    """One computed plan of a day's synthesis runs for a generator (SPEC §2.7).

    `inputs` holds exactly what the planner was given (column state, bookings, parameters and
    where each number came from), `result` what it returned (`Plan.to_dict()`), so a saved plan
    explains its numbers and can be checked again later. A draft is accepted (creating its
    PlannedRuns) or superseded by a newer plan; an accepted plan whose bookings changed is
    `stale` until a newer plan is accepted.
    """

    date = models.DateField()  # the day in the site's zone
    generator = models.ForeignKey(
        "radiopharmacy.Generator", on_delete=models.PROTECT, related_name="production_plans"
    )
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    stale = models.BooleanField(default=False)  # bookings changed after it was computed
    trigger = models.CharField(max_length=200, blank=True)  # outbox key of a recompute
    # A what-if plan: plan settings overridden for it only (`parameters`); never accepted.
    what_if = models.BooleanField(default=False)
    parameters = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField()
    result = models.JSONField()
    created_by = models.ForeignKey(  # null: computed by the system after a booking change
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="superseded_plans",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["date", "generator", "status"])]
        constraints = [
            # Race: two schedulers accepting two drafts of the same day at once.
            models.UniqueConstraint(
                fields=["date", "generator"],
                condition=Q(status=PlanStatus.ACCEPTED),
                name="one_accepted_plan_per_day_and_generator",
            ),
            # A recompute task delivered twice makes one plan.
            models.UniqueConstraint(
                fields=["trigger"], condition=~Q(trigger=""), name="plan_trigger_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk} for {self.date:%Y-%m-%d} ({self.get_status_display()})"


class PlannedRun(models.Model):
    """A planned batch of an accepted plan: when to elute, EOS, release, what it should give.

    A real Batch exists only once the radiopharmacist records the synthesis; `batch` links it.
    """

    plan = models.ForeignKey(ProductionPlan, on_delete=models.PROTECT, related_name="runs")
    sequence = models.PositiveIntegerField()  # 1, 2, ... in time order
    elution_at = models.DateTimeField()
    eos_at = models.DateTimeField()
    release_at = models.DateTimeField()
    expiry_at = models.DateTimeField()
    expected_activity_at_eos_mbq = models.FloatField()
    bookings = models.ManyToManyField(Booking, related_name="planned_runs", blank=True)
    doses = models.JSONField(default=list)  # the plan's doses of this run (SPEC §3 shape)
    status = models.CharField(
        max_length=20, choices=PlannedRunStatus.choices, default=PlannedRunStatus.PLANNED
    )
    batch = models.ForeignKey(
        "radiopharmacy.Batch",
        on_delete=models.PROTECT,
        related_name="planned_runs",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sequence"], name="planned_run_sequence")
        ]

    def __str__(self) -> str:
        return f"Run {self.sequence} of plan {self.plan_id} at {self.elution_at:%Y-%m-%d %H:%M}"


# --- Dose calibrator files (SPEC §2.11) -------------------------------------------------------


class DoseCalibratorFile(models.Model):
    """A dose calibrator's CSV export, kept byte for byte with its SHA-256 (the hash is in the
    audit entry), once the radiopharmacist has confirmed the measurements read from it."""

    filename = models.CharField(max_length=200)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.sha256[:12]})"


class DoseCalibratorReading(models.Model):
    """One line of a confirmed dose calibrator file and the record it measured: a syringe
    (dose) or a batch."""

    file = models.ForeignKey(DoseCalibratorFile, on_delete=models.PROTECT, related_name="readings")
    line = models.PositiveIntegerField()  # in the raw file, 1 = its first line
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, related_name="calibrator_readings", null=True, blank=True
    )
    batch = models.ForeignKey(
        "radiopharmacy.Batch",
        on_delete=models.PROTECT,
        related_name="calibrator_readings",
        null=True,
        blank=True,
    )
    calibrator = models.CharField(max_length=100)
    nuclide = models.CharField(max_length=20)
    activity_mbq = models.FloatField()
    measured_at = models.DateTimeField()

    class Meta:
        ordering = ["file", "line"]
        constraints = [
            models.UniqueConstraint(fields=["file", "line"], name="calibrator_reading_line"),
            models.CheckConstraint(
                condition=Q(dose__isnull=False) | Q(batch__isnull=False),
                name="calibrator_reading_measures_something",
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.line} of {self.file_id}: {self.activity_mbq:g} MBq"
