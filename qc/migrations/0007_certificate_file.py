"""Certificates stored as content-addressed files."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("qc", "0006_quality_review")]

    operations = []
