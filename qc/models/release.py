"""Release records: the qualified person's electronic signature and the release certificate.

A signature is permanently linked to the record it signs (21 CFR 11.70): it stores the canonical
JSON of the batch record at the moment of signing and its SHA-256, so the link can be checked
at any time and the certificate is rendered from exactly what was signed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from qc import certificate_files


class SignatureDecision(models.TextChoices):
    RELEASE = "release", "Release"
    REJECT = "reject", "Reject"
    RECALL = "recall", "Recall"
    LIFT_HOLD = "lift_hold", "Lift the hold"


# The meaning of each decision, printed wherever the signature is shown (21 CFR 11.50).
SIGNATURE_MEANINGS = {
    SignatureDecision.RELEASE: "Released for human use",
    SignatureDecision.REJECT: "Rejected",
    SignatureDecision.RECALL: "Recalled",
    SignatureDecision.LIFT_HOLD: "Hold lifted",
}


class BatchSignature(models.Model):
    """A qualified person's signature on a batch (SPEC §2.5, §2.4a): release or rejection, and
    after release a recall or the lifting of a hold. Never changed."""

    batch = models.ForeignKey(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="signatures"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=60)
    decision = models.CharField(max_length=10, choices=SignatureDecision.choices)
    comment = models.TextField(blank=True)
    signed_at = models.DateTimeField()  # UTC in the database
    record_sha256 = models.CharField(max_length=64, db_index=True)
    # The canonical JSON the hash was computed from (qc.services.release.canonical_batch_record).
    record_json = models.TextField()

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            # A batch is released or rejected once: two racing clicks cannot both sign.
            models.UniqueConstraint(
                fields=["batch"],
                condition=Q(decision__in=["release", "reject"]),
                name="one_disposition_signature_per_batch",
            )
        ]

    def __str__(self) -> str:
        return f"{self.meaning} by {self.printed_name} at {self.signed_at:%Y-%m-%d %H:%M} UTC"


class Certificate(models.Model):
    """The batch release certificate PDF, rendered once per release and stored with its hash."""

    batch = models.OneToOneField(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="certificate"
    )
    signature = models.OneToOneField(
        BatchSignature, on_delete=models.PROTECT, related_name="certificate"
    )
    certificate_number = models.CharField(max_length=80, unique=True)
    # The SHA-256 of the signed PDF, which is a file under MEDIA_ROOT at a path derived from it
    # (qc/certificate_files.py): no list or page query loads the bytes.
    sha256 = models.CharField(max_length=64, unique=True)
    rendered_at = models.DateTimeField()

    class Meta:
        ordering = ["-rendered_at", "-id"]

    def __str__(self) -> str:
        return self.certificate_number

    @property
    def pdf(self) -> bytes:
        """The signed PDF, read from its file and checked against the SHA-256."""
        return certificate_files.read(self.sha256)
