"""The batch-elution link becomes a model of its own, on the same table, with the volume of the
eluate a batch used (an eluate split between batches)."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0005_alter_batch_status"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="BatchElution",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "batch",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="radiopharmacy.batch",
                            ),
                        ),
                        (
                            "elution",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="radiopharmacy.elution",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "radiopharmacy_batch_elutions",
                        "unique_together": {("batch", "elution")},
                    },
                ),
                migrations.AlterField(
                    model_name="batch",
                    name="elutions",
                    field=models.ManyToManyField(
                        related_name="batches",
                        through="radiopharmacy.BatchElution",
                        to="radiopharmacy.elution",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="batchelution",
            name="volume_used_ml",
            field=models.FloatField(
                blank=True,
                null=True,
                validators=[django.core.validators.MinValueValidator(0.001)],
            ),
        ),
    ]
