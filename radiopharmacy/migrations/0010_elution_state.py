"""The generator's column state stored with each elution."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0009_audit_indexes")]

    operations = []
