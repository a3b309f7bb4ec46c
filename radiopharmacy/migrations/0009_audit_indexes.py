"""Audit trail: indexes for every filter the page and the API offer."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0008_drop_plaintext_api_tokens")]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["object_type", "id"], name="auditevent_type_id_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["username", "id"], name="auditevent_username_id_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "id"], name="auditevent_action_id_idx"),
        ),
    ]
