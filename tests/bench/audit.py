"""Audit verification benchmark: `python -m tests.bench.audit [--entries N]` (`make bench-audit`).

Writes N audit entries (200,000 by default) into a throwaway database (the test database of
DATABASE_URL: a SQLite file by default, `test_<name>` on PostgreSQL, destroyed at the end) and
signed checkpoints into a temporary directory, then times `verify_audit` over the whole chain
(in one process, then with its default `--processes`, one per CPU) and from the latest
checkpoint (`--since-checkpoint`, the hourly job) and prints entries/s, by the clock and per CPU
second of this process and its hashing processes (the figure a busy machine changes least; on
PostgreSQL the server's own time is not in it). It prints the plan of the audit page's query for
each filter too (an index, not a scan).

The entries are written by a bulk path for the benchmark only (`bulk_create` of rows hashed and
signed with the trail's own `entry_hash` and `entry_mac`), still a valid chain: the verification
must find it intact, and the benchmark says so. A third of them are creations with a dozen
fields, the rest changes of two fields, by a dozen users on eight record types, as in a
working trail. Asserts nothing; prints figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

INSERT_CHUNK = 5_000
# Who and what the entries are about: a site's few users and record types.
USERS = 12
RECORD_TYPES = (
    "radiopharmacy.batch",
    "qc.qcresult",
    "qc.qcresult",
    "qc.qcresult",
    "radiopharmacy.elution",
    "scheduling.booking",
    "scheduling.dose",
    "qc.deviation",
)


def _changes(n: int) -> dict:
    if n % 3 == 0:  # a creation: every field from None
        fields = {
            "batch_number": f"GA-20261124-{n % 100:02d}",
            "product_id": 1,
            "elution_id": n,
            "module": "M1",
            "started_at": "2026-11-24T07:45:00+00:00",
            "eos_at": "2026-11-24T08:10:00+00:00",
            "activity_eos_mbq": "812.40",
            "volume_ml": "8.00",
            "yield_percent": "71.3",
            "expires_at": "2026-11-24T12:10:00+00:00",
            "status": "in_qc",
            "notes": "",
        }
        return {name: {"old": None, "new": value} for name, value in fields.items()}
    return {
        "activity_eos_mbq": {"old": "812.40", "new": f"{800 + n % 50}.10"},
        "status": {"old": "in_qc", "new": "released"},
    }


def write_entries(count: int, *, first_id: int, prev_hash: str, start: datetime) -> str:
    """Append `count` chain-valid entries after entry `first_id - 1` (whose hash is `prev_hash`)
    by bulk inserts; return the hash of the last one."""
    from radiopharmacy.core import audit
    from radiopharmacy.models import AuditEvent

    keyed = audit._keyed()
    rows: list[AuditEvent] = []
    for entry_id in range(first_id, first_id + count):
        occurred_at = start + timedelta(milliseconds=250 * entry_id)
        event = AuditEvent(
            id=entry_id,
            occurred_at=occurred_at,
            user=None,
            username=f"bench{entry_id % USERS}",
            action=audit.AuditAction.CREATED if entry_id % 3 == 0 else audit.AuditAction.CHANGED,
            object_type=RECORD_TYPES[entry_id % len(RECORD_TYPES)],
            object_id=str(entry_id // 10),
            object_repr=f"GA-20261124-{entry_id % 100:02d}",
            changes=_changes(entry_id),
            reason="" if entry_id % 7 else "transcription error",
            prev_hash=prev_hash,
        )
        event.hash = audit.content_hash(event)
        event.hmac = audit.entry_mac(entry_id, event.hash, keyed)
        prev_hash = event.hash
        rows.append(event)
        if len(rows) == INSERT_CHUNK:
            AuditEvent.objects.bulk_create(rows)
            rows = []
    if rows:
        AuditEvent.objects.bulk_create(rows)
    return prev_hash


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the hashing processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed_verify(*, since_checkpoint: bool, processes: int):
    from radiopharmacy.core.audit import verify_chain

    began, began_cpu = time.perf_counter(), _cpu_seconds()
    report = verify_chain(since_checkpoint=since_checkpoint, processes=processes)
    return report, time.perf_counter() - began, _cpu_seconds() - began_cpu


def explain_filters(out) -> None:
    """The plan of the audit page's first page for each filter it offers (an index, not a scan
    of the table)."""
    from django.db import connection

    from radiopharmacy.site.audit_trail import Criteria, search

    if connection.vendor == "postgresql":  # the statistics a loaded table has, for the planner
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE radiopharmacy_auditevent")
    middle = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    filters = {
        "user": Criteria(user="bench7"),
        "action": Criteria(action="created"),
        "record type": Criteria(object_type="qc.deviation"),
        "record": Criteria(object_type="qc.qcresult", object_id="42"),
        "period": Criteria(since=middle, until=middle + timedelta(hours=1)),
    }
    for label, criteria in filters.items():
        plan = search(criteria).order_by("-id")[:51].explain()
        print(f"plan of the page by {label:<12} {' / '.join(plan.splitlines()[:2])}", file=out)


def run(entries: int, tail: int, out=sys.stdout) -> None:
    from django.db import connection

    from radiopharmacy.core.audit import checkpoint_write
    from radiopharmacy.models import AuditEvent

    head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    last_id, last_hash = head or (0, "0" * 64)
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    began = time.perf_counter()
    last_hash = write_entries(
        entries - tail, first_id=last_id + 1, prev_hash=last_hash, start=start
    )
    checkpoint_write()  # the hourly job's starting point
    write_entries(tail, first_id=last_id + 1 + entries - tail, prev_hash=last_hash, start=start)
    print(
        f"wrote {entries} entries on {connection.vendor} in {time.perf_counter() - began:.1f} s "
        f"(a signed checkpoint {tail} entries before the end)",
        file=out,
    )
    explain_filters(out)
    cpus = os.cpu_count() or 1  # verify_audit's default --processes
    runs = (("full", False, 1), (f"full, {cpus} proc.", False, cpus), ("incremental", True, cpus))
    for label, since, processes in runs:
        report, seconds, cpu = timed_verify(since_checkpoint=since, processes=processes)
        state = "intact" if report.ok else f"BROKEN: {report.problem}"
        print(
            f"verify_audit {label:<14} {report.read:>8} entries read in {seconds:6.2f} s: "
            f"{report.read / seconds:>9,.0f} entries/s; CPU {cpu:6.2f} s: "
            f"{report.read / max(cpu, 1e-9):>9,.0f} entries per CPU second ({state})",
            file=out,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument(
        "--tail",
        type=int,
        default=1_000,
        help="entries written after the last checkpoint (what the incremental check reads)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gallium-bench-audit-") as checkpoints:
        os.environ["AUDIT_CHECKPOINT_DIR"] = checkpoints
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")
        import django

        django.setup()
        from django.db import connection

        # The throwaway database: Django's test database for DATABASE_URL, made and dropped here.
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            run(args.entries, min(args.tail, args.entries))
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
