"""Release → certificate through Redis and a real `celery worker` (PostgreSQL, REQUIRE_SERVICES).

The certificate job goes through the outbox: a broker outage at release time delays the
certificate but never loses it and never breaks the release.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError

from qc.models import BatchSignature, Certificate
from radiopharmacy.core import outbox
from radiopharmacy.models import Batch, OutboxJob
from tests.conftest import wait_for
from tests.factories import QC_TIME, RELEASE_TIME, TEST_PASSWORD, BatchFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def release_over_api(api_as, user, batch):
    # Only the signing happens at the (past) release time; the clock runs normally otherwise.
    with time_machine.travel(RELEASE_TIME, tick=True):
        return api_as(user).post(
            f"/api/v1/batches/{batch.pk}/release/",
            {"decision": "release", "password": TEST_PASSWORD},
            format="json",
        )


@pytest.mark.requirement("REL-04", "OPS-02")
def test_release_certificate_is_rendered_by_the_worker(
    celery_worker_process, api_as, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = release_over_api(api_as, qualified_person, batch)
    assert response.status_code == 201, response.content
    certificate = wait_for(lambda: Certificate.objects.filter(batch=batch).first())
    signature = BatchSignature.objects.get(batch=batch)
    assert certificate.signature == signature
    assert bytes(certificate.pdf).startswith(b"%PDF")
    job = OutboxJob.objects.get(key=f"certificate:{signature.pk}")
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.DONE)
    pdf = api_as(qualified_person).get(f"/api/v1/batches/{batch.pk}/certificate/")
    assert pdf.status_code == 200 and pdf.content == bytes(certificate.pdf)


def test_release_succeeds_with_the_broker_down_and_the_certificate_comes_once_after_it_returns(
    celery_worker_process, api_as, radiopharmacist, qualified_person, monkeypatch
):
    from radiopharmacy.celery import app

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    monkeypatch.setattr(app, "send_task", unreachable)
    response = release_over_api(api_as, qualified_person, batch)
    assert response.status_code == 201, response.content
    assert Batch.objects.get(pk=batch.pk).status == "released"
    signature = BatchSignature.objects.get(batch=batch)
    job = OutboxJob.objects.get(key=f"certificate:{signature.pk}")
    assert job.status == OutboxJob.Status.PENDING
    assert job.attempts == 1 and "Connection refused" in job.last_error
    assert (
        api_as(qualified_person).get(f"/api/v1/batches/{batch.pk}/certificate/").status_code == 202
    )
    # a sweep while the broker is still down publishes nothing and loses nothing
    later = timezone.now() + timedelta(minutes=1)
    assert outbox.sweep(now=later) == 0
    assert not Certificate.objects.exists()

    monkeypatch.undo()  # the broker is back
    assert outbox.sweep(now=later) == 1
    certificate = wait_for(lambda: Certificate.objects.filter(batch=batch).first())
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).status == OutboxJob.Status.DONE)
    # sweeping again (and again much later) renders nothing more
    assert outbox.sweep(now=later) == 0
    assert outbox.sweep(now=timezone.now() + timedelta(hours=1)) == 0
    assert Certificate.objects.filter(batch=batch).count() == 1
    assert Certificate.objects.get(batch=batch).sha256 == certificate.sha256


@pytest.mark.requirement("P11-11.100")
def test_two_simultaneous_release_clicks_give_one_signature(
    radiopharmacist, qualified_person, make_user
):
    import threading

    from django.db import connection

    from qc.services.release import batch_release

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    other_qp = make_user("qualified_person")
    barrier = threading.Barrier(2)
    outcomes = []

    def click(user):
        try:
            barrier.wait(timeout=10)
            batch_release(batch_id=batch.pk, actor=user, password=TEST_PASSWORD, decision="release")
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    with time_machine.travel(RELEASE_TIME, tick=True):
        threads = [threading.Thread(target=click, args=(u,)) for u in (qualified_person, other_qp)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    # One signs; the other waits on the row lock, then finds the signature (same decision:
    # returns the batch unchanged).
    assert sorted(outcomes) == ["ok", "ok"]
    assert BatchSignature.objects.filter(batch=batch).count() == 1
    assert OutboxJob.objects.filter(task_name="qc.render_certificate").count() == 1
