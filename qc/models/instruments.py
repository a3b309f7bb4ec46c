"""Raw instrument files attached to QC results (SPEC §2.11)."""

from django.conf import settings
from django.db import models


class RadioTlcFile(models.Model):
    """A radio-TLC scanner's report (CSV of peak regions with areas), kept byte for byte with
    its SHA-256 (in the audit entry), and the QC results computed from it."""

    batch = models.ForeignKey(
        "radiopharmacy.Batch", on_delete=models.PROTECT, related_name="radio_tlc_files"
    )
    filename = models.CharField(max_length=200)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField()
    results = models.ManyToManyField("qc.QcResult", related_name="radio_tlc_files")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch_id", "id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.sha256[:12]})"
