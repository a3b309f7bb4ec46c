"""Quality events through the API (SPEC §2.4a): an OOS investigated and closed by signature,
its conclusion's effect on release; a post-release failure holding a batch with doses given,
drawn and assigned; recall and hold lifting; CAPA; censored results and earliest times."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from pypdf import PdfReader

from qc.models import BatchSignature, Capa, Deviation
from qc.services.capas import capa_overdue_alerts
from qc.services.certificates import certificate_render
from radiopharmacy.choices import BatchStatus
from radiopharmacy.models import Alert, AuditEvent, Batch
from scheduling.models import Dose
from tests.factories import (
    QC_TIME,
    RELEASE_TIME,
    TEST_PASSWORD,
    BatchFactory,
    BookingFactory,
    DoseFactory,
    ReleasedBatchFactory,
    as_of,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def post_result(client, batch, test, value, performed_at, **extra):
    body = {"test": test, "value": value, "performed_at": performed_at.isoformat(), **extra}
    with as_of(performed_at + timedelta(minutes=1)):
        return client.post(f"{API}/batches/{batch.pk}/qc-results/", body, format="json")


def investigate(client, event_id, phase=1, cause="", findings="Checked the worksheet"):
    body = {"phase": phase, "findings": findings, "assignable_cause": cause}
    return client.post(f"{API}/deviations/{event_id}/investigation/", body, format="json")


def close(client, event_id, conclusion, password=TEST_PASSWORD, note="Reviewed"):
    body = {"conclusion": conclusion, "note": note, "password": password}
    return client.post(f"{API}/deviations/{event_id}/close/", body, format="json")


@pytest.fixture
def failing_rcp(api_as, radiopharmacist):
    """A batch whose RCP was entered as 93 % (a typo for 97.2 %): its OOS is open."""
    batch = BatchFactory(
        operator=radiopharmacist, qc="passing", skip={"rcp_itlc"}, recorded_at=QC_TIME
    )
    response = post_result(
        api_as(radiopharmacist), batch, "rcp_itlc", 93, QC_TIME, instrument="ITLC scanner 2"
    )
    assert response.status_code == 201 and response.json()["passed"] is False
    return batch, Deviation.objects.get(batch=batch, kind="oos")


@pytest.mark.requirement("QE-02", "QE-03", "QE-04", "QC-08")
def test_oos_invalidated_by_a_transcription_error_then_release_and_certificate(
    failing_rcp, api_as, radiopharmacist, qualified_person
):
    batch, oos = failing_rcp
    lab, qp = api_as(radiopharmacist), api_as(qualified_person)
    first = batch.qc_results.get(test_code="rcp_itlc")
    corrected = post_result(
        lab,
        batch,
        "rcp_itlc",
        97.2,
        QC_TIME,
        supersedes=first.pk,
        reason="Transcription error: 97.2 read as 93 from the scanner printout",
    )
    assert corrected.status_code == 201 and corrected.json()["passed"] is True
    assert corrected.json()["instrument"] == "ITLC scanner 2"  # kept from the corrected result

    with time_machine.travel(RELEASE_TIME, tick=False):
        blocking = qp.get(f"{API}/batches/{batch.pk}/release-check/").json()["blocking"]
    assert blocking == [f"Out of specification #{oos.pk} is open: {oos.first_line}"]

    response = investigate(lab, oos.pk, cause="Transcription error: 97.2 typed as 93")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "investigating"
    assert investigate(lab, oos.pk, phase=2).status_code == 409  # phase I found the cause

    with time_machine.travel(RELEASE_TIME, tick=False):
        response = close(qp, oos.pk, "invalidated", note="Laboratory error; 97.2 % counts")
        assert response.status_code == 201, response.content
        event = response.json()
        assert event["status"] == "closed" and event["conclusion"] == "invalidated"
        assert event["closed_printed_name"] == "Quentin Peters"
        assert event["closure_meaning"] == "Investigation closed"
        check = qp.get(f"{API}/batches/{batch.pk}/release-check/").json()
        assert (check["releasable"], check["blocking"]) == (True, [])  # warnings do not block
        body = {"decision": "release", "password": TEST_PASSWORD, "comment": ""}
        released = qp.post(f"{API}/batches/{batch.pk}/release/", body, format="json")
        assert released.status_code == 201, released.content

    signature = BatchSignature.objects.get(batch=batch, decision="release")
    pdf = certificate_render(signature_id=signature.pk).pdf
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(pdf))).pages).split()
    )
    assert f"Out of specification #{oos.pk}" in text
    assert "Invalidated (assignable laboratory error)" in text
    assert "Quentin Peters" in text and "Investigation closed" in text


@pytest.mark.requirement("QE-03", "QE-06")
def test_a_confirmed_oos_leaves_only_rejection(
    failing_rcp, api_as, radiopharmacist, qualified_person
):
    batch, oos = failing_rcp
    lab, qp = api_as(radiopharmacist), api_as(qualified_person)
    assert investigate(lab, oos.pk).status_code == 201  # no assignable laboratory error
    assert close(qp, oos.pk, "invalidated").status_code == 409  # nothing to invalidate with
    assert investigate(lab, oos.pk, phase=2, findings="Precursor lot degraded").status_code == 201
    assert close(qp, oos.pk, "confirmed").status_code == 201
    with time_machine.travel(RELEASE_TIME, tick=False):
        check = qp.get(f"{API}/batches/{batch.pk}/release-check/").json()
        assert f"Out of specification #{oos.pk} was confirmed" in " ".join(check["blocking"])
        body = {"decision": "release", "password": TEST_PASSWORD, "comment": ""}
        assert qp.post(f"{API}/batches/{batch.pk}/release/", body, format="json").status_code == 409
        body["decision"] = "reject"
        assert qp.post(f"{API}/batches/{batch.pk}/release/", body, format="json").status_code == 201
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.REJECTED


@pytest.mark.requirement("QE-03", "P11-11.200")
def test_a_wrong_password_closes_nothing_and_is_logged(
    failing_rcp, api_as, radiopharmacist, qualified_person
):
    _, oos = failing_rcp
    investigate(api_as(radiopharmacist), oos.pk, cause="Typo")
    response = close(api_as(qualified_person), oos.pk, "invalidated", password="wrong-guess-1")
    assert response.status_code == 403
    assert response.json()["password"] == ["The password is not correct."]
    oos.refresh_from_db()
    assert oos.status == "investigating" and oos.conclusion == ""
    failed = AuditEvent.objects.get(action="signature_reauth_failed")
    assert failed.object_type == "qc.deviation" and failed.object_id == str(oos.pk)


@pytest.mark.requirement("QE-03", "P11-11.10(g)")
def test_a_radiopharmacist_cannot_close(failing_rcp, api_as, radiopharmacist):
    _, oos = failing_rcp
    investigate(api_as(radiopharmacist), oos.pk, cause="Typo")
    assert close(api_as(radiopharmacist), oos.pk, "invalidated").status_code == 403
    assert Deviation.objects.get(pk=oos.pk).status == "investigating"


@pytest.mark.requirement("QE-03")
def test_a_conclusion_the_kind_cannot_have_is_a_400(failing_rcp, api_as, qualified_person):
    _, oos = failing_rcp
    response = close(api_as(qualified_person), oos.pk, "no_product_impact")
    assert response.status_code == 400 and "conclusion" in response.json()


@pytest.mark.requirement("QE-01", "QE-03")
def test_a_deviation_without_batch_is_opened_and_closed_without_impact(
    api_as, radiopharmacist, qualified_person
):
    lab = api_as(radiopharmacist)
    body = {"kind": "deviation", "description": "Hot cell pressure alarm during cleaning"}
    response = lab.post(f"{API}/deviations/", body, format="json")
    assert response.status_code == 201, response.content
    event = response.json()
    assert event["batch"] is None and event["status"] == "open"
    assert lab.post(f"{API}/deviations/", {"kind": "oos", "description": "x"}).status_code == 400
    closed = close(api_as(qualified_person), event["id"], "no_product_impact")
    assert closed.status_code == 201 and closed.json()["conclusion"] == "no_product_impact"
    listing = lab.get(f"{API}/deviations/", {"status": "closed", "kind": "deviation"}).json()
    assert [e["id"] for e in listing["results"]] == [event["id"]]


# --- a post-release failure: hold, look-back, recall ------------------------------------------

# The default batch's EOS is 07:00 UTC; doses are handled an hour and a half later.
HOLD_TIME = RELEASE_TIME + timedelta(minutes=30)


@pytest.fixture
def held_world(radiopharmacist):
    """A released batch with one dose administered, one drawn (measured) and one assigned."""
    with time_machine.travel(HOLD_TIME, tick=False):
        batch = ReleasedBatchFactory()
        injection = HOLD_TIME + timedelta(minutes=30)
        administered = DoseFactory(
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
        drawn = DoseFactory(
            batch=batch,
            booking__patient_ref="P-DRAWN",
            booking__status="dispensed",
            booking__injection_at=injection,
            status="dispensed",
            measured_activity_mbq=190.0,
            measured_at=HOLD_TIME - timedelta(minutes=5),
        )
        assigned = DoseFactory(
            batch=batch, booking__patient_ref="P-ASSIGN", booking__injection_at=injection
        )
        yield batch, administered, drawn, assigned


@pytest.mark.requirement("QC-09", "BAT-05")
def test_failing_sterility_holds_the_batch_and_blocks_every_dose(
    held_world, api_as, radiopharmacist, qualified_person
):
    batch, administered, drawn, assigned = held_world
    lab = api_as(radiopharmacist)
    response = post_result(lab, batch, "sterility", "fail", HOLD_TIME - timedelta(minutes=2))
    assert response.status_code == 201, response.content
    assert [d["dose"] for d in response.json()["hold_doses"]] == [
        administered.pk,
        drawn.pk,
        assigned.pk,
    ]
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.ON_HOLD
    hold = AuditEvent.objects.get(action="put_on_hold", object_id=str(batch.pk))
    oos = AuditEvent.objects.get(action="deviation_opened")
    assert hold.id < oos.id  # one transaction: the hold and its OOS

    measured = lab.post(
        f"{API}/doses/{assigned.pk}/measurement/",
        {"activity_mbq": 190.0, "measured_at": HOLD_TIME.isoformat()},
        format="json",
    )
    assert measured.status_code == 409
    assert "on hold" in " ".join(measured.json()["blocking"])
    given = lab.post(
        f"{API}/doses/{drawn.pk}/administration/",
        {
            "injected_at": HOLD_TIME.isoformat(),
            "residual_activity_mbq": 2.0,
            "residual_measured_at": HOLD_TIME.isoformat(),
        },
        format="json",
    )
    assert given.status_code == 409
    booking = BookingFactory(injection_at=HOLD_TIME + timedelta(minutes=40))
    new_dose = lab.post(
        f"{API}/doses/",
        {"booking": booking.pk, "batch": batch.pk, "draw_at": HOLD_TIME.isoformat()},
        format="json",
    )
    assert new_dose.status_code == 409
    assert Dose.objects.get(pk=drawn.pk).status == "dispensed"

    alert = Alert.objects.get(kind="batch_on_hold", object_id=str(batch.pk))
    assert alert.level == "critical"
    for ref in ("P-ADMIN", "P-DRAWN", "P-ASSIGN"):
        assert ref in alert.message
    assert "administered (171.5 MBq" in alert.message
    # only a qualified person acknowledges it
    assert lab.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 302
    assert Alert.objects.get(pk=alert.pk).acknowledged_at is None

    qp = api_as(qualified_person)
    lift = qp.post(
        f"{API}/batches/{batch.pk}/recall/",
        {"decision": "lift_hold", "reason": "Retest", "password": TEST_PASSWORD},
        format="json",
    )
    assert lift.status_code == 409
    assert "No OOS of the batch was closed as invalidated" in lift.json()["blocking"]
    recall = qp.post(
        f"{API}/batches/{batch.pk}/recall/",
        {"decision": "recall", "reason": "Sterility failed", "password": TEST_PASSWORD},
        format="json",
    )
    assert recall.status_code == 201, recall.content
    assert recall.json()["status"] == "recalled"
    signature = BatchSignature.objects.get(batch=batch, decision="recall")
    assert signature.meaning == "Recalled" and signature.comment == "Sterility failed"
    assert Alert.objects.filter(kind="batch_recalled", object_id=str(batch.pk)).exists()


@pytest.mark.requirement("QE-08")
def test_the_look_back_list_in_json_and_csv(held_world, api_as, scheduler):
    batch, administered, drawn, assigned = held_world
    client = api_as(scheduler)
    body = client.get(f"{API}/batches/{batch.pk}/lookback/").json()
    assert [(d["patient_ref"], d["whereabouts"]) for d in body["doses"]] == [
        ("P-ADMIN", "administered"),
        ("P-DRAWN", "drawn into a syringe, not administered"),
        ("P-ASSIGN", "assigned, not drawn"),
    ]
    assert body["doses"][0]["administered_activity_mbq"] == 171.5
    response = client.get(f"{API}/batches/{batch.pk}/lookback/", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["patient_ref"] for r in rows] == ["P-ADMIN", "P-DRAWN", "P-ASSIGN"]
    assert client.get(f"{API}/batches/{batch.pk}/lookback/", {"format": "xml"}).status_code == 400


@pytest.mark.requirement("QE-07", "BAT-04")
def test_a_hold_is_lifted_after_an_invalidated_oos_and_a_valid_result(
    held_world, api_as, radiopharmacist, qualified_person
):
    batch, *_ = held_world
    lab, qp = api_as(radiopharmacist), api_as(qualified_person)
    performed = HOLD_TIME - timedelta(minutes=2)
    post_result(lab, batch, "sterility", "fail", performed)
    oos = Deviation.objects.get(batch=batch)
    first = batch.qc_results.get(test_code="sterility")
    post_result(
        lab, batch, "sterility", "pass", performed, supersedes=first.pk, reason="Wrong sample id"
    )
    investigate(lab, oos.pk, cause="Sample of another batch read")
    with time_machine.travel(HOLD_TIME, tick=False):
        assert close(qp, oos.pk, "invalidated").status_code == 201
        body = {"decision": "lift_hold", "reason": "Sample mix-up", "password": TEST_PASSWORD}
        lifted = qp.post(f"{API}/batches/{batch.pk}/recall/", body, format="json")
    assert lifted.status_code == 201, lifted.content
    assert lifted.json()["status"] == "released"
    assert BatchSignature.objects.get(batch=batch, decision="lift_hold").meaning == "Hold lifted"


@pytest.mark.requirement("QE-07", "P11-11.10(g)")
def test_a_radiopharmacist_cannot_recall(api_as, radiopharmacist):
    batch = ReleasedBatchFactory()
    body = {"decision": "recall", "reason": "x", "password": TEST_PASSWORD}
    assert (
        api_as(radiopharmacist).post(f"{API}/batches/{batch.pk}/recall/", body).status_code == 403
    )


# --- CAPA ------------------------------------------------------------------------------------


@pytest.mark.requirement("QE-05")
def test_capa_is_completed_and_verified_by_different_people(
    failing_rcp, api_as, radiopharmacist, qualified_person
):
    _, oos = failing_rcp
    lab, qp = api_as(radiopharmacist), api_as(qualified_person)
    with time_machine.travel(RELEASE_TIME, tick=False):
        body = {
            "deviation": oos.pk,
            "description": "Second-person check of typed ITLC results",
            "owner": radiopharmacist.pk,
            "due_on": (RELEASE_TIME + timedelta(days=14)).date().isoformat(),
        }
        capa = lab.post(f"{API}/capas/", body, format="json")
        assert capa.status_code == 201, capa.content
        capa_id = capa.json()["id"]
        done = lab.post(f"{API}/capas/{capa_id}/complete/", {"note": "SOP updated"})
        assert done.status_code == 201 and done.json()["status"] == "done"
        check = {"effectiveness_check": "No typing error in 30 batches"}
        assert lab.post(f"{API}/capas/{capa_id}/verify/", check).status_code == 403
        verified = qp.post(f"{API}/capas/{capa_id}/verify/", check)
        assert verified.status_code == 201 and verified.json()["status"] == "verified"
        assert qp.post(f"{API}/capas/{capa_id}/complete/", {"note": "x"}).status_code == 409


@pytest.mark.requirement("QE-05")
def test_an_overdue_capa_raises_one_alert(failing_rcp, radiopharmacist):
    _, oos = failing_rcp
    with time_machine.travel(RELEASE_TIME, tick=False):
        Capa.objects.create(
            deviation=oos,
            description="Retrain on ITLC reading",
            owner=radiopharmacist,
            due_on=RELEASE_TIME.date() - timedelta(days=1),
            created_by=radiopharmacist,
            created_at=RELEASE_TIME,
        )
        assert capa_overdue_alerts() == 1
        assert capa_overdue_alerts() == 0  # once
    assert "Retrain on ITLC reading" in Alert.objects.get(kind="capa_overdue").message


# --- results: censored values, earliest times, nothing in the future --------------------------


@pytest.mark.requirement("QC-06")
def test_breakthrough_six_minutes_after_eos_is_a_400_naming_the_48_h_rule(api_as, radiopharmacist):
    batch = ReleasedBatchFactory()
    response = post_result(
        api_as(radiopharmacist),
        batch,
        "ge68_breakthrough",
        0.0001,
        batch.eos_at + timedelta(minutes=6),
    )
    assert response.status_code == 400
    assert "at least 48 h after the end of synthesis" in response.json()["performed_at"][0]
    late = post_result(
        api_as(radiopharmacist),
        batch,
        "ge68_breakthrough",
        0.0001,
        batch.eos_at + timedelta(hours=49),
    )
    assert late.status_code == 201, late.content


@pytest.mark.requirement("QC-05")
def test_a_censored_endotoxin_result_passes_and_prints_as_entered(api_as, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist)
    response = post_result(api_as(radiopharmacist), batch, "endotoxin", "< 2.0", QC_TIME)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["passed"] is True and body["value"] == "< 2.0"
    assert body["limit"].startswith("< 17.5 IU/mL")
    above = post_result(api_as(radiopharmacist), batch, "endotoxin", "<20", QC_TIME, reason="r")
    assert above.json()["passed"] is False and above.json()["value"] == "< 20.0"


@pytest.mark.requirement("QC-07")
def test_a_result_in_the_future_or_before_the_synthesis_is_a_400(api_as, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist)
    client = api_as(radiopharmacist)
    with time_machine.travel(QC_TIME, tick=False):
        future = client.post(
            f"{API}/batches/{batch.pk}/qc-results/",
            {
                "test": "ph",
                "value": 4.5,
                "performed_at": (QC_TIME + timedelta(hours=2)).isoformat(),
            },
            format="json",
        )
        assert future.status_code == 400 and "future" in future.json()["performed_at"][0]
        early = client.post(
            f"{API}/batches/{batch.pk}/qc-results/",
            {
                "test": "ph",
                "value": 4.5,
                "performed_at": (batch.started_at - timedelta(minutes=5)).isoformat(),
            },
            format="json",
        )
        assert early.status_code == 400
        assert "before the synthesis started" in early.json()["performed_at"][0]
    assert not batch.qc_results.exists()


@pytest.mark.requirement("AUD-06", "P11-11.200")
def test_closing_needs_the_one_time_code_where_the_site_requires_it(
    failing_rcp, api_as, radiopharmacist, qualified_person, settings
):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.GALLIUM_SIGNATURE_OTP = True
    device = TOTPDevice.objects.create(user=qualified_person, name="phone", confirmed=True)
    _, oos = failing_rcp
    investigate(api_as(radiopharmacist), oos.pk, cause="Typo")
    qp = api_as(qualified_person)
    assert close(qp, oos.pk, "invalidated").status_code == 403  # password alone
    assert Deviation.objects.get(pk=oos.pk).status == "investigating"
    now = f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=device.drift):06d}"
    body = {"conclusion": "invalidated", "note": "Typo", "password": TEST_PASSWORD}
    response = qp.post(f"{API}/deviations/{oos.pk}/close/", {**body, "otp_token": now})
    assert response.status_code == 201, response.content


@pytest.mark.requirement("QC-05")
def test_the_certificate_prints_a_censored_result_as_entered(radiopharmacist, qualified_person):
    from qc.services.release import batch_release
    from tests.factories import PASSING_RELEASE_VALUES

    values = {**PASSING_RELEASE_VALUES, "endotoxin": "< 2.0"}
    batch = BatchFactory(operator=radiopharmacist, qc=values, recorded_at=QC_TIME)
    with time_machine.travel(RELEASE_TIME, tick=False):
        batch_release(
            batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD, decision="release"
        )
    signature = BatchSignature.objects.get(batch=batch, decision="release")
    pdf = bytes(certificate_render(signature_id=signature.pk).pdf)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "< 2.0 IU/mL" in text
