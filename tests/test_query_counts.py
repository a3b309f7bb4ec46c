"""Every page and every API list runs the same number of queries with ten times the data.

The world is read once (1×), then grows to ten times its elutions, QC results and their
corrections, batches, bookings and doses, and is read again: a query per row would show as a
different count. The audit page and API are measured with the audit trail's own tests.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qc.services.results import qc_result_record
from radiopharmacy.core import apibase
from radiopharmacy.core.roles import ALL_ROLES
from radiopharmacy.services.elutions import elution_record
from scheduling.services.bookings import booking_create
from scheduling.services.doses import dose_assign
from tests.factories import (
    BatchFactory,
    BookingFactory,
    DoseFactory,
    ElutionFactory,
    GeneratorFactory,
    record_qc_results,
)
from tests.pages import all_pages, page_url

pytestmark = pytest.mark.django_db

# The audit page is measured by the audit trail's tests; the certificate is one stored PDF.
SKIPPED_PAGES = {"audit-search", "qc-certificate-download"}
GROWTH = 9  # 1× → 10×
SESSION_NOISE = re.compile(r"django_session|SAVEPOINT", re.IGNORECASE)

# The API lists, from tests/test_permissions.py ENDPOINTS (GET paths without an id), and the
# per-batch list; the audit trail's own tests measure /api/v1/audit/.
API_LISTS = [
    "/api/v1/generators/",
    "/api/v1/elutions/",
    "/api/v1/batches/",
    "/api/v1/specifications/",
    "/api/v1/deviations/",
    "/api/v1/capas/",
    "/api/v1/bookings/",
    "/api/v1/doses/",
]


class World:
    pass


@pytest.fixture
def world(working_hours, radiopharmacist, qualified_person, scheduler):
    """One of each record the pages show, through the services where the numbers matter."""
    from qc.services.capas import capa_create
    from qc.services.deviations import deviation_open
    from radiopharmacy.core.sitetime import site_today

    now = timezone.now()
    w = World()
    w.radiopharmacist, w.scheduler = radiopharmacist, scheduler
    w.generator = GeneratorFactory(
        nominal_activity_mbq=3700.0,
        calibrated_at=now - timedelta(days=60),
        received_at=now - timedelta(days=58),
        expires_at=now + timedelta(days=300),
    )
    w.elution = elution_record(
        actor=radiopharmacist,
        generator_id=w.generator.pk,
        eluted_at=now - timedelta(minutes=70),
        activity_mbq=3000.0,
        measured_at=now - timedelta(minutes=70),
        volume_ml=5.0,
    )
    started = now - timedelta(minutes=60)
    w.released = BatchFactory(
        operator=radiopharmacist,
        started_at=started,
        elutions=[w.elution],
        elution_volumes=[{"elution": w.elution.pk, "volume_ml": 3.0}],
        activity_mbq=1200.0,
        qc="passing",
        qc_at=started + timedelta(minutes=35),
        status="released",
    )
    w.pending = BatchFactory(
        operator=radiopharmacist,
        started_at=now - timedelta(minutes=30),
        elutions=[w.elution],
        elution_volumes=[{"elution": w.elution.pk, "volume_ml": 1.0}],
        activity_mbq=200.0,
    )
    first = record_qc_results(w.pending, {"ph": 6.5}, performed_at=now - timedelta(minutes=2))[0]
    w.qc = qc_result_record(
        actor=radiopharmacist,
        batch_id=w.pending.pk,
        test="ph",
        value=6.4,
        performed_at=now - timedelta(minutes=1),
        supersedes=first,
        reason="Re-read the strip.",
    )
    w.booking = booking_create(
        actor=scheduler,
        patient_ref="PT-0001",
        weight_kg=40.0,
        injection_at=now + timedelta(minutes=40),
    )
    w.dose = dose_assign(
        actor=radiopharmacist,
        booking_id=w.booking.pk,
        batch_id=w.released.pk,
        draw_at=now + timedelta(minutes=30),
    )
    # One of each kind of row a page lists, so that 1× already runs each prefetch (Django skips
    # the prefetch of an empty list): a booking without a dose, a booking tomorrow with its dose.
    BookingFactory(injection_at=now + timedelta(minutes=50), created_by=scheduler)
    DoseFactory(
        booking=BookingFactory(injection_at=now + timedelta(days=1), created_by=scheduler),
        batch=w.released,
        assigned_by=radiopharmacist,
    )
    w.event = deviation_open(
        batch=w.pending, kind="deviation", description="Hot cell door open", actor=radiopharmacist
    )
    capa_create(
        actor=radiopharmacist,
        deviation=w.event,
        description="Door alarm",
        owner=radiopharmacist,
        due_on=site_today(),
    )
    return w


def grow(w: World) -> None:
    """Nine more of everything: elutions, QC corrections, batches, bookings and doses."""
    now = timezone.now()
    for i in range(GROWTH):
        ElutionFactory(
            generator=w.generator,
            eluted_at=now - timedelta(hours=30 + 6 * i),
            activity_mbq=2000.0,
        )
    qc = w.qc
    for i in range(GROWTH):
        qc = qc_result_record(
            actor=w.radiopharmacist,
            batch_id=w.pending.pk,
            test="ph",
            value=6.0 + i / 10,
            performed_at=now - timedelta(seconds=50 - i),
            supersedes=qc,
            reason=f"Re-read the strip ({i}).",
        )
    for i in range(GROWTH):
        BatchFactory(
            operator=w.radiopharmacist,
            started_at=now - timedelta(days=1 + i, minutes=30),
            activity_mbq=500.0,
            qc="passing",
        )
    for i in range(GROWTH):
        booking = BookingFactory(
            injection_at=now + timedelta(minutes=60 + 10 * i), created_by=w.scheduler
        )
        DoseFactory(booking=booking, batch=w.released, assigned_by=w.radiopharmacist)
        DoseFactory(
            booking=BookingFactory(
                injection_at=now + timedelta(days=1, minutes=10 + 10 * i), created_by=w.scheduler
            ),
            batch=w.released,
            assigned_by=w.radiopharmacist,
        )


def _count(client, url) -> int:
    client.get(url)  # warm the per-process caches (site settings, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code in (200, 202), (url, response.status_code)
    # Not the session's own bookkeeping (its idle timer is saved now and then, at any size).
    return sum(1 for q in queries.captured_queries if not SESSION_NOISE.search(q["sql"]))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_runs_the_same_queries_with_ten_times_the_data(client, make_user, world, role):
    client.force_login(make_user(role))
    pages = [
        page_url(world, name, kwargs)
        for name, kwargs, allowed in all_pages()
        if role in allowed and name not in SKIPPED_PAGES
    ]
    small = {url: _count(client, url) for url in pages}
    grow(world)
    large = {url: _count(client, url) for url in pages}
    assert {u: (small[u], large[u]) for u in pages if small[u] != large[u]} == {}


def test_every_api_list_runs_the_same_queries_with_ten_times_the_data(api_as, auditor, world):
    client = api_as(auditor)
    lists = [*API_LISTS, f"/api/v1/batches/{world.pending.pk}/qc-results/"]
    small = {url: _count(client, url) for url in lists}
    grow(world)
    large = {url: _count(client, url) for url in lists}
    assert {u: (small[u], large[u]) for u in lists if small[u] != large[u]} == {}


# --- Bounded counts ------------------------------------------------------------------------------


def test_a_list_counts_its_rows_only_up_to_the_limit_and_pages_on(api_as, auditor, monkeypatch):
    monkeypatch.setattr(apibase.BoundedCountPaginator, "count_limit", 5)
    generator = GeneratorFactory()
    now = timezone.now()
    for i in range(12):
        ElutionFactory(generator=generator, eluted_at=now - timedelta(hours=i + 1))
    client = api_as(auditor)
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/api/v1/elutions/", {"page_size": 4}).json()
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 6" in counts[0]  # never the whole table
    assert (first["count"], first["count_exact"], len(first["results"])) == (5, False, 4)
    seen = [row["id"] for row in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        assert page["count_exact"] is False and page["previous"]
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 12
    beyond = client.get("/api/v1/elutions/", {"page_size": 4, "page": 9})
    assert beyond.status_code == 404


def test_a_small_list_still_gives_its_exact_count(api_as, auditor):
    ElutionFactory()
    body = api_as(auditor).get("/api/v1/elutions/").json()
    assert (body["count"], body["count_exact"], body["next"]) == (1, True, None)
