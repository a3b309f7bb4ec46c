"""The reliability suite (issue 13): races and failures that must never cost a patient dose, a
second signature or a lost or doubled certificate (PostgreSQL, Redis, real workers).

- 20 radiopharmacists assigning doses from one batch at once, 50 rounds: never over-allocated.
- 5 qualified persons clicking "release" at once: one signature, one certificate.
- A worker killed in the middle of rendering a certificate: it is rendered once, later.
- The broker down during a release is tests/integration/test_release_worker.py (the release
  succeeds; the certificate comes exactly once after the broker is back), and the schema-driven
  fuzz of every operation for every role and the superuser is tests/test_api_fuzz.py.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from qc.models import BatchSignature, Certificate
from qc.services.release import batch_release
from radiopharmacy.core import outbox
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.models import Batch, OutboxJob
from scheduling.models import BatchAllocation, Dose
from scheduling.services import doses as dose_services
from tests.conftest import wait_for
from tests.factories import (
    QC_TIME,
    RELEASE_TIME,
    TEST_PASSWORD,
    BatchFactory,
    BookingFactory,
    ReleasedBatchFactory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AMS = ZoneInfo("Europe/Amsterdam")
ROOT = Path(__file__).resolve().parent.parent.parent
CERTIFICATE_TASK = "qc.render_certificate"


def run_at_once(count: int, action, *, rounds: int = 1) -> list[list[str]]:
    """Run action(round, index) in `count` threads, all starting each round together; returns
    the outcomes per round ("ok", "refused" for a domain refusal, or the unexpected error)."""
    barrier = threading.Barrier(count)
    outcomes: list[list[str]] = [[] for _ in range(rounds)]
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait(timeout=60)
                try:
                    action(r, index)
                    result = "ok"
                except ApplicationError:  # StateConflict, NotAllowed: refused, nothing changed
                    result = "refused"
                except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
                    result = f"error: {type(exc).__name__}: {exc}"
                with lock:
                    outcomes[r].append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


# --- 20-way parallel dose assignment over 50 rounds -----------------------------------------

ASSIGNERS = 20
ROUNDS = 50


@pytest.mark.requirement("DOS-06")
def test_twenty_parallel_assignments_over_fifty_rounds_never_over_allocate(make_user):
    rp = make_user("radiopharmacist")
    scheduler = make_user("scheduler")
    operator = make_user("radiopharmacist")
    # Each round's batch: 6 mL at 200 MBq/mL at 09:40; a dose (150 MBq at 10:30, drawn 10:10)
    # needs 1.252 mL, so 4 of the 20 fit. A round's batch is new, its bookings are new.
    eos = datetime(2026, 11, 24, 9, 40, tzinfo=AMS)
    draw_at = datetime(2026, 11, 24, 10, 10, tzinfo=AMS)
    batches = [
        ReleasedBatchFactory(eos_at=eos, volume_ml=6.0, operator=operator) for _ in range(ROUNDS)
    ]
    bookings = [
        [
            BookingFactory(
                injection_at=datetime(2026, 11, 24, 10, 30, tzinfo=AMS),
                prescribed_activity_mbq=150,
                created_by=scheduler,
            ).pk
            for _ in range(ASSIGNERS)
        ]
        for _ in range(ROUNDS)
    ]

    def assign(r: int, i: int) -> None:
        dose_services.dose_assign(
            actor=rp, booking_id=bookings[r][i], batch_id=batches[r].pk, draw_at=draw_at
        )

    started = time.monotonic()
    outcomes = run_at_once(ASSIGNERS, assign, rounds=ROUNDS)
    # a figure to read in the log (-rA), not a check: timings are the benchmarks' business
    print(f"{ROUNDS} rounds of {ASSIGNERS} assigners in {time.monotonic() - started:.1f} s")

    errors = [o for round_ in outcomes for o in round_ if o.startswith("error")]
    assert not errors, errors[:5]
    for r, batch in enumerate(batches):
        allocation = BatchAllocation.objects.get(batch=batch)
        doses = list(Dose.objects.filter(batch=batch))
        assert len(outcomes[r]) == ASSIGNERS
        assert outcomes[r].count("ok") == len(doses) == 4, (r, outcomes[r])
        assert allocation.allocated_volume_ul == sum(d.allocated_volume_ul for d in doses)
        assert allocation.allocated_volume_ul <= allocation.total_volume_ul
        assert sum(d.volume_to_draw_ml for d in doses) <= batch.volume_ml
    assert Dose.objects.count() == 4 * ROUNDS


# --- 5-way parallel release clicks ----------------------------------------------------------


def test_five_simultaneous_release_clicks_give_one_signature_and_one_certificate(
    celery_worker_process, make_user, radiopharmacist
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    qps = [make_user("qualified_person") for _ in range(5)]

    def click(_round: int, i: int) -> None:
        batch_release(batch_id=batch.pk, actor=qps[i], password=TEST_PASSWORD, decision="release")

    with time_machine.travel(RELEASE_TIME, tick=True):
        (outcomes,) = run_at_once(5, click)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert "ok" in outcomes
    assert BatchSignature.objects.filter(batch=batch).count() == 1
    assert Batch.objects.get(pk=batch.pk).status == "released"
    assert OutboxJob.objects.filter(task_name=CERTIFICATE_TASK).count() == 1
    certificate = wait_for(lambda: Certificate.objects.filter(batch=batch).first())
    job = OutboxJob.objects.get(task_name=CERTIFICATE_TASK)
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.DONE)
    assert outbox.sweep(now=timezone.now() + timedelta(hours=1)) == 0
    assert list(Certificate.objects.filter(batch=batch)) == [certificate]


# --- A worker killed in the middle of a render ------------------------------------------------

# The worker that will be killed: a real `celery worker` whose certificate renderer announces it
# has started (a marker file) and then hangs, so the test can kill it mid-render.
_STUCK_WORKER = """
import os, pathlib, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")
django.setup()
from qc.services import certificates
marker = pathlib.Path(os.environ["GALLIUM_TEST_RENDER_MARKER"])
def stuck(*args, **kwargs):
    marker.write_text(str(os.getpid()))
    time.sleep(600)
certificates.render_certificate = stuck
from radiopharmacy.celery import app
app.worker_main(sys.argv[1:])
"""


def _worker_env() -> dict:
    """The environment of a worker on the test database (as the conftest's worker)."""
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    credentials = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    env = os.environ.copy()
    env["DATABASE_URL"] = (
        f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return env


def test_a_worker_killed_mid_render_gives_the_certificate_exactly_once(
    celery_worker_process, radiopharmacist, qualified_person, monkeypatch, tmp_path
):
    from radiopharmacy.celery import app

    queue = f"gallium-test-kill-{uuid.uuid4().hex[:8]}"
    name = f"doomed-{uuid.uuid4().hex[:8]}@localhost"
    marker = tmp_path / "render-started"
    env = {**_worker_env(), "GALLIUM_TEST_RENDER_MARKER": str(marker)}
    log_path = ROOT / "test-artifacts" / "celery-worker-killed.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        doomed = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _STUCK_WORKER,
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-Q",
                queue,
                "-n",
                name,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=1.0):
            assert doomed.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the worker to kill did not start"

        # The release's certificate job goes to that worker's queue only.
        send_task = app.send_task

        def to_the_doomed_worker(task_name, *args, **kwargs):
            if task_name == CERTIFICATE_TASK:
                kwargs["queue"] = queue
            return send_task(task_name, *args, **kwargs)

        monkeypatch.setattr(app, "send_task", to_the_doomed_worker)
        batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
        with time_machine.travel(RELEASE_TIME, tick=True):
            batch_release(batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD)
        wait_for(marker.exists)  # the render has begun
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=15)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=15)
        monkeypatch.undo()
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)

    job = OutboxJob.objects.get(task_name=CERTIFICATE_TASK)
    assert job.status == OutboxJob.Status.PUBLISHED  # sent, never finished
    assert not Certificate.objects.exists()
    # The sweeper finds the job unfinished long after it was sent and sends it again; the
    # session's healthy worker renders it.
    later = timezone.now() + outbox.REPUBLISH_AFTER + timedelta(minutes=1)
    assert outbox.sweep(now=later) == 1
    certificate = wait_for(lambda: Certificate.objects.filter(batch=batch).first())
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.DONE)
    assert OutboxJob.objects.get(pk=job.pk).attempts == 1  # the killed run, counted once
    assert outbox.sweep(now=later + timedelta(hours=1)) == 0
    assert list(Certificate.objects.filter(batch=batch)) == [certificate]
    assert BatchSignature.objects.filter(batch=batch).count() == 1
