"""Generators: quarantine on receipt, acceptance into use."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def accept_generators_already_in_use(apps, schema_editor):
    """Generators registered before the receipt check was recorded were put in use at once:
    mark them accepted at their reception so their elutions stay usable."""
    Generator = apps.get_model("radiopharmacy", "Generator")
    for generator in Generator.objects.exclude(status="quarantine").filter(accepted_at=None):
        generator.accepted_at = generator.received_at
        generator.accepted_by_id = generator.registered_by_id
        generator.acceptance_note = "In use before the receipt check was recorded in Gallium."
        generator.save(update_fields=["accepted_at", "accepted_by", "acceptance_note"])


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0011_audit_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="generator",
            name="acceptance_note",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="generator",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generator",
            name="accepted_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="generator",
            name="status",
            field=models.CharField(
                choices=[
                    ("quarantine", "Quarantine"),
                    ("in_use", "In use"),
                    ("retired", "Retired"),
                ],
                default="quarantine",
                max_length=20,
            ),
        ),
        migrations.RunPython(accept_generators_already_in_use, migrations.RunPython.noop),
    ]
