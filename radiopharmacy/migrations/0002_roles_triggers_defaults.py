"""Roles as groups, the audit table's append-only triggers, the default product and settings."""

from django.db import migrations

from radiopharmacy.core import audit_sql
from radiopharmacy.core.roles import ALL_ROLES


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)


def install_triggers(apps, schema_editor):
    audit_sql.apply(schema_editor.connection, install=True)


def drop_triggers(apps, schema_editor):
    audit_sql.apply(schema_editor.connection, install=False)


def create_defaults(apps, schema_editor):
    Product = apps.get_model("radiopharmacy", "Product")
    SiteSettings = apps.get_model("radiopharmacy", "SiteSettings")
    Product.objects.get_or_create(
        code="GA68DOTATATE", defaults={"name": "Ga-68 DOTATATE injection"}
    )
    SiteSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, drop_triggers),
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
