"""Audit anchoring: an HMAC on every audit entry, the checkpoint table (append-only like the
trail), and on PostgreSQL the application role's rights (INSERT and SELECT only on both)."""

from django.conf import settings
from django.db import migrations, models

from radiopharmacy.core import audit_sql


def sign_existing_entries(apps, schema_editor):
    """Entries written before this migration get their HMAC (their hashes are unchanged, so a
    chain broken before stays broken). Needs the owner: it lifts the triggers for the while."""
    from radiopharmacy.core.audit import entry_mac

    AuditEvent = apps.get_model("radiopharmacy", "AuditEvent")
    unsigned = list(AuditEvent.objects.filter(hmac="").values_list("id", "hash"))
    audit_sql.apply(schema_editor.connection, install=False)
    try:
        for entry_id, entry_hash in unsigned:
            AuditEvent.objects.filter(id=entry_id).update(hmac=entry_mac(entry_id, entry_hash))
    finally:
        audit_sql.apply(schema_editor.connection, install=True)


def install_triggers(apps, schema_editor):
    # Also on the audit table again: on SQLite, adding a column rebuilds the table without them.
    audit_sql.apply(schema_editor.connection, install=True)


def drop_checkpoint_triggers(apps, schema_editor):
    audit_sql.apply(
        schema_editor.connection,
        install=False,
        tables={audit_sql.CHECKPOINT_TABLE: audit_sql.APPEND_ONLY_TABLES[audit_sql.CHECKPOINT_TABLE]},
    )


def grant_app_role(apps, schema_editor):
    """With a separate application role (DATABASE_OWNER_URL set), grant it its rights here and
    by default on every table the owner creates later."""
    connection = schema_editor.connection
    app_role = getattr(settings, "DATABASE_APP_ROLE", "")
    if connection.vendor != "postgresql" or not app_role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [app_role])
        owner, exists = cursor.fetchone()
        if owner == app_role:
            return
        if not exists:
            raise RuntimeError(
                f"The application role {app_role!r} does not exist: create the roles first "
                "(`make db-roles`, README \"PostgreSQL roles\")."
            )
        for sql in audit_sql.grant_app_role_statements(app_role, owner):
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("radiopharmacy", "0006_batch_elution_volume"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField()),
                ("last_entry_id", models.BigIntegerField()),
                ("entry_count", models.BigIntegerField()),
                ("head_hash", models.CharField(max_length=64)),
                ("hmac", models.CharField(max_length=64)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hmac",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(install_triggers, drop_checkpoint_triggers),
        migrations.RunPython(sign_existing_entries, migrations.RunPython.noop),
        migrations.RunPython(grant_app_role, migrations.RunPython.noop),
    ]
