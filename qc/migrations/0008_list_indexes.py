"""Quality events newest first on (opened_at, id): the register and the API's list read off the
index instead of sorting every event."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("qc", "0007_certificate_file"),
        ("radiopharmacy", "0013_list_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deviation",
            index=models.Index(fields=["opened_at", "id"], name="deviation_opened_at_id"),
        ),
    ]
