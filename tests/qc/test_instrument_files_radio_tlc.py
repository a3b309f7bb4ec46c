"""Radio-TLC reports (SPEC §2.11): the sample report in docs/samples gives the RCP and colloid
computed by hand to 0.01 %, recorded as QC results with the raw file attached and its SHA-256 in
the audit entry; a malformed report is a 400 with the line number and saves nothing."""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from qc.instruments.radio_tlc import read_report
from qc.models import QcResult, RadioTlcFile
from radiopharmacy.models import AuditEvent
from tests.factories import QC_TIME, BatchFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "radio-tlc.csv"

# By hand, from the sample: total = 1523 + 687 + 97412 = 99622 counts;
# RCP = 97412 / 99622 = 97.7816 % -> 97.78 %; colloid = 1523 / 99622 = 1.5288 % -> 1.53 %.
RCP_BY_HAND = 97.78
COLLOID_BY_HAND = 1.53


@pytest.fixture
def batch(radiopharmacist):
    return BatchFactory(operator=radiopharmacist, recorded_at=QC_TIME)


@pytest.fixture
def client(api_as, radiopharmacist, time_machine):
    time_machine.move_to(QC_TIME + timedelta(minutes=5), tick=False)
    return api_as(radiopharmacist)


def upload(client, url, content: bytes, **data):
    file = SimpleUploadedFile("scan-0412.csv", content, content_type="text/csv")
    return client.post(url, {"file": file, **data}, format="multipart")


@pytest.mark.requirement("INT-04")
def test_sample_report_gives_the_rcp_and_colloid_computed_by_hand():
    report = read_report(SAMPLE.read_bytes())
    assert report.rcp_percent == RCP_BY_HAND
    assert report.colloid_percent == COLLOID_BY_HAND
    assert report.total_area == 99622
    assert [p.species for p in report.peaks] == ["colloid", "other", "product"]


def test_preview_shows_the_percentages_and_saves_nothing(client, batch):
    response = upload(client, f"/api/v1/batches/{batch.pk}/radio-tlc/preview/", SAMPLE.read_bytes())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"] == {"rcp_itlc": RCP_BY_HAND, "colloid_itlc": COLLOID_BY_HAND}
    assert body["peaks"][0]["line"] == 3
    assert not QcResult.objects.exists() and not RadioTlcFile.objects.exists()


@pytest.mark.requirement("INT-04")
def test_import_records_the_results_with_the_raw_file_and_its_hash(client, batch):
    performed = (QC_TIME - timedelta(minutes=5)).isoformat()
    response = upload(
        client,
        f"/api/v1/batches/{batch.pk}/radio-tlc/",
        SAMPLE.read_bytes(),
        performed_at=performed,
        instrument="miniGita Star",
    )
    assert response.status_code == 201, response.content
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    results = {r.test_code: r for r in QcResult.objects.filter(batch=batch)}
    assert results["rcp_itlc"].value_number == RCP_BY_HAND and results["rcp_itlc"].passed
    assert results["colloid_itlc"].value_number == COLLOID_BY_HAND
    assert results["colloid_itlc"].passed
    assert results["rcp_itlc"].instrument == "miniGita Star"
    assert digest in results["rcp_itlc"].method_details
    file = RadioTlcFile.objects.get()
    assert bytes(file.content) == SAMPLE.read_bytes() and file.sha256 == digest
    assert set(file.results.all()) == set(results.values())
    entry = AuditEvent.objects.get(object_type="qc.radiotlcfile")
    assert entry.changes["sha256"]["new"] == digest
    assert sorted(entry.changes["results"]["new"]) == sorted(r.pk for r in results.values())
    raw = client.get(f"/api/v1/radio-tlc-files/{file.pk}/raw/")
    assert raw.status_code == 200 and raw.content == SAMPLE.read_bytes()
    assert raw["X-Content-SHA256"] == digest


def test_a_second_report_corrects_the_results_with_a_reason(client, batch):
    url = f"/api/v1/batches/{batch.pk}/radio-tlc/"
    performed = (QC_TIME - timedelta(minutes=5)).isoformat()
    assert upload(client, url, SAMPLE.read_bytes(), performed_at=performed).status_code == 201
    again = upload(client, url, SAMPLE.read_bytes(), performed_at=performed)
    assert again.status_code == 400 and "reason" in again.json()
    assert RadioTlcFile.objects.count() == 1
    fixed = upload(client, url, SAMPLE.read_bytes(), performed_at=performed, reason="rescanned")
    assert fixed.status_code == 201, fixed.content
    assert QcResult.objects.filter(batch=batch, superseded_by__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("region,area\nGa-68 DOTATATE,9000\nColloid,12x\n", 3, "column 'area'"),
        ("region,area\nGa-68 DOTATATE,9000\nColloid,-4\n", 3, "at least 0"),
        ("# scan\nregion,area\nColloid,100\nFree,20\n", 3, "labelled product"),
        ("region,counts\nGa-68 DOTATATE,0\n", 2, "total area is 0"),
        ("region,start_mm,end_mm,area\nGa-68 DOTATATE,62,x,97412\n", 2, "column 'end'"),
        ("peak_name,area\nGa-68 DOTATATE,1\n", 1, "region"),
    ],
)
@pytest.mark.requirement("INT-04", "P11-11.10(h)")
def test_malformed_report_is_a_400_with_the_line_and_saves_nothing(
    client, batch, content, line, needle
):
    performed = (QC_TIME - timedelta(minutes=5)).isoformat()
    response = upload(
        client, f"/api/v1/batches/{batch.pk}/radio-tlc/", content.encode(), performed_at=performed
    )
    assert response.status_code == 400, response.content
    assert response.json()["line"] == line
    assert response.json()["detail"].startswith(f"Line {line}")
    assert needle in response.json()["detail"]
    assert not QcResult.objects.exists() and not RadioTlcFile.objects.exists()


def test_report_as_json_text_and_a_naive_time_refused(client, batch):
    url = f"/api/v1/batches/{batch.pk}/radio-tlc/"
    data = {"content": SAMPLE.read_text(), "performed_at": "2026-11-24T08:50:00"}
    assert client.post(url, data).status_code == 400
    data["performed_at"] = (QC_TIME - timedelta(minutes=5)).isoformat()
    assert client.post(url, json.loads(json.dumps(data))).status_code == 201


@pytest.mark.requirement("API-07")
def test_only_a_radiopharmacist_imports_and_a_missing_batch_is_a_404(api_as, auditor, client):
    sample = SAMPLE.read_bytes()
    refused = upload(api_as(auditor), "/api/v1/batches/1/radio-tlc/preview/", sample)
    assert refused.status_code == 403
    assert upload(client, "/api/v1/batches/999999/radio-tlc/preview/", sample).status_code == 404


# --- the review page ---------------------------------------------------------------------------


@pytest.fixture
def web(radiopharmacist, time_machine):
    from django.test import Client

    time_machine.move_to(QC_TIME + timedelta(minutes=5), tick=False)
    browser = Client()
    browser.force_login(radiopharmacist)
    return browser


@pytest.mark.requirement("INT-04")
def test_review_page_shows_the_percentages_and_confirming_records_them(web, batch):
    import re

    url = f"/batches/{batch.pk}/radio-tlc/"
    assert web.get(url).status_code == 200
    form = {"performed_at": "2026-11-24T08:50", "instrument": "scanner", "step": "review"}
    sample = SimpleUploadedFile("scan.csv", SAMPLE.read_bytes(), content_type="text/csv")
    review = web.post(url, {**form, "file": sample})
    assert review.status_code == 200, review.content
    html = review.content.decode()
    assert "97.78" in html and "1.53" in html
    assert not QcResult.objects.exists()
    hidden = dict(re.findall(r'name="(content|sha256|filename)" value="([^"]*)"', html))
    done = web.post(url, {**form, **hidden, "step": "confirm"}, follow=True)
    assert done.status_code == 200
    assert "rcp_itlc 97.78 %" in done.content.decode()
    file = RadioTlcFile.objects.get()
    assert file.results.count() == 2
    assert f"/radio-tlc-files/{file.pk}/" in done.content.decode()  # listed on the QC page
    assert web.get(f"/radio-tlc-files/{file.pk}/").content == SAMPLE.read_bytes()


def test_review_page_shows_a_malformed_line(web, batch):
    bad = SimpleUploadedFile("scan.csv", b"region,area\nGa-68 DOTATATE,abc\n")
    form = {"performed_at": "2026-11-24T08:50", "step": "review", "file": bad}
    page = web.post(f"/batches/{batch.pk}/radio-tlc/", form)
    assert page.status_code == 400 and "Line 2, column" in page.content.decode()


def test_the_attached_report_is_downloadable_from_the_batch_record(web, batch, radiopharmacist):
    from qc.services.instrument_files import radio_tlc_import

    file, _ = radio_tlc_import(
        actor=radiopharmacist,
        batch_id=batch.pk,
        filename="scan.csv",
        content=SAMPLE.read_bytes(),
        performed_at=QC_TIME - timedelta(minutes=5),
    )
    page = web.get(f"/batches/{batch.pk}/")
    assert page.status_code == 200
    assert f"/radio-tlc-files/{file.pk}/" in page.content.decode()
    assert file.sha256 in page.content.decode()
