"""Fixtures shared by the whole suite: users per role, API clients, the release clock, services,
a real worker."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import hypothesis
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.utils import load_backend
from django.test import TransactionTestCase
from rest_framework.test import APIClient

from radiopharmacy.core import audit_sql
from radiopharmacy.core.roles import ALL_ROLES
from tests.factories import RELEASE_TIME, UserFactory

# Same Argon2 code path as production with the cheapest parameters: thousands of users are
# created by the suite. tests/test_auth.py checks the production setting itself.
settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher", *settings.PASSWORD_HASHERS]

# Threads of the live server and the race tests would otherwise keep their PostgreSQL sessions
# open for a minute, and the test database could not be dropped at the end of the run.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

# Certificate files (MEDIA_ROOT) and the demo signing key and certificate made at the first
# certificate stay out of var/: one directory per test process, the real worker's included.
_TEST_FILES = Path(tempfile.mkdtemp(prefix="gallium-test-files-"))
settings.MEDIA_ROOT = _TEST_FILES / "media"
settings.CERTIFICATE_SIGNING_DIR = _TEST_FILES / "certificate-signing"
atexit.register(shutil.rmtree, _TEST_FILES, ignore_errors=True)

# Property tests check results, not speed (timings are the benchmarks' business): on a loaded CI
# machine an example may take longer than Hypothesis's default 200 ms deadline.
hypothesis.settings.register_profile("gallium", deadline=None)
hypothesis.settings.load_profile("gallium")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Requirement markers, checked against docs/requirements.yaml (SPEC §2.10).
pytest_plugins = ["tests.requirements_plugin"]


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=os.environ.get("GALLIUM_TEST_CLOCK", ""),
        help="Run the whole suite with the clock started at this ISO time with offset (e.g. "
        "2026-03-29T05:30+02:00); it then ticks. Tests that freeze time themselves still do. "
        "CI runs the suite at several such clocks so nothing depends on the hour or the date.",
    )


_clock = None


def pytest_configure(config):
    """Start the suite's clock before anything (the test database's data migrations included)
    reads the time."""
    global _clock
    start = config.getoption("--clock")
    if start:
        import datetime as dt

        moment = dt.datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise pytest.UsageError("--clock needs a time with its UTC offset")
        _clock = time_machine.travel(moment, tick=True)
        _clock.start()


def pytest_unconfigure(config):
    if _clock is not None:
        _clock.stop()


def pytest_report_header(config):
    start = config.getoption("--clock")
    return f"clock: started at {start}" if start else None


@pytest.fixture
def working_hours():
    """The clock at 10:00 at the site on the day the suite runs (its date is kept, DST switch day
    or not), ticking: for tests that build a day's work around now and read it back as today's,
    which at 23:50 would spill into tomorrow."""
    import datetime as dt

    import time_machine

    from radiopharmacy.core.sitetime import site_at, site_today

    with time_machine.travel(site_at(site_today(), dt.time(10, 0)), tick=True) as traveller:
        yield traveller


def _services_available() -> tuple[bool, str]:
    if not settings.DATABASE_IS_POSTGRESQL:
        return False, "DATABASE_URL does not point at PostgreSQL"
    if not settings.REDIS_URL:
        return False, "REDIS_URL is not set"
    return True, ""


def pytest_collection_modifyitems(items):
    """Transactional tests get serialized rollback.

    Their teardown flushes every table, including the reference data that data migrations
    seeded (role groups, the default product, the default QC specification); serialized
    rollback restores it before each such test.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction"):
            if not marker.kwargs.get("serialized_rollback"):
                item.add_marker(
                    pytest.mark.django_db(**marker.kwargs, serialized_rollback=True), append=False
                )
        elif {"transactional_db", "live_server"} & set(item.fixturenames):
            if "django_db_serialized_rollback" not in item.fixturenames:
                item.fixturenames.append("django_db_serialized_rollback")


@pytest.fixture(autouse=True)
def _integration_gate(request):
    """Integration tests need PostgreSQL and Redis; under REQUIRE_SERVICES=1 a skip is a failure."""
    if request.node.get_closest_marker("integration") is None:
        return
    ok, why = _services_available()
    if not ok:
        message = f"integration test needs PostgreSQL and Redis: {why}"
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)


# --- The database roles and the audit tables -------------------------------------------------
# With DATABASE_OWNER_URL set (CI on PostgreSQL), the test database is created and migrated by
# the owner role and the tests connect as the application role (DATABASE_URL), which may only
# INSERT and SELECT on the audit tables: as in production. Only the flush of a transactional
# test, which empties the audit tables, goes through the owner (below).


def _connect_default_as(credentials: dict) -> None:
    if credentials and connection.settings_dict.get("USER") != credentials["USER"]:
        connection.close()
        connection.settings_dict.update(credentials)


_APP_CREDENTIALS = {key: settings.DATABASES["default"].get(key) for key in settings.DATABASE_OWNER}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The test database is created and migrated by the owner role."""
    _connect_default_as(settings.DATABASE_OWNER)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Then every test connects as the application role; the owner drops the database."""
    _connect_default_as(_APP_CREDENTIALS)
    yield
    _connect_default_as(settings.DATABASE_OWNER)


def _flush_as_owner_without_triggers(self):
    """Transactional tests flush every table at teardown, which the append-only triggers (and on
    PostgreSQL the application role's rights) refuse: flush as the owner with the triggers lifted
    for the while (tests/radiopharmacy/test_audit.py asserts they exist in normal operation)."""
    with audit_sql.owner_credentials() as conn:
        audit_sql.apply(conn, install=False)
        try:
            _django_fixture_teardown(self)
        finally:
            audit_sql.apply(conn, install=True)


_django_fixture_teardown = TransactionTestCase._fixture_teardown
TransactionTestCase._fixture_teardown = _flush_as_owner_without_triggers


@pytest.fixture
def as_table_owner():
    """A connection as the audit tables' owner, for tests that tamper with them the way a DBA
    could (lift the triggers, UPDATE, DELETE). On PostgreSQL with the two roles it is a session of
    its own, so what it changes must be committed: use it in `transaction=True` tests."""
    if not settings.DATABASE_OWNER:
        yield connection
        return
    backend = load_backend(connection.settings_dict["ENGINE"])
    owner = backend.DatabaseWrapper({**connection.settings_dict, **settings.DATABASE_OWNER})
    try:
        yield owner
    finally:
        owner.close()


@pytest.fixture(autouse=True)
def _audit_checkpoint_dir(settings, tmp_path_factory):
    """Each test writes its audit checkpoints (files outside the database) to a directory of its
    own: the checkpoints of another test's database would not match this one's."""
    global _checkpoint_base
    if _checkpoint_base is None:
        _checkpoint_base = tmp_path_factory.mktemp("audit-checkpoints")
    settings.AUDIT_CHECKPOINT_DIR = _checkpoint_base / uuid.uuid4().hex


_checkpoint_base = None


@pytest.fixture
def make_user(db):
    def make(role: str | None = None, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def radiopharmacist(make_user):
    return make_user("radiopharmacist", first_name="Rhea", last_name="Pharmakis")


@pytest.fixture
def qualified_person(make_user):
    return make_user("qualified_person", first_name="Quentin", last_name="Peters")


@pytest.fixture
def scheduler(make_user):
    return make_user("scheduler", first_name="Sam", last_name="Planner")


@pytest.fixture
def auditor(make_user):
    return make_user("auditor", first_name="Ada", last_name="Auditor")


@pytest.fixture
def users_by_role(make_user):
    return {role: make_user(role) for role in ALL_ROLES}


@pytest.fixture
def at_release_time():
    """The clock frozen at RELEASE_TIME, when the qualified person signs the default batch."""
    with time_machine.travel(RELEASE_TIME, tick=False) as traveller:
        yield traveller


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated as that user."""

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def celery_eager(monkeypatch):
    """Run tasks in-process whatever the configuration (unit tests of task-driven behaviour)."""
    from radiopharmacy.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    return app


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on Redis, using the test database (integration only)."""
    ok, why = _services_available()
    if not ok:
        pytest.skip(why)
    from radiopharmacy.celery import app

    db = connection.settings_dict  # the application role (django_db_setup above)
    env = os.environ.copy()
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    env["DATABASE_URL"] = (
        f"postgres://{quote(db['USER'] or 'postgres', safe='')}{password}@"
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    # Its checkpoints (every 100 entries) go to a directory of its own.
    env["AUDIT_CHECKPOINT_DIR"] = str(tmp_path_factory.mktemp("worker-audit-checkpoints"))
    # The certificates it renders are read back by the tests: the same files, the same key.
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["CERTIFICATE_SIGNING_DIR"] = str(settings.CERTIFICATE_SIGNING_DIR)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "celery-worker.log"
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    app.control.purge()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "radiopharmacy",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                name,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
    proc.database_url = env["DATABASE_URL"]  # tests/integration/test_db_roles.py
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"celery worker exited early, see {log_path}:\n{log_path.read_text()}")
            if app.control.ping(destination=[name], timeout=1.0):
                break
        else:
            pytest.fail(f"celery worker did not answer a ping within 60 s, see {log_path}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
