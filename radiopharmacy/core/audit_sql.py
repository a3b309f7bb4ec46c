"""SQL that makes the audit table append-only, per database engine.

Used by the migration that installs it and by the test fixture that lifts it just before a
transactional test flushes the tables.
"""

TABLE = "radiopharmacy_auditevent"
MESSAGE = "audit events are append-only"

SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS auditevent_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER IF NOT EXISTS auditevent_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS auditevent_no_update;",
    "DROP TRIGGER IF EXISTS auditevent_no_delete;",
]

POSTGRESQL_INSTALL = [
    "CREATE OR REPLACE FUNCTION gallium_audit_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql;",
    f"DROP TRIGGER IF EXISTS auditevent_no_change ON {TABLE};",
    f"CREATE TRIGGER auditevent_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION gallium_audit_append_only();",
    f"DROP TRIGGER IF EXISTS auditevent_no_truncate ON {TABLE};",
    f"CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION gallium_audit_append_only();",
]
POSTGRESQL_DROP = [
    f"DROP TRIGGER IF EXISTS auditevent_no_change ON {TABLE};",
    f"DROP TRIGGER IF EXISTS auditevent_no_truncate ON {TABLE};",
]


def statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_DROP
    if vendor == "postgresql":
        return POSTGRESQL_INSTALL if install else POSTGRESQL_DROP
    raise NotImplementedError(f"No append-only triggers for {vendor}")


def trigger_names(connection) -> set[str]:
    """Names of the append-only triggers present on the audit table."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [TABLE],
            )
        return {row[0] for row in cursor.fetchall()}


def apply(connection, *, install: bool) -> None:
    with connection.cursor() as cursor:
        for sql in statements(connection.vendor, install=install):
            cursor.execute(sql)
