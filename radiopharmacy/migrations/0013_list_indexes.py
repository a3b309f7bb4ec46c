"""Indexes for lists newest first on (time, id): a generator's latest elution, the API's elutions,
the batch list and the release queue read off an index instead of sorting the history."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0012_generator_acceptance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="elution",
            name="radiopharma_generat_b47923_idx",
        ),
        migrations.AddIndex(
            model_name="batch",
            index=models.Index(fields=["eos_at", "id"], name="batch_eos_at_id"),
        ),
        migrations.AddIndex(
            model_name="batch",
            index=models.Index(fields=["status", "eos_at"], name="batch_status_eos_at"),
        ),
        migrations.AddIndex(
            model_name="elution",
            index=models.Index(
                fields=["generator", "eluted_at", "id"], name="elution_generator_latest"
            ),
        ),
        migrations.AddIndex(
            model_name="elution",
            index=models.Index(fields=["eluted_at", "id"], name="elution_eluted_at_id"),
        ),
    ]
