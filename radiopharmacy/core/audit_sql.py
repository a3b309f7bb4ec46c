"""SQL that makes the audit tables append-only, per database engine, and the rights of the
application's PostgreSQL role.

The triggers are installed by the migrations and lifted by the test fixture just around a
transactional test's flush. They hold only against a role that does not own the tables (an owner
can disable or drop them): on PostgreSQL the application connects as a role that may only
INSERT and SELECT on these tables (`grant_app_role`, README "PostgreSQL roles").
"""

from contextlib import contextmanager

TABLE = "radiopharmacy_auditevent"
CHECKPOINT_TABLE = "radiopharmacy_auditcheckpoint"
# Each table and the prefix of its triggers' names.
APPEND_ONLY_TABLES = {TABLE: "auditevent", CHECKPOINT_TABLE: "auditcheckpoint"}
MESSAGE = "audit events are append-only"


def _sqlite_install(table: str, prefix: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {prefix}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
        f"CREATE TRIGGER IF NOT EXISTS {prefix}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    ]


def _sqlite_drop(table: str, prefix: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {prefix}_no_update;",
        f"DROP TRIGGER IF EXISTS {prefix}_no_delete;",
    ]


def _postgresql_drop(table: str, prefix: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {prefix}_no_change ON {table};",
        f"DROP TRIGGER IF EXISTS {prefix}_no_truncate ON {table};",
    ]


def _postgresql_install(table: str, prefix: str) -> list[str]:
    return [
        *_postgresql_drop(table, prefix),
        f"CREATE TRIGGER {prefix}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION gallium_audit_append_only();",
        f"CREATE TRIGGER {prefix}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION gallium_audit_append_only();",
    ]


_POSTGRESQL_FUNCTION = (
    "CREATE OR REPLACE FUNCTION gallium_audit_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql;"
)


def statements(vendor: str, *, install: bool, tables: dict[str, str] | None = None) -> list[str]:
    tables = APPEND_ONLY_TABLES if tables is None else tables
    if vendor == "sqlite":
        make = _sqlite_install if install else _sqlite_drop
        return [sql for table, prefix in tables.items() for sql in make(table, prefix)]
    if vendor == "postgresql":
        make = _postgresql_install if install else _postgresql_drop
        head = [_POSTGRESQL_FUNCTION] if install else []
        return head + [sql for table, prefix in tables.items() for sql in make(table, prefix)]
    raise NotImplementedError(f"No append-only triggers for {vendor}")


def trigger_names(connection, table: str = TABLE) -> set[str]:
    """Names of the triggers present on an audit table."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
        return {row[0] for row in cursor.fetchall()}


def apply(connection, *, install: bool, tables: dict[str, str] | None = None) -> None:
    """Install (or drop) the append-only triggers of the audit tables that exist."""
    existing = set(connection.introspection.table_names())
    wanted = {t: p for t, p in (APPEND_ONLY_TABLES if tables is None else tables).items()}
    wanted = {t: p for t, p in wanted.items() if t in existing}
    with connection.cursor() as cursor:
        for sql in statements(connection.vendor, install=install, tables=wanted):
            cursor.execute(sql)


# --- PostgreSQL roles -------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_app_role_statements(
    app_role: str, owner_role: str, *, audit_tables: bool = True
) -> list[str]:
    """Idempotent grants of the application's role in the current database (schema public).

    Every table: SELECT, INSERT, UPDATE, DELETE (never TRUNCATE, REFERENCES, TRIGGER); the audit
    tables: INSERT and SELECT only. Default privileges give the tables the owner creates later
    the same normal rights. The application owns nothing, so it cannot touch the triggers.
    """
    app, owner = quote_ident(app_role), quote_ident(owner_role)
    tables = ", ".join(APPEND_ONLY_TABLES)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {app};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app};",
    ]
    if audit_tables:  # not yet migrated: the migration that creates them runs these
        statements += [
            f"REVOKE ALL ON {tables} FROM PUBLIC;",
            f"REVOKE ALL ON {tables} FROM {app};",
            f"GRANT SELECT, INSERT ON {tables} TO {app};",
        ]
    return statements


@contextmanager
def owner_credentials(alias: str = "default"):
    """Connect `alias` as the owner role (settings.DATABASE_OWNER, from DATABASE_OWNER_URL) for
    the while: migrations, and in the tests the flush that empties the audit tables. Outside a
    transaction only (the connection is closed and reopened). Without an owner role: as is."""
    from django.conf import settings
    from django.db import connections

    owner = getattr(settings, "DATABASE_OWNER", {})
    conn = connections[alias]
    if alias != "default" or not owner or conn.settings_dict.get("USER") == owner["USER"]:
        yield conn
        return
    saved = {key: conn.settings_dict.get(key) for key in owner}
    conn.close()
    conn.settings_dict.update(owner)
    try:
        yield conn
    finally:
        conn.close()
        conn.settings_dict.update(saved)
