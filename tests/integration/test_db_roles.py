"""The application's PostgreSQL role (DATABASE_URL) next to the owner role (DATABASE_OWNER_URL):
it owns nothing, so it cannot disable or drop the append-only triggers, and it may only INSERT
and SELECT on the audit tables. The suite itself runs as that role (tests/conftest.py)."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from radiopharmacy.core import audit, audit_sql
from radiopharmacy.models import AuditCheckpoint, AuditEvent, OutboxJob, Product
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AUDIT_TABLES = [audit_sql.TABLE, audit_sql.CHECKPOINT_TABLE]


@pytest.fixture(autouse=True)
def _two_roles():
    if not settings.DATABASE_OWNER:
        pytest.skip("DATABASE_OWNER_URL is not set: one role owns and uses the database")


def _refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    return str(caught.value)


def _one_entry() -> AuditEvent:
    return audit.record(actor=None, action=audit.AuditAction.CHANGED, object_type="x", object_id=1)


def test_the_suite_connects_as_the_application_role_which_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        user, superuser = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        owned = cursor.fetchone()[0]
    assert user == settings.DATABASE_APP_ROLE != settings.DATABASE_OWNER["USER"]
    assert not superuser and owned == 0


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.requirement("AUD-02", "P11-11.10(c)")
def test_the_application_role_cannot_disable_or_drop_the_triggers(table):
    prefix = audit_sql.APPEND_ONLY_TABLES[table]
    for sql in [
        f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        f"ALTER TABLE {table} DISABLE TRIGGER {prefix}_no_change",
        f"DROP TRIGGER {prefix}_no_change ON {table}",
        f"ALTER TABLE {table} OWNER TO CURRENT_USER",
    ]:
        assert "must be owner" in _refused(sql), sql
    assert {f"{prefix}_no_change", f"{prefix}_no_truncate"} <= audit_sql.trigger_names(
        connection, table
    )


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.requirement("AUD-02", "P11-11.10(c)")
def test_the_application_role_may_not_update_delete_or_truncate_the_audit_tables(table):
    _one_entry()
    audit.checkpoint_write()
    for sql in [
        f"UPDATE {table} SET id = id",
        f"DELETE FROM {table}",
        f"TRUNCATE {table}",
    ]:
        assert "permission denied" in _refused(sql), sql
    assert AuditEvent.objects.count() >= 1


def test_the_application_role_appends_and_reads_the_trail_and_writes_other_tables():
    event = _one_entry()
    assert AuditEvent.objects.get(pk=event.pk).hmac == audit.entry_mac(event.pk, event.hash)
    assert audit.checkpoint_write().entry_id == event.pk
    product = Product.objects.get(code="GA68DOTATATE")
    Product.objects.filter(pk=product.pk).update(name="Ga-68 DOTATATE (renamed)")
    assert audit.verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_worker_connects_as_the_application_role(celery_worker_process):
    from urllib.parse import urlsplit

    from radiopharmacy.core import outbox

    assert urlsplit(celery_worker_process.database_url).username == settings.DATABASE_APP_ROLE
    with transaction.atomic():
        job = outbox.enqueue(task_name="radiopharmacy.audit_checkpoint", key="checkpoint:roles")
    wait_for(lambda: OutboxJob.objects.filter(pk=job.pk, status=OutboxJob.Status.DONE).exists())
    assert AuditCheckpoint.objects.exists()  # written by the worker, as the application role
