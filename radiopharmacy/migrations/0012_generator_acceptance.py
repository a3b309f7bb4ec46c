"""Generators: quarantine on receipt, acceptance into use."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0011_audit_review")]

    operations = []
