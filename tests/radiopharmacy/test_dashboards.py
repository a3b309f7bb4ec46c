"""Home dashboards: each role's panels, constant queries, alerts and the per-user unit."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.models import Alert, AuditEvent, UserPreference
from radiopharmacy.site import dashboards
from scheduling.services.bookings import booking_create
from scheduling.services.doses import dose_assign
from tests.day_world import build_world
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(working_hours, radiopharmacist, qualified_person, scheduler):
    return build_world(
        radiopharmacist=radiopharmacist, qualified_person=qualified_person, scheduler=scheduler
    )


def _queries(func, **kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func(now=timezone.now(), **kwargs)
    return len(ctx.captured_queries)


def _more_rows(world, radiopharmacist, scheduler):
    """Two more batches awaiting QC/release and two more bookings with doses."""
    now = timezone.now()
    for minutes in (50, 40):  # EOS 25 min later: already ended
        BatchFactory(
            operator=radiopharmacist,
            started_at=now - timedelta(minutes=minutes),
            elutions=[world.elution],
            elution_volumes=[{"elution": world.elution.pk, "volume_ml": 0.5}],
            activity_mbq=100.0,
            qc={"ph": 6.0},
            qc_at=now,
        )
    for i in range(2):
        booking = booking_create(
            actor=scheduler,
            patient_ref=f"PT-10{i}",
            weight_kg=70.0,
            injection_at=now + timedelta(minutes=50 + 10 * i),
        )
        dose_assign(
            actor=radiopharmacist,
            booking_id=booking.pk,
            batch_id=world.released.pk,
            draw_at=now + timedelta(minutes=40 + 10 * i),
        )


def test_each_dashboard_costs_the_same_queries_whatever_the_number_of_rows(
    world, radiopharmacist, scheduler
):
    funcs = {
        "rp": (dashboards.radiopharmacist_dashboard, {"unit_factor": lambda v: v}),
        "qp": (dashboards.qualified_person_dashboard, {}),
        "sch": (dashboards.scheduler_dashboard, {}),
        "aud": (dashboards.auditor_dashboard, {}),
    }
    before = {k: _queries(f, **kw) for k, (f, kw) in funcs.items()}
    _more_rows(world, radiopharmacist, scheduler)
    after = {k: _queries(f, **kw) for k, (f, kw) in funcs.items()}
    assert after == before


@pytest.mark.requirement("WEB-01")
def test_radiopharmacist_home_shows_generator_curve_batches_awaiting_qc_and_doses(
    client, radiopharmacist, world
):
    client.force_login(radiopharmacist)
    html = client.get(reverse("home")).content.decode()
    assert "GP-WORLD-1" in html and 'id="dash-gen-' in html and "dash-eluate-chart" in html
    assert world.pending.batch_number in html
    assert "PT-0001" in html and f"{world.dose.volume_to_draw_ml:.2f}" in html
    assert "Batch expiring" in html and "Acknowledge" in html


@pytest.mark.requirement("WEB-01")
def test_qualified_person_home_lists_blockers_and_todays_signatures(
    client, qualified_person, world
):
    client.force_login(qualified_person)
    html = client.get(reverse("home")).content.decode()
    assert world.pending.batch_number in html and "result missing" in html
    assert world.released.batch_number in html and "Released for human use" in html


@pytest.mark.requirement("WEB-01")
def test_scheduler_home_lists_todays_bookings_and_unserved(client, scheduler, world):
    booking_create(
        actor=scheduler,
        patient_ref="PT-9UNSERVED",
        weight_kg=60.0,
        injection_at=timezone.now() + timedelta(hours=1),
    )
    client.force_login(scheduler)
    html = client.get(reverse("home")).content.decode()
    assert "PT-0001" in html and "PT-9UNSERVED" in html and "Without a dose yet" in html


@pytest.mark.requirement("WEB-01")
def test_auditor_home_links_audit_search_and_shows_releases(client, auditor, world):
    client.force_login(auditor)
    html = client.get(reverse("home")).content.decode()
    assert reverse("audit-search") in html and reverse("oos-recalls") in html
    assert world.released.batch_number in html


def test_alerts_are_shown_to_the_roles_they_concern(radiopharmacist, auditor, world):
    alert_raise(key="chain", kind="audit_chain_broken", message="Audit chain broken")
    assert [a.kind for a in dashboards.alerts_for(auditor)] == ["audit_chain_broken"]
    assert "audit_chain_broken" not in {a.kind for a in dashboards.alerts_for(radiopharmacist)}


def test_the_strip_ranks_in_the_database_whatever_the_number_of_warnings(qualified_person, world):
    """A held batch's alert comes first even when it is older than a page of warnings; then what
    blocks work (critical), then the rest, newest first within each rank."""
    alert_raise(key="hold", kind="batch_on_hold", message="Batch on hold", level="critical")
    alert_raise(key="chain", kind="audit_chain_broken", message="Audit chain broken")
    for i in range(25):
        alert_raise(key=f"oot-{i}", kind="oot", message=f"Out of trend {i}")
    shown = dashboards.alerts_for(qualified_person, limit=5)
    assert [a.kind for a in shown[:2]] == ["batch_on_hold", "audit_chain_broken"]
    assert [a.message for a in shown[2:]] == [
        "Out of trend 24",
        "Out of trend 23",
        "Out of trend 22",
    ]


def test_acknowledging_an_alert_removes_it_from_the_strip(client, radiopharmacist, world):
    client.force_login(radiopharmacist)
    response = client.post(reverse("alert-acknowledge", args=[world.alert.pk]), {"next": "/"})
    assert response.status_code == 302
    alert = Alert.objects.get(pk=world.alert.pk)
    assert alert.acknowledged_by == radiopharmacist and alert.acknowledged_at is not None
    assert 'aria-label="Open alerts"' not in client.get(reverse("home")).content.decode()


@pytest.mark.requirement("API-07")
def test_an_auditor_cannot_acknowledge_an_alert(client, auditor, world):
    client.force_login(auditor)
    response = client.post(reverse("alert-acknowledge", args=[world.alert.pk]))
    assert response.status_code == 403
    assert Alert.objects.get(pk=world.alert.pk).acknowledged_at is None


@pytest.mark.requirement("WEB-04")
def test_activity_unit_is_remembered_per_user_across_sessions(client, scheduler):
    client.force_login(scheduler)
    client.post(reverse("set-activity-unit"), {"unit": "mCi", "next": "/"})
    assert UserPreference.objects.get(user=scheduler).activity_unit == "mCi"
    client.logout()
    client.force_login(scheduler)  # a new session, e.g. another workstation
    html = client.get(reverse("home")).content.decode()
    assert '<option value="mCi" selected>' in html


@pytest.mark.requirement("AUD-04", "A11-9")
def test_audit_search_filters_by_record_and_reads_times_in_the_site_zone(client, auditor, world):
    client.force_login(auditor)
    url = reverse("audit-search")
    html = client.get(
        url, {"object_type": "radiopharmacy.batch", "object_id": str(world.released.pk)}
    ).content.decode()
    assert "released" in html and "qc.qcresult" not in html.split("<tbody>")[1]
    # after every entry (the fixture users' accounts are audited when they are made, before
    # the world's clock)
    last = AuditEvent.objects.aggregate(last=Max("occurred_at"))["last"]
    after = max(timezone.now(), last) + timedelta(hours=1)
    future = timezone.localtime(after).strftime("%Y-%m-%dT%H:%M")
    html = client.get(url, {"since": future}).content.decode()
    assert "No entry matches." in html


@pytest.mark.requirement("AUD-04", "A11-9")
def test_batch_record_audit_trail_includes_every_linked_record(client, auditor, world):
    client.force_login(auditor)
    html = client.get(reverse("batch-detail", args=[world.released.pk])).content.decode()
    trail = html.split("<h2>Audit trail</h2>")[1]
    # Record types in words, as the audit trail reads for people.
    for record_type in ("Batch", "Elution", "QC result", "Batch signature", "Certificate", "Dose"):
        assert f"<td>{record_type}<br>" in trail, record_type
    assert "Released for human use" in html and reverse("verify-form") in html


def test_radiopharmacist_sees_the_next_actions_soonest_first(world, radiopharmacist, client):
    now = timezone.now()
    actions = dashboards.radiopharmacist_dashboard(now=now, unit_factor=lambda v: v)["next_actions"]
    assert [a.at for a in actions] == sorted(a.at for a in actions)
    whats = [a.what for a in actions]
    assert f"QC of {world.pending.batch_number}" in whats
    assert f"Draw the dose of {world.booking.patient_ref}" in whats
    qc = next(a for a in actions if a.what.startswith("QC of"))
    assert qc.overdue and qc.url == reverse("qc-entry", args=[world.pending.pk])
    client.force_login(radiopharmacist)
    body = client.get(reverse("home")).content.decode()
    assert "Next" in body and f"QC of {world.pending.batch_number}" in body
