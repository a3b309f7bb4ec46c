"""Dose calibrator files (SPEC §2.11): the sample export in docs/samples is read, matched to the
doses (and the batch) it measured and proposed for review; nothing is saved until confirmed;
the confirmed measurements link the raw file, whose SHA-256 is in the audit entries; a
malformed file or a refused measurement is an error naming the line, and saves nothing."""

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.models import AuditEvent, Batch
from scheduling.instruments.dose_calibrator import read_readings
from scheduling.models import Dose, DoseCalibratorFile, DoseCalibratorReading
from scheduling.services.doses import dose_assign
from tests.factories import BatchFactory, BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "dose-calibrator.csv"
PREVIEW = "/api/v1/instrument-files/dose-calibrator/preview/"
IMPORT = "/api/v1/instrument-files/dose-calibrator/"


def ams(hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 24, hh, mm, tzinfo=AMS)


@pytest.fixture(autouse=True)
def _noon(settings):
    settings.SITE_TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(ams(12, 0), tick=False):
        yield


@pytest.fixture
def world(radiopharmacist):
    """The sample's records: a QC-pending batch (its number in the sample), and two doses from
    a released batch, drawn at 09:10 and 09:25 CET."""
    pending = BatchFactory(operator=radiopharmacist)
    released = ReleasedBatchFactory(eos_at=ams(8, 40), sequence=5)
    a = BookingFactory(injection_at=ams(9, 30), prescribed_activity_mbq=150)
    b = BookingFactory(injection_at=ams(9, 45), prescribed_activity_mbq=160)
    rp = radiopharmacist
    return {
        "pending": pending,
        "released": released,
        "a": dose_assign(actor=rp, booking_id=a.pk, batch_id=released.pk, draw_at=ams(9, 10)),
        "b": dose_assign(actor=rp, booking_id=b.pk, batch_id=released.pk, draw_at=ams(9, 25)),
    }


@pytest.fixture
def client(api_as, radiopharmacist):
    return api_as(radiopharmacist)


def upload(client, url, content: bytes, **data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("crc-export.csv", content, content_type="text/csv")
    return client.post(url, {"file": file, **data}, format="multipart")


@pytest.mark.requirement("INT-03")
def test_sample_file_proposes_the_matching_doses_and_batch_and_saves_nothing(client, world):
    assert world["pending"].batch_number == "GA68DOTATATE-20261124-01"
    response = upload(client, PREVIEW, SAMPLE.read_bytes())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    proposals = {p["line"]: p for p in body["proposals"]}
    assert proposals[3]["target"] == f"batch:{world['pending'].pk}"
    assert proposals[4]["target"] == f"dose:{world['a'].pk}"
    assert proposals[5]["target"] == f"dose:{world['b'].pk}"
    assert proposals[5]["activity_mbq"] == pytest.approx(5.02 * 37)  # mCi read as MBq
    assert abs(proposals[4]["deviation_percent"]) < 2
    assert proposals[6]["target"] == "" and "not Ga-68" in proposals[6]["note"]
    assert not DoseCalibratorFile.objects.exists()
    assert set(Dose.objects.values_list("status", flat=True)) == {"assigned"}


def accept_all(client) -> list[dict]:
    proposals = upload(client, PREVIEW, SAMPLE.read_bytes()).json()["proposals"]
    return [{"line": p["line"], "target": p["target"]} for p in proposals if p["target"]]


@pytest.mark.requirement("INT-03")
def test_confirmed_import_measures_links_the_file_and_audits_its_hash(client, world):
    import json

    accept = accept_all(client)
    response = upload(client, IMPORT, SAMPLE.read_bytes(), accept=json.dumps(accept))
    assert response.status_code == 201, response.content
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    file = DoseCalibratorFile.objects.get()
    assert bytes(file.content) == SAMPLE.read_bytes() and file.sha256 == digest
    dose = Dose.objects.get(pk=world["a"].pk)
    assert dose.status == "dispensed" and dose.measured_activity_mbq == 184.6
    assert dose.measured_at == ams(9, 10).replace(second=30)
    reading = DoseCalibratorReading.objects.get(dose=dose)
    assert reading.file == file and reading.line == 4 and reading.calibrator.startswith("CRC")
    batch = Batch.objects.get(pk=world["pending"].pk)
    assert batch.activity_mbq == 519.8
    file_entry = AuditEvent.objects.get(object_type="scheduling.dosecalibratorfile")
    assert file_entry.changes["sha256"]["new"] == digest
    reading_entries = AuditEvent.objects.filter(object_type="scheduling.dosecalibratorreading")
    assert reading_entries.count() == 3
    assert {e.changes["file_sha256"]["new"] for e in reading_entries} == {digest}
    correction = AuditEvent.objects.get(object_type="radiopharmacy.batch", action="corrected")
    assert digest in correction.reason
    raw = client.get(f"{IMPORT}{file.pk}/raw/")
    assert raw.status_code == 200 and raw.content == SAMPLE.read_bytes()
    assert raw["X-Content-SHA256"] == digest


def test_import_posted_as_json_text(client, world):
    accept = accept_all(client)[1:2]
    response = client.post(
        IMPORT, {"content": SAMPLE.read_text(), "filename": "x.csv", "accept": accept}
    )
    assert response.status_code == 201, response.content
    assert DoseCalibratorReading.objects.get().dose_id == world["a"].pk


@pytest.mark.parametrize(
    ("line", "text", "column"),
    [
        (4, "2026-11-24 09:10:30,Ga-68,lots,MBq,CRC,", "activity"),
        (3, "yesterday,Ga-68,184.6,MBq,CRC,", "time"),
        (3, "2026-11-24 09:10:30,Ga-68,184.6,Ci?,CRC,", "unit"),
        (3, "2026-11-24 09:10:30,,184.6,MBq,CRC,", "nuclide"),
        (3, "2026-11-24 13:10:30,Ga-68,184.6,MBq,CRC,", "time"),  # in the future
    ],
)
@pytest.mark.requirement("INT-03", "P11-11.10(h)")
def test_malformed_file_is_a_400_naming_the_line_and_saves_nothing(client, line, text, column):
    good = "2026-11-24 09:00:00,Ga-68,1,MBq,C,"
    rows = ["time,nuclide,activity,unit,calibrator,sample", good, good]
    rows.insert(line - 1, text)
    response = upload(client, PREVIEW, "\n".join(rows).encode())
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["line"] == line and body["column"] == column
    assert body["detail"].startswith(f"Line {line}, column {column!r}")
    import json

    accept = json.dumps([{"line": 2, "target": "dose:1"}])
    assert upload(client, IMPORT, "\n".join(rows).encode(), accept=accept).status_code == 400
    assert not DoseCalibratorFile.objects.exists()


@pytest.mark.requirement("INT-03", "P11-11.10(h)")
def test_missing_column_is_a_400_on_the_header_line(client):
    response = upload(client, PREVIEW, b"# export\ntime,activity,calibrator\n")
    assert response.status_code == 400
    assert response.json()["line"] == 2 and "nuclide" in response.json()["detail"]


def test_ambiguous_local_time_at_the_dst_change_is_refused():
    content = b"time,nuclide,activity,calibrator\n2026-10-25 02:30:00,Ga-68,100,C\n"
    with pytest.raises(ApplicationError, match="Line 2, column 'time'.*daylight"):
        read_readings(content)


@pytest.mark.requirement("INT-03", "P11-11.10(h)")
def test_a_changed_proposal_is_refused_and_saves_nothing(client, world):
    import json

    accept = accept_all(client)
    accept = [{"line": 4, "target": f"dose:{world['b'].pk}"}]  # line 4 was proposed for a
    response = upload(client, IMPORT, SAMPLE.read_bytes(), accept=json.dumps(accept))
    assert response.status_code == 400
    assert "Line 4" in response.json()["detail"]
    assert not DoseCalibratorFile.objects.exists()


def test_a_refused_measurement_rolls_back_the_whole_import(client, world):
    import json

    accept = accept_all(client)
    Batch.objects.filter(pk=world["released"].pk).update(status="on_hold")
    response = upload(client, IMPORT, SAMPLE.read_bytes(), accept=json.dumps(accept))
    assert response.status_code == 409, response.content
    assert response.json()["detail"].startswith("Line 4")
    assert not DoseCalibratorFile.objects.exists() and not DoseCalibratorReading.objects.exists()
    assert Batch.objects.get(pk=world["pending"].pk).activity_mbq == 700.0
    assert set(Dose.objects.values_list("status", flat=True)) == {"assigned"}


@pytest.mark.requirement("API-07")
def test_only_a_radiopharmacist_imports(api_as, scheduler, world):
    response = upload(api_as(scheduler), PREVIEW, SAMPLE.read_bytes())
    assert response.status_code == 403


# --- the review pages --------------------------------------------------------------------------


@pytest.fixture
def web(radiopharmacist):
    from django.test import Client

    browser = Client()
    browser.force_login(radiopharmacist)
    return browser


@pytest.mark.requirement("INT-03")
def test_review_page_lists_the_proposals_and_confirming_saves_the_ticked_ones(web, world):
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    page = web.get("/doses/calibrator-import/")
    assert page.status_code == 200
    sample = SimpleUploadedFile("crc.csv", SAMPLE.read_bytes(), content_type="text/csv")
    review = web.post("/doses/calibrator-import/", {"file": sample})
    assert review.status_code == 200
    html = review.content.decode()
    assert world["a"].booking.patient_ref in html and "not Ga-68" in html
    assert not DoseCalibratorFile.objects.exists()
    fields = dict(re.findall(r'name="(content|sha256|filename)" value="([^"]*)"', html))
    accepted = re.findall(r'name="accept" value="([^"]+)"', html)
    assert len(accepted) == 3
    done = web.post(
        "/doses/calibrator-import/confirm/", {**fields, "accept": accepted[1:2]}, follow=True
    )
    assert done.status_code == 200 and "1 measurement recorded" in done.content.decode()
    assert DoseCalibratorReading.objects.get().dose_id == world["a"].pk
    file = DoseCalibratorFile.objects.get()
    assert web.get(f"/doses/calibrator-files/{file.pk}/").content == SAMPLE.read_bytes()
    dose_page = web.get(f"/doses/{world['a'].pk}/").content.decode()
    assert f"/doses/calibrator-files/{file.pk}/" in dose_page and "line 4" in dose_page


def test_malformed_upload_shows_the_line_and_a_changed_file_is_refused(web, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.csv", b"time,nuclide,activity,calibrator\nnow,Ga-68,1,C\n")
    page = web.post("/doses/calibrator-import/", {"file": bad})
    assert page.status_code == 400 and "Line 2, column" in page.content.decode()
    import base64

    forged = {"content": base64.b64encode(b"x").decode(), "sha256": "0" * 64, "accept": "2|dose:1"}
    web.post("/doses/calibrator-import/confirm/", forged)
    assert not DoseCalibratorFile.objects.exists()


def test_the_import_page_is_for_radiopharmacists(make_user, world):
    from django.test import Client

    browser = Client()
    browser.force_login(make_user("auditor"))
    assert browser.get("/doses/calibrator-import/").status_code == 403
