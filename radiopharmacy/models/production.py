from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from radiopharmacy.choices import BatchStatus, GeneratorStatus, SynthesisMethod

POSITIVE = [MinValueValidator(0.0)]


class Product(models.Model):
    """A radiopharmaceutical the site makes, with its dosing rule and release parameters."""

    code = models.SlugField(max_length=30, unique=True)  # batch number prefix: GA68DOTATATE
    name = models.CharField(max_length=120)
    shelf_life_min = models.PositiveIntegerField(default=240)
    max_volume_per_patient_ml = models.FloatField(default=10.0, validators=POSITIVE)
    max_volume_per_dose_ml = models.FloatField(default=10.0, validators=POSITIVE)
    dose_per_kg_mbq = models.FloatField(default=2.0, validators=POSITIVE)
    max_dose_mbq = models.FloatField(default=200.0, validators=POSITIVE)
    dose_tolerance_percent = models.FloatField(default=10.0, validators=POSITIVE)

    def __str__(self) -> str:
        return self.name


class SiteSettings(models.Model):
    """Site parameters (one row): durations for planning, warning thresholds."""

    synthesis_duration_min = models.PositiveIntegerField(default=25)
    qc_duration_min = models.PositiveIntegerField(default=25)
    draw_lead_time_min = models.PositiveIntegerField(default=10)
    working_day_start = models.TimeField(default="07:00")
    working_day_end = models.TimeField(default="17:00")
    default_yield_percent = models.FloatField(default=80.0)
    min_efficiency_percent = models.FloatField(default=50.0)
    breakthrough_overdue_days = models.PositiveIntegerField(default=30)

    class Meta:
        verbose_name_plural = "site settings"

    def __str__(self) -> str:
        return "Site settings"

    @classmethod
    def current(cls) -> "SiteSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Generator(models.Model):
    """A Ge-68/Ga-68 generator (SPEC §2.2)."""

    manufacturer = models.CharField(max_length=120)
    model = models.CharField(max_length=120, blank=True)
    serial_number = models.CharField(max_length=80, unique=True)
    nominal_activity_mbq = models.FloatField(validators=POSITIVE)  # Ge-68 at calibrated_at
    calibrated_at = models.DateTimeField()
    received_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    max_elutions = models.PositiveIntegerField(null=True, blank=True)
    nominal_efficiency_percent = models.FloatField(default=65.0)
    # A new generator waits in quarantine for its receipt check (SPEC §2.2).
    status = models.CharField(
        max_length=20, choices=GeneratorStatus.choices, default=GeneratorStatus.QUARANTINE
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The receipt check that accepted it into use: who, when, and the note (SPEC §2.2).
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acceptance_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-calibrated_at", "id"]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model} {self.serial_number}".replace("  ", " ")

    @staticmethod
    def default_expiry(calibrated_at):
        """Calibration + 12 months (SPEC §2.2): the same date a year later, in the site's zone.

        29 February becomes 28 February. Computed on the local date so the expiry falls at the
        same wall-clock time; the result is aware and stored as UTC like every other time.
        """
        local = timezone.localtime(calibrated_at)
        try:
            later = local.replace(year=local.year + 1)
        except ValueError:  # 29 February
            later = local.replace(year=local.year + 1, day=28)
        return timezone.make_aware(later.replace(tzinfo=None), local.tzinfo)


class Elution(models.Model):
    """One elution of a generator, with its derived numbers stored when it is recorded.

    A correction is a new Elution that `supersedes` this one with a reason.
    """

    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="elutions")
    eluted_at = models.DateTimeField()
    activity_mbq = models.FloatField(validators=POSITIVE)  # as measured at measured_at
    measured_at = models.DateTimeField()
    volume_ml = models.FloatField(validators=POSITIVE)
    eluent_lot = models.CharField(max_length=80, blank=True)
    activity_at_elution_mbq = models.FloatField()  # decay-corrected to eluted_at
    predicted_on_column_mbq = models.FloatField()
    efficiency_percent = models.FloatField()
    # The generator's state right after this elution (physics.ElutionState), derived when it is
    # recorded and re-derived for it and every later one when the history before them changes
    # (services.elutions.elution_states_refresh): a prediction reads the latest elution instead
    # of replaying the history. Kept on a superseded elution as it was when it counted.
    column_residual_mbq = models.FloatField()  # R: Ga-68 left on the column
    efficiency_estimate_percent = models.FloatField()  # η: mean of the last 5 efficiencies
    elution_number = models.PositiveIntegerField()  # n-th current elution of the generator
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    correction_reason = models.TextField(blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-eluted_at", "-id"]
        # Newest first is (eluted_at, id) descending: with the id in the index, the latest elution
        # of a generator (its stored state) and a page of the API's list are read off the index
        # and stop at the first rows, instead of sorting the history.
        indexes = [
            models.Index(fields=["generator", "eluted_at", "id"], name="elution_generator_latest"),
            models.Index(fields=["eluted_at", "id"], name="elution_eluted_at_id"),
        ]

    def __str__(self) -> str:
        return f"Elution {self.pk} at {self.eluted_at:%Y-%m-%d %H:%M}"


class BreakthroughTest(models.Model):
    """Ge-68 breakthrough measured on a retained eluate sample ≥ 48 h after elution."""

    elution = models.ForeignKey(
        Elution, on_delete=models.PROTECT, related_name="breakthrough_tests"
    )
    ge68_activity_kbq = models.FloatField(validators=POSITIVE)
    measured_at = models.DateTimeField()
    breakthrough_percent = models.FloatField()
    limit_percent = models.FloatField()
    passed = models.BooleanField()
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-measured_at", "-id"]

    def __str__(self) -> str:
        return f"Breakthrough {self.breakthrough_percent:.5f} % for elution {self.elution_id}"


class Batch(models.Model):
    """A synthesis batch record (SPEC §2.3). Derived numbers are stored when it is recorded."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="batches")
    batch_number = models.CharField(max_length=60, unique=True)
    production_date = models.DateField()  # in the site's zone: the date in the batch number
    sequence = models.PositiveIntegerField()
    elutions = models.ManyToManyField(Elution, related_name="batches", through="BatchElution")
    method = models.CharField(max_length=12, choices=SynthesisMethod.choices)
    module_name = models.CharField(max_length=120, blank=True)
    module_serial = models.CharField(max_length=80, blank=True)
    kit_lot = models.CharField(max_length=80, blank=True)
    precursor_lot = models.CharField(max_length=80, blank=True)
    precursor_mass_ug = models.FloatField(null=True, blank=True, validators=POSITIVE)
    reagent_lots = models.JSONField(default=list, blank=True)  # [{"name", "lot"}]
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    eos_at = models.DateTimeField()
    activity_mbq = models.FloatField(validators=POSITIVE)
    measured_at = models.DateTimeField()
    volume_ml = models.FloatField(validators=[MinValueValidator(0.001)])
    activity_at_eos_mbq = models.FloatField()
    concentration_at_eos_mbq_per_ml = models.FloatField()
    expires_at = models.DateTimeField()
    yield_percent = models.FloatField(null=True, blank=True)
    yield_uncorrected_percent = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=BatchStatus.choices, default=BatchStatus.QC_PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-eos_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "production_date", "sequence"], name="batch_sequence_per_day"
            ),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="batch_volume_positive"),
        ]
        # Lists are newest EOS first, the release queue and the registers by status: read off
        # these instead of sorting or scanning every batch ever made.
        indexes = [
            models.Index(fields=["eos_at", "id"], name="batch_eos_at_id"),
            models.Index(fields=["status", "eos_at"], name="batch_status_eos_at"),
        ]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return self.batch_number


class BatchElution(models.Model):
    """An eluate used by a batch. An eluate feeds one batch, unless it is split explicitly: each
    batch then states the volume it used, and the volumes add up to at most the eluate's."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE)
    elution = models.ForeignKey(Elution, on_delete=models.CASCADE)
    volume_used_ml = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.001)]
    )  # None: the whole eluate

    class Meta:
        db_table = "radiopharmacy_batch_elutions"  # the table of the former plain many-to-many
        unique_together = [("batch", "elution")]

    def __str__(self) -> str:
        return f"Elution {self.elution_id} in batch {self.batch_id}"
