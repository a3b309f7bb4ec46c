"""Quality event pages (SPEC §2.4a, UI.md): the register and its filters, the event page with
its history, the investigation forms of each phase, the qualified person's closing signature,
CAPA, the look-back page and its CSV, and the recall and hold-lifting forms of the release page.

The clock is frozen at the default batch's release time; records are made when they happen.
"""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from qc.models import BatchSignature, Capa, Deviation
from qc.services.capas import capa_complete, capa_create
from qc.services.deviations import deviation_open, investigation_record
from qc.services.results import qc_result_record
from radiopharmacy.choices import BatchStatus
from radiopharmacy.models import Alert, AuditEvent, Batch
from tests.factories import (
    QC_TIME,
    RELEASE_TIME,
    TEST_PASSWORD,
    BatchFactory,
    DoseFactory,
    ReleasedBatchFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]

CAUSE = "Transcription error: 97.2 typed as 93 from the scanner printout"


def as_user(client, user):
    client.force_login(user)
    return client


def event_url(event) -> str:
    return f"/quality-events/{event.pk}/"


@pytest.fixture
def failing_rcp(radiopharmacist):
    """A batch whose RCP was entered as 93 % (a typo for 97.2 %): its OOS is open."""
    batch = BatchFactory(
        operator=radiopharmacist,
        qc="passing",
        skip={"rcp_itlc"},
        recorded_at=QC_TIME,
    )
    qc_result_record(
        actor=radiopharmacist,
        batch_id=batch.pk,
        test="rcp_itlc",
        value=93,
        performed_at=QC_TIME,
        instrument="ITLC scanner 2",
    )
    return batch, Deviation.objects.get(batch=batch, kind="oos")


def correct_rcp(batch, actor):
    return qc_result_record(
        actor=actor,
        batch_id=batch.pk,
        test="rcp_itlc",
        value=97.2,
        performed_at=QC_TIME,
        reason="Transcription error: 97.2 read as 93",
    )


# --- the register ----------------------------------------------------------------------------


@pytest.mark.requirement("QE-01")
def test_the_register_filters_by_status_kind_batch_and_age(
    client, failing_rcp, radiopharmacist, auditor
):
    batch, oos = failing_rcp
    with time_machine.travel(RELEASE_TIME - timedelta(days=10), tick=False):
        old = deviation_open(
            batch=None,
            kind="deviation",
            description="Clean room pressure cascade out of range",
            actor=radiopharmacist,
        )
    complaint = deviation_open(
        batch=None, kind="complaint", description="Late delivery", actor=radiopharmacist
    )
    investigation_record(
        deviation_id=complaint.pk, actor=radiopharmacist, phase=1, findings="Courier late"
    )
    client = as_user(client, auditor)

    def listed(**query):
        html = client.get("/oos-recalls/", query).content.decode()
        return {e.pk for e in (oos, old, complaint) if f'href="{event_url(e)}"' in html}

    assert listed() == {oos.pk, old.pk, complaint.pk}
    assert listed(status="investigating") == {complaint.pk}
    assert listed(status="open") == {oos.pk, old.pk}
    assert listed(kind="oos") == {oos.pk}
    assert listed(batch=batch.batch_number[-6:]) == {oos.pk}
    assert listed(older_than_days=5) == {old.pk}
    assert listed(older_than_days=5, kind="oos") == set()
    assert client.get("/oos-recalls/", {"older_than_days": "-1"}).status_code == 200
    assert listed(older_than_days="-1") == set()  # an invalid filter matches nothing


def test_the_register_shows_the_events_not_closed_unless_the_status_filter_asks(
    client, radiopharmacist, auditor
):
    done = deviation_open(
        batch=None, kind="deviation", description="Door left open", actor=radiopharmacist
    )
    Deviation.objects.filter(pk=done.pk).update(status=Deviation.Status.CLOSED)  # closed years ago
    pending = deviation_open(
        batch=None, kind="complaint", description="Late delivery", actor=radiopharmacist
    )
    client = as_user(client, auditor)

    def listed(**query):
        html = client.get("/oos-recalls/", query).content.decode()
        return {e.pk for e in (done, pending) if f'href="{event_url(e)}"' in html}

    assert listed() == {pending.pk}
    assert listed(kind="deviation") == set()
    assert listed(status="closed") == {done.pk}
    assert listed(status="any") == {done.pk, pending.pk}
    assert listed(status="any", kind="deviation") == {done.pk}


@pytest.mark.parametrize("role", ["radiopharmacist", "qualified_person", "auditor"])
def test_the_register_is_in_the_menu_of_the_quality_roles(client, make_user, role):
    html = as_user(client, make_user(role)).get("/").content.decode()
    assert 'href="/oos-recalls/"' in html and 'href="/capas/"' in html


def test_the_register_is_not_in_the_schedulers_menu(client, scheduler):
    html = as_user(client, scheduler).get("/").content.decode()
    assert 'href="/oos-recalls/"' not in html


# --- opening an event ------------------------------------------------------------------------


def test_a_radiopharmacist_opens_a_deviation_without_batch_and_an_oos_needs_one(
    client, radiopharmacist
):
    client = as_user(client, radiopharmacist)
    assert client.get("/quality-events/new/").status_code == 200
    refused = client.post("/quality-events/new/", {"kind": "oos", "description": "RCP low"})
    assert refused.status_code == 400
    assert "belongs to a batch" in refused.content.decode()
    assert "RCP low" in refused.content.decode()  # what was typed is kept
    response = client.post(
        "/quality-events/new/", {"kind": "deviation", "description": "Hot cell door left open"}
    )
    event = Deviation.objects.get(kind="deviation")
    assert response.status_code == 302 and response["Location"] == event_url(event)
    assert event.batch is None and event.opened_by == radiopharmacist


def test_an_event_is_opened_on_a_batch_from_its_record(client, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client = as_user(client, radiopharmacist)
    record = client.get(f"/batches/{batch.pk}/").content.decode()
    assert f"/quality-events/new/?batch={batch.pk}" in record
    form = client.get(f"/quality-events/new/?batch={batch.pk}").content.decode()
    assert f'<option value="{batch.pk}" selected>' in form
    client.post(
        "/quality-events/new/",
        {"kind": "oot", "batch": batch.pk, "description": "RCP trending down"},
    )
    assert Deviation.objects.get(kind="oot").batch == batch


@pytest.mark.requirement("API-07")
def test_an_auditor_cannot_open_an_event(client, auditor):
    client = as_user(client, auditor)
    assert client.get("/quality-events/new/").status_code == 403
    response = client.post("/quality-events/new/", {"kind": "deviation", "description": "x"})
    assert response.status_code == 403 and not Deviation.objects.exists()


# --- the investigation -----------------------------------------------------------------------


@pytest.mark.requirement("QE-02")
def test_phase_two_is_offered_only_after_a_phase_one_without_cause(
    client, failing_rcp, radiopharmacist
):
    batch, oos = failing_rcp
    client = as_user(client, radiopharmacist)
    page = client.get(event_url(oos)).content.decode()
    assert "RCP" in page and "93" in page  # the failing result is shown
    assert "Record phase I</button>" in page and "Record phase II" not in page

    response = client.post(
        f"{event_url(oos)}investigation/",
        {
            "phase": 1,
            "findings": "Worksheet, calculation and scanner checked",
            "assignable_cause": "",
        },
    )
    assert response.status_code == 302
    page = client.get(event_url(oos)).content.decode()
    assert "Phase I: laboratory investigation" in page and "none found" in page
    assert "Record phase II</button>" in page
    oos.refresh_from_db()
    assert oos.status == "investigating"

    client.post(
        f"{event_url(oos)}investigation/",
        {"phase": 2, "findings": "Precursor lot reviewed", "assignable_cause": ""},
    )
    page = client.get(event_url(oos)).content.decode()
    assert "Phase II: full-scale investigation" in page
    assert "Record phase" not in page  # both phases are recorded
    assert "investigation_recorded" in page  # the event's audit trail


@pytest.mark.requirement("QE-02")
def test_a_phase_one_with_a_cause_offers_no_phase_two_and_a_post_is_refused(
    client, failing_rcp, radiopharmacist
):
    batch, oos = failing_rcp
    client = as_user(client, radiopharmacist)
    client.post(
        f"{event_url(oos)}investigation/",
        {"phase": 1, "findings": "Printout says 97.2", "assignable_cause": CAUSE},
    )
    page = client.get(event_url(oos)).content.decode()
    assert CAUSE in page and "Record phase" not in page
    assert "no full-scale investigation is needed" in page
    refused = client.post(
        f"{event_url(oos)}investigation/",
        {"phase": 2, "findings": "More", "assignable_cause": ""},
    )
    assert refused.status_code == 409
    assert "Phase I found an assignable laboratory error" in refused.content.decode()


def test_missing_findings_are_a_field_error(client, failing_rcp, radiopharmacist):
    batch, oos = failing_rcp
    response = as_user(client, radiopharmacist).post(
        f"{event_url(oos)}investigation/", {"phase": 1, "findings": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not oos.investigations.exists()


# --- closing ---------------------------------------------------------------------------------


@pytest.mark.requirement("QE-03", "WEB-02", "QE-04", "GRPP-06")
def test_a_qualified_person_closes_an_oos_as_invalidated_and_the_batch_is_released(
    client, failing_rcp, radiopharmacist, qualified_person
):
    batch, oos = failing_rcp
    correct_rcp(batch, radiopharmacist)
    investigation_record(
        deviation_id=oos.pk,
        actor=radiopharmacist,
        phase=1,
        findings="Printout",
        assignable_cause=CAUSE,
    )
    client = as_user(client, qualified_person)
    page = client.get(event_url(oos)).content.decode()
    assert "Sign: close the investigation" in page
    assert "Invalidated (assignable laboratory error)" in page
    assert "Confirmed (the batch fails)" in page and "No product impact" not in page

    response = client.post(
        f"{event_url(oos)}close/",
        {
            "conclusion": "invalidated",
            "note": "Laboratory error; the corrected 97.2 % counts",
            "password": TEST_PASSWORD,
        },
    )
    assert response.status_code == 302
    oos.refresh_from_db()
    assert oos.status == "closed" and oos.conclusion == "invalidated"
    page = client.get(event_url(oos)).content.decode()
    assert "Investigation closed" in page and "Quentin Peters" in page
    assert "the corrected 97.2 % counts" in page
    closed_at = timezone.localtime(oos.closed_at)
    assert closed_at.strftime("%H:%M:%S") in page
    assert f"(UTC{closed_at.strftime('%z')})" in page
    assert "Sign: close the investigation" not in page

    # the corrected result counts: the batch is released, its pages show the closed OOS
    response = client.post(
        f"/batches/{batch.pk}/release/", {"decision": "release", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RELEASED
    for url in (f"/batches/{batch.pk}/release/", f"/batches/{batch.pk}/"):
        html = client.get(url).content.decode()
        assert f"Out of specification #{oos.pk}" in html, url
        assert "Invalidated (assignable laboratory error)" in html, url
        assert "Investigation closed · Quentin Peters" in html, url


@pytest.mark.requirement("QE-03")
def test_a_wrong_password_closes_nothing_shows_why_and_is_logged(
    client, failing_rcp, radiopharmacist, qualified_person
):
    batch, oos = failing_rcp
    investigation_record(
        deviation_id=oos.pk, actor=radiopharmacist, phase=1, findings="f", assignable_cause=CAUSE
    )
    response = as_user(client, qualified_person).post(
        f"{event_url(oos)}close/",
        {"conclusion": "invalidated", "note": "Lab error", "password": "not-my-password"},
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "The password is not correct" in html
    assert "Lab error" in html  # the note is kept
    assert "not-my-password" not in html
    oos.refresh_from_db()
    assert oos.status == "investigating" and oos.closed_at is None
    assert AuditEvent.objects.filter(
        action="signature_reauth_failed", object_type="qc.deviation", object_id=str(oos.pk)
    ).exists()


def test_closing_before_the_investigation_is_refused_with_the_reason(
    client, failing_rcp, qualified_person
):
    batch, oos = failing_rcp
    response = as_user(client, qualified_person).post(
        f"{event_url(oos)}close/",
        {"conclusion": "confirmed", "note": "Fails", "password": TEST_PASSWORD},
    )
    assert response.status_code == 409
    assert "phase I (laboratory) investigation" in response.content.decode()
    assert Deviation.objects.get(pk=oos.pk).status == "open"


def test_a_radiopharmacist_sees_no_closing_form_and_a_post_is_403(
    client, failing_rcp, radiopharmacist
):
    batch, oos = failing_rcp
    client = as_user(client, radiopharmacist)
    page = client.get(event_url(oos)).content.decode()
    assert 'name="password"' not in page and "Sign: close" not in page
    assert "A qualified person closes a quality event" in page
    response = client.post(
        f"{event_url(oos)}close/",
        {"conclusion": "confirmed", "note": "x", "password": TEST_PASSWORD},
    )
    assert response.status_code == 403
    assert Deviation.objects.get(pk=oos.pk).status == "open"


# --- CAPA ------------------------------------------------------------------------------------


@pytest.mark.requirement("QE-05")
def test_a_capa_is_added_completed_and_verified_by_different_people(
    client, failing_rcp, radiopharmacist, qualified_person
):
    batch, oos = failing_rcp
    qp = as_user(client, qualified_person)
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    response = qp.post(
        f"{event_url(oos)}capas/",
        {
            "description": "Second-person check of typed TLC values",
            "owner": radiopharmacist.pk,
            "due_on": due,
        },
    )
    assert response.status_code == 302
    capa = Capa.objects.get(deviation=oos)
    assert capa.owner == radiopharmacist and capa.created_by == qualified_person

    lab = as_user(client, radiopharmacist)
    assert "Mark CAPA" in lab.get(event_url(oos)).content.decode()
    lab.post(f"/capas/{capa.pk}/complete/", {"note": "Checklist step added"})
    capa.refresh_from_db()
    assert capa.status == "done" and capa.completed_by == radiopharmacist
    page = lab.get(event_url(oos)).content.decode()
    assert "You completed this action: another person verifies it." in page
    refused = lab.post(f"/capas/{capa.pk}/verify/", {"effectiveness_check": "Looks fine"})
    assert refused.status_code == 403
    assert "another person verifies it" in refused.content.decode()
    assert Capa.objects.get(pk=capa.pk).status == "done"

    qp = as_user(client, qualified_person)
    qp.post(f"/capas/{capa.pk}/verify/", {"effectiveness_check": "No transcription OOS since"})
    capa.refresh_from_db()
    assert capa.status == "verified" and capa.verified_by == qualified_person
    page = qp.get(event_url(oos)).content.decode()
    assert "No transcription OOS since" in page and "Verify CAPA" not in page


@pytest.mark.requirement("QE-05")
def test_the_capa_list_shows_due_dates_and_highlights_the_overdue(
    client, failing_rcp, radiopharmacist, auditor
):
    batch, oos = failing_rcp
    today = timezone.localdate()
    late = capa_create(
        actor=radiopharmacist,
        deviation=oos,
        description="Retrain",
        owner=radiopharmacist,
        due_on=today,
    )
    later = capa_create(
        actor=radiopharmacist,
        deviation=oos,
        description="Update SOP",
        owner=radiopharmacist,
        due_on=today + timedelta(days=30),
    )
    capa_complete(capa_id=later.pk, actor=radiopharmacist, note="SOP v3")
    with time_machine.travel(RELEASE_TIME + timedelta(days=3), tick=False):
        client = as_user(client, auditor)  # a session of that day
        html = client.get("/capas/").content.decode()
        pending = client.get("/capas/", {"status": "open"}).content.decode()
    assert '<tr class="overdue">' in html and "Overdue" in html
    assert html.index("Retrain") < html.index("Update SOP")  # by due date
    assert "Retrain" in pending and "Update SOP" not in pending
    assert late.due_on.strftime("%-d %b %Y") in html


# --- hold, look-back, recall -----------------------------------------------------------------

HOLD_TIME = RELEASE_TIME + timedelta(minutes=30)


@pytest.fixture
def held(radiopharmacist):
    """A released batch with one dose administered, one drawn and one assigned, put on hold by
    a failing sterility result."""
    with time_machine.travel(HOLD_TIME, tick=False):
        batch = ReleasedBatchFactory()
        injection = HOLD_TIME + timedelta(minutes=30)
        DoseFactory(
            batch=batch,
            booking__patient_ref="P-ADMIN",
            booking__status="administered",
            booking__injection_at=HOLD_TIME - timedelta(minutes=10),
            status="administered",
            measured_activity_mbq=180.0,
            measured_at=HOLD_TIME - timedelta(minutes=20),
            injected_at=HOLD_TIME - timedelta(minutes=10),
            administered_activity_mbq=171.5,
        )
        DoseFactory(
            batch=batch,
            booking__patient_ref="P-DRAWN",
            booking__status="dispensed",
            booking__injection_at=injection,
            status="dispensed",
            measured_activity_mbq=190.0,
            measured_at=HOLD_TIME - timedelta(minutes=5),
        )
        DoseFactory(batch=batch, booking__patient_ref="P-ASSIGN", booking__injection_at=injection)
        qc_result_record(
            actor=radiopharmacist,
            batch_id=batch.pk,
            test="sterility",
            value="fail",
            performed_at=HOLD_TIME - timedelta(minutes=2),
        )
        batch.refresh_from_db()
        assert batch.status == BatchStatus.ON_HOLD
        yield batch


@pytest.mark.requirement("QE-08")
def test_the_look_back_page_lists_every_dose_and_has_its_csv(client, held, scheduler):
    client = as_user(client, scheduler)
    html = client.get(f"/batches/{held.pk}/lookback/").content.decode()
    for text in (
        "P-ADMIN",
        "P-DRAWN",
        "P-ASSIGN",
        "administered",
        "drawn into a syringe, not administered",
        "assigned, not drawn",
        "171.5",
        "190.0",
    ):
        assert text in html, text
    assert f'href="/batches/{held.pk}/lookback.csv"' in html
    response = client.get(f"/batches/{held.pk}/lookback.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["patient_ref"] for r in rows] == ["P-ADMIN", "P-DRAWN", "P-ASSIGN"]
    assert rows[0]["administered_activity_mbq"] == "171.5"


@pytest.mark.requirement("QC-09")
def test_the_hold_alert_shows_its_look_back_and_only_a_qp_acknowledges_it(
    client, held, radiopharmacist, qualified_person
):
    lab = as_user(client, radiopharmacist)
    html = lab.get("/").content.decode()
    alert = Alert.objects.get(kind="batch_on_hold")
    assert "P-ADMIN" in html and "P-ASSIGN" in html and "is on hold" in html
    assert f"/alerts/{alert.pk}/acknowledge/" not in html
    assert "a qualified person acknowledges it" in html
    assert f'href="/batches/{held.pk}/lookback/"' in html

    qp = as_user(client, qualified_person)
    html = qp.get("/").content.decode()
    assert f"/alerts/{alert.pk}/acknowledge/" in html and "On hold: your decision" in html
    qp.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "/"})
    assert Alert.objects.get(pk=alert.pk).acknowledged_by == qualified_person
    assert "P-ADMIN" not in as_user(client, radiopharmacist).get("/").content.decode()


def test_the_release_page_of_a_held_batch_offers_recall_and_lift_with_its_blockers(
    client, held, qualified_person
):
    client = as_user(client, qualified_person)
    html = client.get(f"/batches/{held.pk}/release/").content.decode()
    assert "Sign: recall the batch" in html and "Sign: lift the hold" in html
    assert "No OOS of the batch was closed as invalidated" in html
    oos = Deviation.objects.get(batch=held)
    assert f"Out of specification #{oos.pk}" in html

    lift = client.post(
        f"/batches/{held.pk}/recall/",
        {"decision": "lift_hold", "reason": "Retest passed", "password": TEST_PASSWORD},
    )
    assert lift.status_code == 409
    assert "cannot be lifted" in lift.content.decode()
    assert "Retest passed" in lift.content.decode()
    wrong = client.post(
        f"/batches/{held.pk}/recall/",
        {"decision": "recall", "reason": "Sterility failed", "password": "wrong"},
    )
    assert wrong.status_code == 403 and "The password is not correct" in wrong.content.decode()
    assert Batch.objects.get(pk=held.pk).status == BatchStatus.ON_HOLD

    response = client.post(
        f"/batches/{held.pk}/recall/",
        {"decision": "recall", "reason": "Sterility failed", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert Batch.objects.get(pk=held.pk).status == BatchStatus.RECALLED
    signature = BatchSignature.objects.get(batch=held, decision="recall")
    assert signature.meaning == "Recalled" and signature.comment == "Sterility failed"
    html = client.get(f"/batches/{held.pk}/release/").content.decode()
    assert "Recalled" in html and "Sign: recall" not in html
    lookback = client.get(f"/batches/{held.pk}/lookback/").content.decode()
    assert "Sterility failed" in lookback and signature.printed_name in lookback


@pytest.mark.requirement("QE-07")
def test_the_hold_is_lifted_from_the_release_page_after_an_invalidated_oos(
    client, held, radiopharmacist, qualified_person
):
    oos = Deviation.objects.get(batch=held)
    with time_machine.travel(HOLD_TIME, tick=False):
        first = held.qc_results.get(test_code="sterility")
        qc_result_record(
            actor=radiopharmacist,
            batch_id=held.pk,
            test="sterility",
            value="pass",
            performed_at=first.performed_at,
            supersedes=first.pk,
            reason="Sample of another batch read",
        )
        investigation_record(
            deviation_id=oos.pk,
            actor=radiopharmacist,
            phase=1,
            findings="Sample ids",
            assignable_cause="Sample mix-up",
        )
        client = as_user(client, qualified_person)
        client.post(
            f"{event_url(oos)}close/",
            {"conclusion": "invalidated", "note": "Mix-up", "password": TEST_PASSWORD},
        )
        html = client.get(f"/batches/{held.pk}/release/").content.decode()
        assert "Hold can be lifted" in html
        response = client.post(
            f"/batches/{held.pk}/recall/",
            {"decision": "lift_hold", "reason": "Sample mix-up", "password": TEST_PASSWORD},
        )
    assert response.status_code == 302
    assert Batch.objects.get(pk=held.pk).status == BatchStatus.RELEASED
    assert BatchSignature.objects.get(batch=held, decision="lift_hold").meaning == "Hold lifted"


@pytest.mark.parametrize("role", ["radiopharmacist", "scheduler", "auditor"])
def test_only_a_qualified_person_sees_and_posts_the_recall_form(client, held, make_user, role):
    client = as_user(client, make_user(role))
    html = client.get(f"/batches/{held.pk}/release/").content.decode()
    assert "Sign: recall" not in html and "Look-back list" in html
    response = client.post(
        f"/batches/{held.pk}/recall/",
        {"decision": "recall", "reason": "x", "password": TEST_PASSWORD},
    )
    assert response.status_code == 403
    assert Batch.objects.get(pk=held.pk).status == BatchStatus.ON_HOLD


@pytest.mark.requirement("QE-07")
def test_a_released_batch_is_recalled_in_two_steps_from_its_release_page(
    client, radiopharmacist, qualified_person
):
    batch = ReleasedBatchFactory(operator=radiopharmacist)
    client = as_user(client, qualified_person)
    html = client.get(f"/batches/{batch.pk}/release/").content.decode()
    assert 'href="?recall=1#recall"' in html and "Sign: recall" not in html
    html = client.get(f"/batches/{batch.pk}/release/?recall=1").content.decode()
    assert "Sign: recall the batch" in html and "Sign: lift the hold" not in html
    refused = client.post(f"/batches/{batch.pk}/recall/", {"decision": "recall", "reason": ""})
    assert refused.status_code == 400 and "Sign: recall the batch" in refused.content.decode()
    response = client.post(
        f"/batches/{batch.pk}/recall/",
        {"decision": "recall", "reason": "Complaint: particles", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RECALLED
    assert Alert.objects.filter(kind="batch_recalled", object_id=str(batch.pk)).exists()
