"""Elutions: an index for the API's list, newest first (a page without sorting the history)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0012_generator_acceptance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="elution",
            index=models.Index(fields=["eluted_at", "id"], name="elution_eluted_at_id"),
        ),
    ]
