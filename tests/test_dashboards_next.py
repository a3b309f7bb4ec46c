"""The radiopharmacist's "Next": countdowns the right way round and each batch's real state; the
alert strip ordered by what matters (UI.md). Time is frozen: every figure is exact."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.site import dashboards
from tests.factories import (
    PASSING_RELEASE_VALUES,
    REFERENCE_TIME,
    BatchFactory,
    BookingFactory,
    DoseFactory,
    GeneratorFactory,
)

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + timedelta(minutes=75)  # after the factory batches' EOS


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def home(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("home")).content.decode()


def next_block(body: str) -> str:
    return body[body.index('class="next-actions"') : body.index("Today's plan")]


def item(block: str, text: str) -> str:
    start = block.index(text)
    return block[start : block.index("</li>", start)]


def test_a_future_task_counts_down_to_its_time(client, radiopharmacist):
    dose = DoseFactory(
        booking=BookingFactory(injection_at=NOW + timedelta(minutes=30), status="dose_assigned"),
        draw_at=NOW + timedelta(minutes=20),
    )
    block = next_block(home(client, radiopharmacist))
    line = item(block, f"Draw the dose of {dose.booking.patient_ref}")
    assert "in 20\xa0minutes" in line and "late" not in line
    assert "in 0\xa0minutes" not in block


def test_a_batch_without_results_is_late_from_its_eos(client, radiopharmacist):
    batch = BatchFactory()
    late_min = int((NOW - batch.eos_at).total_seconds() // 60)
    line = item(next_block(home(client, radiopharmacist)), f"QC of {batch.batch_number}")
    assert late_min > 0 and f"{late_min}\xa0minutes late" in line
    assert reverse("qc-entry", args=[batch.pk]) in next_block(home(client, radiopharmacist))


def test_a_batch_with_some_results_says_how_many_remain(client, radiopharmacist):
    batch = BatchFactory(qc={"ph": 6.5, "rcp_itlc": 98.0}, qc_at=NOW - timedelta(minutes=5))
    action = dashboards.batch_next(batch, now=NOW)
    assert action.state == "due" and action.overdue
    assert (
        action.what.startswith(f"QC of {batch.batch_number} (")
        and "results to enter" in action.what
    )


def test_a_batch_with_all_qc_entered_is_awaiting_release_not_late(client, radiopharmacist):
    batch = BatchFactory(qc="passing", qc_at=NOW - timedelta(minutes=5))
    line = item(next_block(home(client, radiopharmacist)), batch.batch_number)
    assert "QC entered, awaiting release" in line and "Awaiting release" in line
    assert "late" not in line


def test_a_batch_blocked_by_an_oos_says_so_not_late(client, radiopharmacist):
    values = {**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0}  # every result entered, one fails
    batch = BatchFactory(qc=values, qc_at=NOW - timedelta(minutes=5))
    line = item(next_block(home(client, radiopharmacist)), batch.batch_number)
    assert "QC entered, blocked" in line and "Blocked" in line
    assert "RCP 94.0 % is below the 95 % limit" in line
    assert "late" not in line


def test_an_expired_unreleased_batch_is_not_a_countdown(radiopharmacist):
    batch = BatchFactory(qc="passing", qc_at=NOW - timedelta(minutes=5))
    action = dashboards.batch_next(batch, now=batch.expires_at + timedelta(minutes=1))
    assert action.state == "expired" and not action.overdue


def test_a_generator_awaiting_its_receipt_check_is_on_the_dashboard(client, radiopharmacist):
    new = GeneratorFactory(status="quarantine", accepted_at=None, accepted_by=None)
    GeneratorFactory(status="quarantine")  # quarantined after acceptance: not a receipt check
    body = home(client, radiopharmacist)
    assert "In quarantine on receipt" in body
    assert reverse("generator-accept", args=[new.pk]) in body
    assert body.count("accept it into use") == 1


# --- The alert strip ---------------------------------------------------------------------------


def raise_alert(kind, level="warning", key=None):
    alert, _ = alert_raise(
        key=key or kind, kind=kind, level=level, message=f"{kind} message", object_type=""
    )
    return alert


def test_patient_danger_then_blocked_work_then_the_rest(radiopharmacist, qualified_person):
    raise_alert("batch_expiring")
    raise_alert("capa_overdue")
    raise_alert("batch_on_hold", level="critical")
    raise_alert("generator_low_efficiency")
    raise_alert("batch_recalled", level="critical")
    kinds = [a.kind for a in dashboards.alerts_for(qualified_person)]
    assert set(kinds[:2]) == {"batch_recalled", "batch_on_hold"}
    assert kinds[2] == "capa_overdue"
    assert set(kinds[3:]) == {"batch_expiring", "generator_low_efficiency"}


def test_a_failed_background_job_is_shown_to_administrators(client, radiopharmacist):
    raise_alert("outbox_job_failed", level="critical")
    admin = get_user_model().objects.create_user("admin-x", password="x", is_staff=True)
    assert [a.kind for a in dashboards.alerts_for(admin)] == ["outbox_job_failed"]
    assert dashboards.alerts_for(radiopharmacist) == []
    client.force_login(admin)
    page = client.get(reverse("home"))
    assert page.status_code == 200 and "outbox_job_failed message" in page.content.decode()


def test_the_alert_strip_comes_before_the_page_content(client, radiopharmacist):
    raise_alert("batch_on_hold", level="critical")
    body = home(client, radiopharmacist)
    assert body.index('aria-label="Open alerts"') < body.index('<main id="main">')
