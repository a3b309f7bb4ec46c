"""Installation qualification (IQ) evidence and the operational qualification (OQ) report
(SPEC §2.10): what is installed, how it is configured, and what the OQ tests showed."""

import hashlib
import importlib.metadata
import platform
import re
import sys
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import checks as django_checks
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from radiopharmacy.validation import documents, provenance
from radiopharmacy.validation.junit import FAILED, PASSED, TestRun
from radiopharmacy.validation.provenance import ROOT

# The installed code whose hashes IQ records: the three packages, the templates and static files.
CODE_DIRS = ("radiopharmacy", "qc", "scheduling", "templates", "static")
CODE_SUFFIXES = {".py", ".html", ".txt", ".js", ".css", ".svg", ".yaml"}
REQUIREMENT_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")

PASS, FAIL, INFO = "pass", "fail", "info"


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    expected: str
    actual: str
    outcome: str  # pass, fail or info (recorded evidence with no acceptance criterion)


def iq_checks() -> list[Check]:
    """Every IQ check, in the report's order."""
    return [
        *_platform_checks(),
        *_package_checks(ROOT / "requirements.txt", required=True),
        *_package_checks(ROOT / "requirements-dev.txt", required=False),
        *_database_checks(),
        _migration_check(),
        *_settings_checks(),
        *_service_checks(),
        _static_check(),
    ]


def code_hashes() -> list[tuple[str, str]]:
    """(sha256, path) of every installed code file, sorted by path (as `sha256sum` prints)."""
    hashes = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                hashes.append((digest, path.relative_to(ROOT).as_posix()))
    return sorted(hashes, key=lambda pair: pair[1])


def manifest_digest(hashes: list[tuple[str, str]]) -> str:
    """One SHA-256 over the manifest text: equal digests mean the same installed code."""
    text = "".join(f"{digest}  {path}\n" for digest, path in hashes)
    return hashlib.sha256(text.encode()).hexdigest()


def _platform_checks() -> list[Check]:
    python = platform.python_version()
    return [
        Check(
            "platform",
            "Python",
            "3.11 or later",
            python,
            PASS if sys.version_info >= (3, 11) else FAIL,
        ),
        Check("platform", "Operating system", "", platform.platform(), INFO),
    ]


def _package_checks(requirements: Path, *, required: bool) -> list[Check]:
    """Each `name==version` pin of the file against the installed distribution. Dev pins are
    checked only where they are installed (a production host has none)."""
    if not requirements.exists():
        return [
            Check("packages", requirements.name, "present", "missing", FAIL if required else INFO)
        ]
    result = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = REQUIREMENT_PIN.match(line)
        if not match:
            continue
        name, _extras, pinned = match.groups()
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed == pinned:
            outcome = PASS
        elif installed == "not installed" and not required:
            outcome = INFO
        else:
            outcome = FAIL
        result.append(
            Check("packages", f"{name} ({requirements.name})", pinned, installed, outcome)
        )
    return result


def _database_checks() -> list[Check]:
    try:
        connection.ensure_connection()
    except Exception as exc:  # any driver error: the evidence is that it is unreachable
        return [Check("database", "Connection", "reachable", f"{type(exc).__name__}: {exc}", FAIL)]
    if connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
    return [
        Check(
            "database",
            "Connection",
            "reachable",
            f"{connection.vendor} {version} ({connection.settings_dict['NAME']})",
            PASS,
        )
    ]


def _migration_check() -> Check:
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # an unreachable database is reported above
        return Check("database", "Migrations", "all applied", f"not readable: {exc}", FAIL)
    applied = len(executor.loader.applied_migrations)
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return Check(
            "database", "Migrations", "all applied", f"{len(pending)} pending: {names}{more}", FAIL
        )
    return Check("database", "Migrations", "all applied", f"{applied} applied, none pending", PASS)


def _settings_checks() -> list[Check]:
    deploy = not settings.DEBUG
    # As `manage.py check` reports them: SILENCED_SYSTEM_CHECKS are left out.
    messages = [
        m for m in django_checks.run_checks(include_deployment_checks=deploy) if not m.is_silenced()
    ]
    serious = [
        m
        for m in messages
        if m.level >= django_checks.ERROR or (deploy and m.is_serious(django_checks.WARNING))
    ]
    name = "manage.py check --deploy" if deploy else "manage.py check (DEBUG on: no deploy checks)"
    result = [
        Check(
            "settings",
            name,
            "no errors" + (" or warnings" if deploy else ""),
            "; ".join(f"{m.id}: {m.msg}" for m in messages) or "clean",
            FAIL if serious else PASS,
        ),
        Check(
            "settings",
            "DEBUG",
            "off in production",
            "on" if settings.DEBUG else "off",
            INFO if settings.DEBUG else PASS,
        ),
    ]
    try:
        zoneinfo.ZoneInfo(settings.SITE_TIME_ZONE)
        zone = PASS
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = FAIL
    result.append(
        Check("settings", "Site time zone data", "known zone", settings.SITE_TIME_ZONE, zone)
    )
    key = settings.AUDIT_HMAC_KEY
    result.append(
        Check(
            "settings",
            "Audit HMAC key",
            "at least 32 characters, not shown",
            f"{len(key)} characters",
            PASS if len(key) >= 32 else FAIL,
        )
    )
    checkpoints = Path(settings.AUDIT_CHECKPOINT_DIR)
    result.append(
        Check(
            "settings", "Audit checkpoint directory", "outside the database", str(checkpoints), INFO
        )
    )
    return result


def _service_checks() -> list[Check]:
    if not settings.REDIS_URL:
        return [
            Check(
                "services",
                "Redis",
                "configured in production",
                "REDIS_URL unset: Celery runs tasks eagerly in-process",
                INFO,
            )
        ]
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        return [Check("services", "Redis", "reachable", "answers PING", PASS)]
    except redis.RedisError as exc:
        return [Check("services", "Redis", "reachable", f"{type(exc).__name__}: {exc}", FAIL)]


def _static_check() -> Check:
    sources = sorted(
        p.relative_to(ROOT / "static") for p in (ROOT / "static").rglob("*") if p.is_file()
    )
    if settings.DEBUG:
        return Check(
            "static files",
            "Static files",
            "served from static/ (DEBUG on)",
            f"{len(sources)} files",
            PASS if sources else FAIL,
        )
    root = Path(settings.STATIC_ROOT)
    missing = [str(p) for p in sources if not (root / p).exists()]
    manifest = (root / "staticfiles.json").exists()
    actual = (
        "collected, manifest present"
        if manifest and not missing
        else (f"not collected: {', '.join(missing[:5])}" if missing else "no manifest")
    )
    return Check(
        "static files",
        "collectstatic",
        "every file collected with its manifest",
        actual,
        PASS if manifest and not missing else FAIL,
    )


def _meta(extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        ("Software version", provenance.software_version()),
        ("Commit", provenance.git_commit()),
        ("Date (UTC)", provenance.now_utc().isoformat()),
        ("Host", platform.node()),
        *extra,
    ]


def iq_document(
    checks: list[Check], hashes: list[tuple[str, str]], manifest: str
) -> documents.Document:
    failed = [c for c in checks if c.outcome == FAIL]
    document = documents.Document(
        title="Gallium installation qualification (IQ)",
        summary=(
            f"{len(checks)} checks, {len(failed)} failed. "
            + (
                "The installation meets its specification."
                if not failed
                else "The installation does NOT meet its specification."
            )
        ),
        meta=_meta(
            [
                (
                    "Installed code",
                    f"{len(hashes)} files, manifest SHA-256 "
                    f"{manifest_digest(hashes)} (every file's hash in {manifest})",
                )
            ]
        ),
    )
    document.sections.append(
        documents.Section(
            heading="Checks",
            columns=["Area", "Check", "Expected", "Found", "Result"],
            rows=[[c.area, c.name, c.expected, c.actual, c.outcome] for c in checks],
            outcome_column=4,
            widths=[1, 2.2, 2, 4, 0.6],
        )
    )
    return document


def oq_document(
    run: TestRun, exit_code: int, select: str, extra_args: list[str]
) -> documents.Document:
    failed = [r for r in run.results if r.outcome == FAILED]
    passed = [r for r in run.results if r.outcome == PASSED]
    verdict = (
        "All operational tests passed."
        if not failed and passed
        else ("Operational qualification FAILED." if failed else "No operational test passed.")
    )
    selection = " ".join(part for part in ([f"-m '{select}'"] if select else []) + extra_args)
    document = documents.Document(
        title="Gallium operational qualification (OQ)",
        summary=(
            f"{len(run.results)} tests: {len(passed)} passed, {len(failed)} failed, "
            f"{len(run.results) - len(passed) - len(failed)} skipped. {verdict}"
        ),
        meta=_meta(
            [
                ("Selection", f"pytest {selection}".strip()),
                ("pytest exit code", str(exit_code)),
                (
                    "Database",
                    f"{connection.vendor} ({connection.settings_dict['NAME']}, a test "
                    "database is created beside it)",
                ),
                ("Test results", run.source),
            ]
        ),
    )
    document.sections.append(
        documents.Section(
            heading="Tests",
            columns=["Test", "Requirements", "Duration (s)", "Result"],
            rows=[
                [
                    r.nodeid + (f"\n{r.message}" if r.message else ""),
                    " ".join(r.requirement_ids),
                    f"{r.duration_s:.2f}",
                    r.outcome,
                ]
                for r in run.results
            ],
            outcome_column=3,
            widths=[6, 2.5, 0.8, 0.7],
        )
    )
    return document
