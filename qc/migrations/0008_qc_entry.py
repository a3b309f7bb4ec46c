"""QC entry: instrument and method remembered per analyst."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("qc", "0007_certificate_file")]

    operations = []
