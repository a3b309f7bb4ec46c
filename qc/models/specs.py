"""Versioned, approved QC specifications (SPEC §2.4, REFERENCE §3)."""

from django.conf import settings
from django.db import models


class LimitKind(models.TextChoices):
    RANGE = "range", "Range"
    MIN = "min", "Minimum"
    MAX = "max", "Maximum"
    PASS_FAIL = "pass_fail", "Pass/fail"


class QcStage(models.TextChoices):
    RELEASE = "release", "Release"
    POST_RELEASE = "post_release", "Post-release"


class MethodScope(models.TextChoices):
    ALL = "", "All methods"
    AUTOMATED = "automated", "Automated module only"
    KIT = "kit", "Cold kit only"


class Specification(models.Model):
    """One approved version of a product's QC specification.

    A batch is judged against the version in force at its EOS: the latest `effective_from` that
    is not after `eos_at`.
    """

    product = models.ForeignKey(
        "radiopharmacy.Product", on_delete=models.PROTECT, related_name="specifications"
    )
    version = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["product_id", "-effective_from", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="spec_version_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.product} specification v{self.version}"


class EarliestFrom(models.TextChoices):
    EOS = "eos", "end of synthesis"
    ELUTION = "elution", "elution"


class SpecificationTest(models.Model):
    """One test of a specification with its limits."""

    spec = models.ForeignKey(Specification, on_delete=models.CASCADE, related_name="tests")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    method = models.CharField(max_length=120, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=10, choices=LimitKind.choices)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    # endotoxin "< 175/V" is strict; every other limit includes its boundary
    strict = models.BooleanField(default=False)
    stage = models.CharField(max_length=15, choices=QcStage.choices, default=QcStage.RELEASE)
    applies_to_method = models.CharField(
        max_length=12, choices=MethodScope.choices, blank=True, default=""
    )
    # limit ÷ V, V = product.max_volume_per_patient_ml (endotoxin 175/V, HEPES 200/V, peptide 50/V)
    limit_per_volume = models.BooleanField(default=False)
    required = models.BooleanField(default=True)
    # The earliest a result may be performed, in hours after the batch's EOS or its first
    # elution (Ge-68 breakthrough of the product: >= 48 h after EOS, the Ga-68 must decay first).
    earliest_after_h = models.FloatField(null=True, blank=True)
    earliest_from = models.CharField(
        max_length=10, choices=EarliestFrom.choices, blank=True, default=""
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["spec_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spec", "code", "applies_to_method"], name="spec_test_code_per_method"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def applies_to(self, method: str) -> bool:
        return not self.applies_to_method or self.applies_to_method == method
