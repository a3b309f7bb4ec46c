"""Load test: `python -m tests.bench.loadtest.run` (`make loadtest`).

On PostgreSQL, with gunicorn and the production settings (DEBUG off), on loopback only:

1. the five-year database (LOADTEST_DB, default gallium_load5y) and the demo database
   (LOADTEST_DEMO_DB, default gallium_demo_load) are used as they are when they exist, else
   created, migrated and loaded: LOADTEST_DAYS (default 1250) working days of bench data
   (tests/bench/loader.py), or the demo (`manage.py load_demo`);
2. a mixed run on the five-year database: LOADTEST_USERS (20) users of the four roles, each
   logged in once, reading the role's pages and API lists with 1-3 s think time for
   LOADTEST_TIME (3m);
3. a closed-loop run (no think time, LOADTEST_CLOSED_USERS (6) users for LOADTEST_CLOSED_TIME
   (60s)) on each database; each server first gets an unrecorded warm-up of LOADTEST_WARMUP
   (10s): its workers' first requests (imports, templates, connections) are not the load;
4. one table: p50/p95/p99 per endpoint and req/s of the mixed run (endpoints over the 150 ms
   p95 goal marked), req/s of each closed loop and the ratio five-year/demo.

gunicorn runs WEB_CONCURRENCY (3) sync workers on a free loopback port per database and is
stopped at the end. Fails with a message when PostgreSQL (LOADTEST_PG_URL, default
postgres://postgres@127.0.0.1:5432/postgres, a role that may create databases) is unreachable.
Asserts nothing: it prints figures.
"""

from __future__ import annotations

import csv
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
P95_GOAL_MS = 150
NOT_ENDPOINTS = {"setup", "login (GET)", "login (POST)"}  # each user's start, not its load


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


PG_URL = env("LOADTEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
FIVE_YEAR_DB = env("LOADTEST_DB", "gallium_load5y")
DEMO_DB = env("LOADTEST_DEMO_DB", "gallium_demo_load")
DAYS = int(env("LOADTEST_DAYS", "1250"))
USERS = int(env("LOADTEST_USERS", "20"))
RUN_TIME = env("LOADTEST_TIME", "3m")
CLOSED_USERS = int(env("LOADTEST_CLOSED_USERS", "6"))
CLOSED_TIME = env("LOADTEST_CLOSED_TIME", "60s")
WARMUP = env("LOADTEST_WARMUP", "10s")
WORKERS = env("WEB_CONCURRENCY", "3")
REDIS_URL = env("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Failure(Exception):
    pass


# --- PostgreSQL ---------------------------------------------------------------------------------


def db_url(name: str) -> str:
    parts = urlsplit(PG_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin():
    import psycopg

    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise Failure(
            f"PostgreSQL is not reachable at {PG_URL} ({str(exc).strip()}). Start it, or set "
            "LOADTEST_PG_URL to a role that may create databases."
        ) from None


def exists(name: str) -> bool:
    with admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def create(name: str) -> None:
    from psycopg import sql

    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Bench databases only: a commit does not wait for the disk (a crash loses the last
        # commits, never consistency), which makes loading several times faster.
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
        )


def counts(name: str) -> str:
    import psycopg

    with psycopg.connect(db_url(name), connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM radiopharmacy_batch),"
            " (SELECT count(*) FROM scheduling_booking),"
            " (SELECT count(*) FROM radiopharmacy_auditevent)"
        ).fetchone()
    return f"{row[0]} batches, {row[1]} bookings, {row[2]} audit entries"


# --- Processes ----------------------------------------------------------------------------------


def base_env(**extra: str) -> dict:
    out = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "AUDIT_CHECKPOINT_DIR"}
    }
    out.update(extra)
    return out


def run(args: list[str], **env_extra: str) -> None:
    done = subprocess.run(args, cwd=BASE_DIR, env=base_env(**env_extra))
    if done.returncode:
        raise Failure(f"{' '.join(args)} failed (exit {done.returncode})")


def audit_key() -> str:
    """The audit HMAC key the databases were loaded under: AUDIT_HMAC_KEY, else the embedded
    default's key file (created by loading settings once)."""
    if os.environ.get("AUDIT_HMAC_KEY"):
        return os.environ["AUDIT_HMAC_KEY"]
    path = BASE_DIR / "var" / "audit-hmac.key"
    if not path.exists():
        run([PYTHON, "-c", "import radiopharmacy.settings"])
    return path.read_text().strip()


def prepare(name: str, *, loader: list[str], key: str) -> None:
    if name == "test":
        raise Failure("The database `test` is the test suite's: choose another name.")
    if exists(name):
        print(f"Using the existing database {name}: {counts(name)}.")
        return
    print(f"Creating {name} ...")
    create(name)
    started = time.monotonic()
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], **db_env(name))
    run(loader, **db_env(name), AUDIT_HMAC_KEY=key)
    print(f"Loaded {name} in {time.monotonic() - started:.0f} s: {counts(name)}.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def db_env(name: str) -> dict:
    """The database and its own audit checkpoint folder (the loader's, tests/bench/loader.py)."""
    from tests.bench.loader import checkpoint_dir

    url = db_url(name)
    return {"DATABASE_URL": url, "AUDIT_CHECKPOINT_DIR": str(checkpoint_dir({"DATABASE_URL": url}))}


def server_env(name: str, key: str) -> dict:
    return base_env(
        **db_env(name),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        AUDIT_HMAC_KEY=key,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback: no TLS proxy in front
        SECURE_COOKIES="0",
        REDIS_URL=REDIS_URL,
    )


def start_server(name: str, key: str, *, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn on `name`, its output (a 500's traceback included) into `log`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "radiopharmacy.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", WORKERS, "--log-level", "warning"],
        cwd=BASE_DIR,
        env=server_env(name, key),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Failure(
                f"gunicorn on {name} exited ({process.returncode}):\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=5) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    stop(process)
    raise Failure(f"gunicorn on {name} did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def locust(url: str, *, users: int, run_time: str, think: str, out: Path) -> list[dict]:
    prefix = out / f"run-{secrets.token_hex(3)}"
    log = out / f"{prefix.name}.log"
    with open(log, "w") as log_file:
        subprocess.run(
            [PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
            + ["-u", str(users), "-r", str(users), "-t", run_time, "--stop-timeout", "5"]
            + ["--host", url, "--csv", str(prefix), "--loglevel", "WARNING"],
            cwd=BASE_DIR,
            env=base_env(LOADTEST_THINK_S=think),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # its exit code is 1 when a request failed: the failures are in the table
    try:
        with open(f"{prefix}_stats.csv", newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise Failure(f"locust wrote no figures:\n{log.read_text()[-3000:]}") from None


# --- Report -------------------------------------------------------------------------------------


def ms(row: dict, column: str) -> str:
    value = row.get(column, "")
    return value if value not in ("", "N/A") else "-"


def print_mixed(rows: list[dict]) -> list[str]:
    print(
        f"\nMixed load on {FIVE_YEAR_DB}: {USERS} users (radiopharmacist, QP, scheduler, "
        f"auditor), think time 1-3 s, {RUN_TIME}"
    )
    print(f"{'endpoint':<24}{'requests':>9}{'fails':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    slow = []
    for row in sorted(rows, key=lambda r: r["Name"]):
        name = row["Name"]
        if name in NOT_ENDPOINTS or name == "Aggregated":
            continue
        p95 = ms(row, "95%")
        over = p95 != "-" and float(p95) > P95_GOAL_MS
        if over:
            slow.append(name)
        print(
            f"{name:<24}{row['Request Count']:>9}{row['Failure Count']:>7}"
            f"{ms(row, '50%'):>8}{p95:>8}{ms(row, '99%'):>8}{'  > 150' if over else ''}"
        )
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(
        f"{'all':<24}{total['Request Count']:>9}{total['Failure Count']:>7}{ms(total, '50%'):>8}"
        f"{ms(total, '95%'):>8}{ms(total, '99%'):>8}   {float(total['Requests/s']):.1f} req/s"
    )
    return slow


def aggregated(rows: list[dict]) -> dict:
    return next(r for r in rows if r["Name"] == "Aggregated")


def static_outdated() -> bool:
    """Whether `collectstatic` must run: no manifest, or a static file or the requirements newer
    (the same rule as `make serve`)."""
    manifest = BASE_DIR / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return True
    sources = [BASE_DIR / "requirements.txt", *(BASE_DIR / "static").rglob("*")]
    return max(p.stat().st_mtime for p in sources if p.is_file()) > manifest.stat().st_mtime


def main() -> int:
    key = audit_key()
    loader = [PYTHON, "-m", "tests.bench.loader", "--days", str(DAYS)]
    try:
        prepare(FIVE_YEAR_DB, loader=loader, key=key)
        prepare(DEMO_DB, loader=[PYTHON, "manage.py", "load_demo"], key=key)
        # The production settings serve static files through whitenoise from STATIC_ROOT.
        if static_outdated():
            run(
                [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                DEBUG="0",
                SECRET_KEY="collectstatic-only-" + secrets.token_hex(16),
                AUDIT_HMAC_KEY=key,
            )
        with tempfile.TemporaryDirectory(prefix="gallium-loadtest-") as tmp:
            out = Path(tmp)
            results = {}
            for name, mixed in ((FIVE_YEAR_DB, True), (DEMO_DB, False)):
                process, url = start_server(name, key, log=out / f"gunicorn-{name}.log")
                try:
                    # Unrecorded: the workers' first requests (imports, templates, connections).
                    locust(url, users=CLOSED_USERS, run_time=WARMUP, think="0", out=out)
                    if mixed:
                        print(f"Mixed run on {name} ({RUN_TIME}) ...", flush=True)
                        results["mixed"] = locust(
                            url, users=USERS, run_time=RUN_TIME, think="1-3", out=out
                        )
                    print(f"Closed loop on {name} ({CLOSED_TIME}) ...", flush=True)
                    results[name] = aggregated(
                        locust(url, users=CLOSED_USERS, run_time=CLOSED_TIME, think="0", out=out)
                    )
                finally:
                    stop(process)
    except Failure as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2

    slow = print_mixed(results["mixed"])
    print(
        f"\nClosed loop: {CLOSED_USERS} users, no think time, {CLOSED_TIME}, gunicorn "
        f"{WORKERS} workers"
    )
    print(f"{'database':<24}{'req/s':>9}{'fails':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for name in (FIVE_YEAR_DB, DEMO_DB):
        row = results[name]
        print(
            f"{name:<24}{float(row['Requests/s']):>9.1f}{row['Failure Count']:>7}"
            f"{ms(row, '50%'):>8}{ms(row, '95%'):>8}{ms(row, '99%'):>8}"
        )
    demo_rps = float(results[DEMO_DB]["Requests/s"])
    ratio = float(results[FIVE_YEAR_DB]["Requests/s"]) / demo_rps if demo_rps else 0.0
    print(f"throughput ratio five-year/demo: {ratio:.2f}")
    print(
        f"\nOver the p95 goal of {P95_GOAL_MS} ms: {', '.join(slow)}"
        if slow
        else f"\nEvery endpoint within the p95 goal of {P95_GOAL_MS} ms."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
