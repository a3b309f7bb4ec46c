"""The release certificate PDF: content read back with pypdf, byte-identical renders, hashes."""

import json
from datetime import timedelta

import pytest
import time_machine

from qc.certificate_pdf import site_datetime
from qc.models import BatchSignature, Certificate
from qc.services.certificates import certificate_render, render_certificate, sign_certificate
from qc.services.release import sha256_hex
from qc.services.results import qc_result_record
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.core.sitetime import site_zone
from tests.factories import (
    RELEASE_TIME,
    pdf_text,
    released_batch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def released(radiopharmacist, qualified_person):
    return released_batch(
        operator=radiopharmacist,
        qualified_person=qualified_person,
        comment="Released after review of the record.",
    )


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.requirement("REL-04", "P11-11.50", "GRPP-08")
def test_certificate_shows_the_batch_every_qc_result_with_its_limit_and_the_signature(released):
    certificate = certificate_render(signature_id=released.pk)
    text = flat(pdf_text(bytes(certificate.pdf)))
    record = json.loads(released.record_json)
    batch = released.batch
    assert batch.batch_number in text
    assert "Ga-68 DOTATATE injection" in text
    assert certificate.certificate_number in text
    assert "24 Nov 2026 08:35 CET" in text  # EOS in the site's zone, with the zone
    assert f"{batch.activity_at_eos_mbq:,.1f} MBq" in text
    assert f"{batch.concentration_at_eos_mbq_per_ml:,.1f} MBq/mL" in text
    assert f"{batch.volume_ml:.2f} mL" in text
    assert site_datetime(batch.expires_at, site_zone()) in text
    assert "DOTATATE-2611" in text and "HB-77" in text  # precursor and reagent lots
    assert record["elutions"][0]["generator"]["serial_number"] in text
    for result in record["qc_results"]:
        name = next(t["name"] for t in record["qc_tests"] if t["code"] == result["test_code"])
        assert f"{name} release" in text
        assert result["limit"] in text
    assert "RCP (ITLC) release 98.2 % ≥ 95 % pass" in text
    assert "Bacterial endotoxins release 2.0 IU/mL < 17.5 IU/mL" in text
    assert "Sterility post-release pending pass pending" in text
    assert "Ge-68 breakthrough post-release pending ≤ 0.001 % pending" in text
    assert "Released for human use" in text
    assert "Quentin Peters" in text
    # signed at 08:00 UTC: to the second in the site's zone with its offset, and in UTC
    assert "2026-11-24 09:00:00 +01:00 (08:00:00 UTC)" in text
    assert "Specification version: 1" in text
    assert released.record_sha256 in text
    assert f"/verify/{released.record_sha256}" in text


@pytest.mark.requirement("REL-05")
def test_two_renders_of_the_same_release_are_byte_identical(released):
    number = f"CERT-{released.batch.batch_number}"
    first = render_certificate(released, number=number)
    with time_machine.travel(RELEASE_TIME + timedelta(days=3), tick=True):
        second = render_certificate(released, number=number)
    assert first == second
    stored = certificate_render(signature_id=released.pk)
    # the stored file is that render with its PAdES signature appended (an incremental update),
    # and signing the same render again gives the same bytes: the hash is of the signed file
    assert stored.pdf.startswith(first) and len(stored.pdf) > len(first)
    assert sign_certificate(first, released) == stored.pdf
    assert stored.sha256 == sha256_hex(stored.pdf)


@pytest.mark.requirement("REL-05")
def test_render_task_run_twice_keeps_the_first_certificate(released):
    first = certificate_render(signature_id=released.pk)
    again = certificate_render(signature_id=released.pk)
    assert again.pk == first.pk
    assert Certificate.objects.count() == 1


@pytest.mark.requirement("REL-02", "P11-11.70", "A11-14")
def test_certificate_shows_what_was_signed_not_later_changes(released, radiopharmacist):
    before = render_certificate(released, number="CERT-X")
    qc_result_record(
        actor=radiopharmacist,
        batch_id=released.batch_id,
        test="sterility",
        value="pass",
        performed_at=RELEASE_TIME,
    )
    released.refresh_from_db()
    assert render_certificate(released, number="CERT-X") == before


@pytest.mark.requirement("REL-02", "P11-11.70", "A11-14")
def test_a_tampered_signed_record_is_not_rendered(released):
    BatchSignature.objects.filter(pk=released.pk).update(
        record_json=released.record_json.replace("98.2", "99.9")
    )
    released.refresh_from_db()
    with pytest.raises(StateConflict, match="does not match"):
        render_certificate(released, number="CERT-X")


@pytest.mark.requirement("REL-05")
def test_the_stored_hash_verifies_through_the_api_and_the_page(released, api_as, auditor, client):
    certificate = certificate_render(signature_id=released.pk)
    for code in (certificate.sha256, released.record_sha256, certificate.sha256.upper()):
        body = api_as(auditor).get(f"/api/v1/certificates/verify/{code}/").json()
        assert body["valid"] is True
        assert body["batch_number"] == released.batch.batch_number
        assert body["product"] == released.batch.product.name
        assert body["released_by"] == "Qualified Person"  # the role, never the name
        assert body["certificate_sha256"] == certificate.sha256
    page = client.get(f"/verify/{certificate.sha256}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Valid" in html and released.batch.batch_number in html
    assert released.batch.product.name in html
    assert "24 Nov 2026 09:00 CET" in html and "Qualified Person" in html
    assert "Quentin" not in html and "Peters" not in html
    assert "Released for human use" in html


@pytest.mark.requirement("REL-05")
def test_a_certificate_number_verifies_nothing(released, api_as, auditor, client):
    certificate = certificate_render(signature_id=released.pk)
    number = certificate.certificate_number
    response = api_as(auditor).get(f"/api/v1/certificates/verify/{number}/")
    assert response.status_code == 400 and "sha256" in response.json()
    page = client.get(f"/verify/{number}")
    assert page.status_code == 400
    assert "chip pass" not in page.content.decode() and "64 hexadecimal" in page.content.decode()
    assert client.get("/verify/", {"code": number}).status_code == 400
