"""Audit-trail reviews signed by an auditor or a qualified person."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0010_elution_state")]

    operations = []
