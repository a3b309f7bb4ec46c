"""Audit-trail reviews signed by an auditor or a qualified person."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0010_elution_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditReview",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period_start", models.DateTimeField()),
                ("period_end", models.DateTimeField()),
                ("printed_name", models.CharField(max_length=200)),
                ("meaning", models.CharField(max_length=60)),
                ("note", models.TextField(blank=True)),
                ("signed_at", models.DateTimeField()),
                ("entry_count", models.PositiveIntegerField()),
                ("last_entry_id", models.BigIntegerField(blank=True, null=True)),
                ("last_entry_hash", models.CharField(blank=True, max_length=64)),
                (
                    "reviewer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-period_end", "-id"]},
        ),
    ]
