"""What the release certificate states besides the batch (SPEC §2.5): the site with its licence,
the signer's role, the signing time to the second with its offset and in UTC, the verification
address from SITE_URL, and PDF metadata dated at the signing time."""

import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from qc.certificate_pdf import Signature, Site, render_pdf, signing_datetime
from qc.services.certificates import certificate_render, render_certificate
from radiopharmacy import qr
from radiopharmacy.core.sitetime import site_zone
from tests.factories import (
    RELEASE_TIME,
    pdf_text,
    released_batch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def site_settings(settings):
    settings.SITE_NAME = "St Elsewhere Radiopharmacy"
    settings.SITE_ADDRESS = "Nuclear Medicine, 7 Hospital Road, Utrecht"
    settings.SITE_LICENCE = "NL-MIA-1234"
    settings.SITE_URL = "http://gallium.example:8123"
    return settings


@pytest.fixture
def released(radiopharmacist, qualified_person):
    return released_batch(operator=radiopharmacist, qualified_person=qualified_person)


@pytest.mark.requirement("REL-06", "P11-11.50")
def test_certificate_names_the_site_its_licence_the_signer_role_and_the_signing_time(
    site_settings, released
):
    text = pdf_text(certificate_render(signature_id=released.pk).pdf)
    assert "St Elsewhere Radiopharmacy" in text
    assert "Nuclear Medicine, 7 Hospital Road, Utrecht" in text
    assert "NL-MIA-1234" in text
    assert "Quentin Peters, Qualified Person" in text
    # RELEASE_TIME is 08:00:00 UTC: 09:00:00 in Amsterdam's winter time
    assert released.signed_at == RELEASE_TIME
    assert "2026-11-24 09:00:00 +01:00 (08:00:00 UTC)" in text


@pytest.mark.requirement("REL-06", "P11-11.50")
def test_verification_address_and_qr_code_come_from_site_url(site_settings, released, monkeypatch):
    encoded = []
    real = qr.qr_modules
    monkeypatch.setattr(qr, "qr_modules", lambda data: encoded.append(data) or real(data))
    text = pdf_text(render_certificate(released, number="CERT-X"))
    url = f"http://gallium.example:8123/verify/{released.record_sha256}"
    assert url in text
    assert encoded == [url]


@pytest.mark.requirement("REL-06", "P11-11.50")
def test_pdf_metadata_is_dated_at_the_signing_time_not_2000(released):
    for data in (
        render_certificate(released, number="CERT-X"),
        certificate_render(signature_id=released.pk).pdf,
    ):
        meta = PdfReader(io.BytesIO(data)).metadata
        assert meta.creation_date.astimezone(UTC) == RELEASE_TIME
        assert meta.modification_date.astimezone(UTC) == RELEASE_TIME


@pytest.mark.parametrize(
    ("signed_at", "shown"),
    [
        (
            datetime(2026, 12, 1, 13, 3, 27, 512000, tzinfo=UTC),
            "2026-12-01 14:03:27 +01:00 (13:03:27 UTC)",
        ),
        (datetime(2026, 7, 1, 13, 3, 27, tzinfo=UTC), "2026-07-01 15:03:27 +02:00 (13:03:27 UTC)"),
        # just after midnight in the site's zone: the UTC date differs and is shown
        (
            datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
            "2026-12-01 00:30:00 +01:00 (2026-11-30 23:30:00 UTC)",
        ),
    ],
)
@pytest.mark.requirement("REL-06", "P11-11.50")
def test_signing_time_is_shown_to_the_second_with_offset_and_in_utc(signed_at, shown):
    assert signing_datetime(signed_at, ZoneInfo("Europe/Amsterdam")) == shown


def test_every_quality_event_of_the_batch_is_printed_with_its_conclusion(released):
    record = json.loads(released.record_json)
    record["deviations"] = [
        {
            "id": 41,
            "kind": "oos",
            "status": "closed",
            "description": "RCP 93 % below 95 %\nsecond line not printed",
            "conclusion": "invalidated",
            "closed_by": "Quentin Peters",
            "closed_at": "2026-11-24T07:58:00+00:00",
            "closure_meaning": "Investigation closed",
            "closure_note": "Transcription error",
        },
        {
            "id": 42,
            "kind": "deviation",
            "status": "closed",
            "description": "Late sampling",
            "conclusion": "no_product_impact",
            "closed_by": "Quentin Peters",
            "closed_at": "2026-11-24T07:59:00+00:00",
            "closure_meaning": "Investigation closed",
            "closure_note": "",
        },
    ]
    signature = Signature(
        meaning=released.meaning,
        printed_name=released.printed_name,
        signed_at=released.signed_at,
        comment="",
        record_sha256=released.record_sha256,
    )
    site = Site(name="Site", address="", licence="L-1")
    data = render_pdf(
        record, signature, number="CERT-X", site_url="http://x", zone=site_zone(), site=site
    )
    text = pdf_text(data)
    assert "Out of specification #41: RCP 93 % below 95 %" in text
    assert "Invalidated (assignable laboratory error). Transcription error" in text
    assert "Deviation #42: Late sampling" in text and "No product impact" in text
    assert "second line" not in text
