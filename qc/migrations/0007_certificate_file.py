"""Certificates stored as content-addressed files.

Each certificate PDF moves from its database column to MEDIA_ROOT/certificates/<2 hex>/<sha256>.pdf
(the path is derived from the SHA-256 the row keeps), then the column is dropped. The bytes are
checked against the stored hash first: a mismatch stops the migration rather than lose or
misfile a certificate. Backwards, the files are read back into the column.
"""

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def _path(sha256: str) -> Path:
    # as qc.certificate_files.relative_path (copied: a migration must not change with the app)
    return Path(settings.MEDIA_ROOT) / "certificates" / sha256[:2] / f"{sha256}.pdf"


def blobs_to_files(apps, schema_editor):
    Certificate = apps.get_model("qc", "Certificate")
    for certificate in Certificate.objects.order_by("pk").iterator(chunk_size=100):
        data = bytes(certificate.pdf)
        if hashlib.sha256(data).hexdigest() != certificate.sha256:
            raise RuntimeError(
                f"Certificate {certificate.pk}: the stored PDF does not match its SHA-256; "
                "the migration stops and changes nothing."
            )
        path = _path(certificate.sha256)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def files_to_blobs(apps, schema_editor):
    Certificate = apps.get_model("qc", "Certificate")
    for certificate in Certificate.objects.order_by("pk").iterator(chunk_size=100):
        certificate.pdf = _path(certificate.sha256).read_bytes()
        certificate.save(update_fields=["pdf"])


class Migration(migrations.Migration):
    dependencies = [("qc", "0006_quality_review")]

    # Nullable first: backwards, the column comes back empty, is filled from the files, and only
    # then is NOT NULL again.
    operations = [
        migrations.AlterField(
            model_name="certificate", name="pdf", field=models.BinaryField(null=True)
        ),
        migrations.RunPython(blobs_to_files, files_to_blobs),
        migrations.RemoveField(model_name="certificate", name="pdf"),
    ]
