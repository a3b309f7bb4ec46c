"""Create the two PostgreSQL roles and the database, and grant the application role its rights.

Idempotent: run it again at any time (`make db-roles`). Needs a role that may create roles and
databases (DATABASE_ADMIN_URL, by default the `postgres` superuser on DATABASE_URL's server).
"""

import environ
import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

from radiopharmacy.core.audit_sql import APPEND_ONLY_TABLES, grant_app_role_statements


def _connect(config: dict, dbname: str):
    return psycopg.connect(
        dbname=dbname,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    )


class Command(BaseCommand):
    help = (
        "Create the owner role (DATABASE_OWNER_URL) and the application role (DATABASE_URL), the "
        "database owned by the owner, and the application role's rights: INSERT and SELECT only "
        "on the audit tables, the usual rights elsewhere, also on tables created later."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default="",
            help="A role that may create roles and databases (default: DATABASE_ADMIN_URL, "
            "else postgres@ the server of DATABASE_URL).",
        )
        parser.add_argument(
            "--createdb",
            action="store_true",
            help="Let the owner create databases (the test suite creates its test database).",
        )

    def handle(self, *args, admin_url: str, createdb: bool, **options):
        app = settings.DATABASES["default"]
        owner = settings.DATABASE_OWNER
        if not settings.DATABASE_IS_POSTGRESQL or not owner:
            raise CommandError(
                "Set DATABASE_URL (the application role) and DATABASE_OWNER_URL (the owner role) "
                "to the same PostgreSQL database."
            )
        if not app.get("USER") or app["USER"] == owner["USER"]:
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL must name two different roles.")
        admin_url = admin_url or environ.Env().str("DATABASE_ADMIN_URL", default="")
        admin = (
            environ.Env.db_url_config(admin_url)
            if admin_url
            else {"USER": "postgres", "HOST": app.get("HOST"), "PORT": app.get("PORT")}
        )
        database = app["NAME"]
        with _connect(admin, admin.get("NAME") or "postgres") as conn:
            self._role(conn, owner["USER"], owner.get("PASSWORD"), createdb=createdb, app=False)
            self._role(conn, app["USER"], app.get("PASSWORD"), createdb=False, app=True)
            conn.execute(
                sql.SQL("REVOKE {} FROM {}").format(
                    sql.Identifier(owner["USER"]), sql.Identifier(app["USER"])
                )
            )
            row = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if row is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(owner["USER"])
                    )
                )
                self.stdout.write(f"database {database}: created, owned by {owner['USER']}")
            else:
                self.stdout.write(f"database {database}: exists, owned by {row[0]}")
        with _connect(admin, database) as conn:
            # The owner creates the tables (PostgreSQL 15 no longer lets everyone create in
            # public); the application creates nothing.
            conn.execute(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
                    sql.Identifier(owner["USER"])
                )
            )
            migrated = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename = ANY(%s)",
                [list(APPEND_ONLY_TABLES)],
            ).fetchone()[0] == len(APPEND_ONLY_TABLES)
            for statement in grant_app_role_statements(
                app["USER"], owner["USER"], audit_tables=migrated
            ):
                conn.execute(statement)
            foreign = conn.execute(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' "
                "AND tableowner <> %s",
                [owner["USER"]],
            ).fetchall()
        for (other,) in foreign:
            self.stdout.write(
                self.style.WARNING(
                    f"tables in {database} are owned by {other}, not {owner['USER']}: hand them "
                    f"over with REASSIGN OWNED BY {other} TO {owner['USER']} (as a superuser)."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"roles ready: {owner['USER']} owns and migrates {database}; {app['USER']} "
                "connects at run time, INSERT and SELECT only on the audit tables."
            )
        )

    def _role(self, conn, name: str, password: str | None, *, createdb: bool, app: bool) -> None:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        if row is not None and row[0]:
            if app:
                raise CommandError(f"The application role {name} is a superuser: use another.")
            self.stdout.write(f"role {name}: a superuser, left as it is")
            return
        verb = "CREATE" if row is None else "ALTER"
        options = ["LOGIN", "NOSUPERUSER", "NOCREATEROLE", "NOREPLICATION", "NOBYPASSRLS"]
        options.append("CREATEDB" if createdb else "NOCREATEDB")
        statement = sql.SQL("{} ROLE {} " + " ".join(options)).format(
            sql.SQL(verb), sql.Identifier(name)
        )
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        conn.execute(statement)
        self.stdout.write(f"role {name}: {'created' if row is None else 'updated'}")
