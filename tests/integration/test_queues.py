"""Queues are isolated (PostgreSQL, Redis, a real `celery worker`): plan recomputes go to the
`plans` queue and certificates to `certificates`, so with 500 recomputes waiting a newly signed
certificate is rendered at once, while the recomputes are still waiting."""

import pytest
import time_machine

from qc.models import Certificate
from radiopharmacy.celery import app
from radiopharmacy.core.sitetime import site_date
from tests.conftest import wait_for
from tests.factories import (
    QC_TIME,
    RELEASE_TIME,
    TEST_PASSWORD,
    BatchFactory,
    BookingFactory,
    GeneratorFactory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PENDING_RECOMPUTES = 500


def _queue_length(name: str) -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.client.llen(name)


def test_a_certificate_is_rendered_while_500_plan_recomputes_wait(
    celery_worker_process, api_as, radiopharmacist, qualified_person
):
    assert app.amqp.router.route({}, "scheduling.recompute_plan")["queue"].name == "plans"
    assert app.amqp.router.route({}, "qc.render_certificate")["queue"].name == "certificates"
    generator = GeneratorFactory()
    day = site_date(RELEASE_TIME)  # the bookings' day
    for hour in (9, 11, 13, 15):
        BookingFactory(injection_at=RELEASE_TIME.replace(hour=hour))
    for n in range(PENDING_RECOMPUTES):
        app.send_task(
            "scheduling.recompute_plan",
            kwargs={
                "date": day.isoformat(),
                "generator_id": generator.pk,
                "trigger": f"queue-test:{n}",
            },
        )
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with time_machine.travel(RELEASE_TIME, tick=True):
        response = api_as(qualified_person).post(
            f"/api/v1/batches/{batch.pk}/release/",
            {"decision": "release", "password": TEST_PASSWORD},
            format="json",
        )
    assert response.status_code == 201, response.content
    certificate = wait_for(lambda: Certificate.objects.filter(batch=batch).first(), timeout=60)
    assert bytes(certificate.pdf).startswith(b"%PDF")
    # The certificate did not wait for the plans: most of them are still queued.
    waiting = _queue_length("plans")
    assert waiting >= PENDING_RECOMPUTES - 50, waiting
    app.control.purge()  # the rest would only recompute the same day again
    # Let the worker finish the recompute in hand before the test's tables are flushed.
    wait_for(lambda: not any((app.control.inspect(timeout=1.0).active() or {}).values()))
