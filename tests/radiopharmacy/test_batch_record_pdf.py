"""The batch record printout (UI.md "Printouts"): a PDF of the record an auditor can file, with
the QC table and limits, the signature (printed name, date and time with zone, meaning) and the
audit trail; linked from the batch record page."""

import pytest
from django.urls import reverse

from tests.factories import pdf_text, released_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def released(radiopharmacist, qualified_person):
    signature = released_batch(operator=radiopharmacist, qualified_person=qualified_person)
    signature.batch.refresh_from_db()
    return signature.batch


def test_the_auditor_prints_the_batch_record_as_a_pdf(client, auditor, released, settings):
    client.force_login(auditor)
    page = client.get(reverse("batch-detail", args=[released.pk])).content.decode()
    url = reverse("batch-record-pdf", args=[released.pk])
    assert f'href="{url}"' in page  # linked from the record
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        f"Batch record {released.batch_number}",
        settings.SITE_NAME,
        "status Released",
        f"by {auditor.get_full_name()}",
        "RCP",  # the QC table, with limits
        "≥ 95",
        "Released for human use",  # the signature: meaning, printed name, time with zone
        "Quentin Peters",
        "24 Nov 2026 09:00 CET",
        "Audit trail",
        "released",
    ):
        assert expected in text, expected


def test_the_printout_of_an_unknown_batch_is_a_404(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("batch-record-pdf", args=[999999])).status_code == 404
