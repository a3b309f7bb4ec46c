"""Elutions: indexes on (eluted_at, id), newest first, for a generator's latest elution and the
API's list (read off the index instead of sorting the history)."""

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
