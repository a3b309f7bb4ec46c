"""Release pages: awaiting release, sign form (QP only), released today, verify (public)."""

import pytest

from qc.models import BatchSignature
from qc.services.certificates import certificate_render
from qc.services.release import batch_release
from radiopharmacy.models import AuditEvent, Batch
from tests.factories import PASSING_RELEASE_VALUES, QC_TIME, TEST_PASSWORD, BatchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


def logged_in(client, user):
    client.force_login(user)
    return client


def test_awaiting_release_lists_qc_pending_batches_with_their_blockers(
    client, radiopharmacist, qualified_person
):
    good = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    bad = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0},
        recorded_at=QC_TIME,
    )
    html = logged_in(client, qualified_person).get("/release/").content.decode()
    assert good.batch_number in html and bad.batch_number in html
    assert "RCP 94.0 % is below the 95 % limit" in html
    assert "Review and sign" in html


def test_awaiting_release_query_count_does_not_grow_with_batches(
    client, radiopharmacist, qualified_person, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(client, qualified_person)
    BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with CaptureQueriesContext(connection) as few:
        client.get("/release/")
    for _ in range(4):
        BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/release/").status_code == 200


@pytest.mark.parametrize("role", ["radiopharmacist", "scheduler", "auditor"])
@pytest.mark.requirement("API-07", "P11-11.10(g)")
def test_every_role_sees_the_menu_item_and_the_record_but_no_sign_form(
    client, make_user, radiopharmacist, role
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client = logged_in(client, make_user(role))
    home = client.get("/").content.decode()
    assert "Awaiting release" in home
    page = client.get(f"/batches/{batch.pk}/release/")
    assert page.status_code == 200
    html = page.content.decode()
    assert batch.batch_number in html
    assert 'name="password"' not in html
    assert "Only a qualified person" in html


@pytest.mark.parametrize("role", ["radiopharmacist", "scheduler", "auditor"])
@pytest.mark.requirement("API-07", "P11-11.10(g)")
def test_post_from_a_non_qualified_person_is_403_and_changes_nothing(
    client, make_user, radiopharmacist, role
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    user = make_user(role)
    response = logged_in(client, user).post(
        f"/batches/{batch.pk}/release/", {"decision": "release", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert Batch.objects.get(pk=batch.pk).status == "qc_pending"
    assert AuditEvent.objects.filter(action="access_denied", username=user.username).exists()


@pytest.mark.requirement("WEB-03")
def test_release_page_shows_the_whole_record_and_the_sign_form_to_a_qp(
    client, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    html = logged_in(client, qualified_person).get(f"/batches/{batch.pk}/release/").content.decode()
    for text in (
        batch.batch_number,
        "RCP (ITLC)",
        "≥ 95 %",
        "DOTATATE-2611",
        "Releasable",
        'name="password"',
        'value="release"',
        'value="reject"',
        "version 1",
    ):
        assert text in html, text


@pytest.mark.requirement("REL-01", "WEB-02")
def test_wrong_password_on_the_page_shows_the_error_keeps_the_comment_changes_nothing(
    client, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = logged_in(client, qualified_person).post(
        f"/batches/{batch.pk}/release/",
        {"decision": "release", "password": "wrong-one-here", "comment": "Reviewed OK"},
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "nothing was signed" in html and "The password is not correct." in html
    assert "Reviewed OK" in html
    assert Batch.objects.get(pk=batch.pk).status == "qc_pending"
    assert not BatchSignature.objects.exists()


def test_blocked_release_on_the_page_lists_the_blockers(client, radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist, qc="passing", skip={"endotoxin"}, recorded_at=QC_TIME
    )
    response = logged_in(client, qualified_person).post(
        f"/batches/{batch.pk}/release/", {"decision": "release", "password": TEST_PASSWORD}
    )
    assert response.status_code == 409
    assert "Bacterial endotoxins result missing" in response.content.decode()
    assert Batch.objects.get(pk=batch.pk).status == "qc_pending"


@pytest.mark.requirement("P11-11.50", "WEB-04")
def test_signing_on_the_page_releases_and_shows_the_signature_with_zone(
    client, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client = logged_in(client, qualified_person)
    response = client.post(
        f"/batches/{batch.pk}/release/", {"decision": "release", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert Batch.objects.get(pk=batch.pk).status == "released"
    html = client.get(response["Location"]).content.decode()
    assert "Quentin Peters" in html
    assert "24 Nov 2026 09:00 CET" in html
    assert "Released for human use" in html
    assert "Certificate being rendered" in html
    assert 'name="password"' not in html


def test_released_today_and_the_certificate_download(client, radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    batch_release(
        batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD, decision="release"
    )
    certificate = certificate_render(signature_id=BatchSignature.objects.get().pk)
    client = logged_in(client, qualified_person)
    html = client.get("/release/today/").content.decode()
    assert batch.batch_number in html and certificate.certificate_number in html
    assert "09:00 CET" in html
    pdf = client.get(f"/batches/{batch.pk}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content == bytes(certificate.pdf)
    page = client.get(f"/batches/{batch.pk}/release/").content.decode()
    assert certificate.sha256 in page
    assert f"/verify/{certificate.sha256}" in page


@pytest.mark.requirement("REL-05")
def test_verify_page_is_public_and_says_invalid_for_an_unknown_code(client):
    response = client.get("/verify/" + "f" * 64)
    assert response.status_code == 404
    assert "Invalid" in response.content.decode()
    assert client.get("/verify/").status_code == 200


def test_verify_form_redirects_to_the_code_page(client):
    response = client.get("/verify/", {"code": "AB" * 32})
    assert response.status_code == 302 and response["Location"] == "/verify/" + "ab" * 32


@pytest.mark.requirement("REL-05")
def test_verify_page_warns_when_the_batch_was_recalled(client, radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    batch_release(
        batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD, decision="release"
    )
    certificate = certificate_render(signature_id=BatchSignature.objects.get().pk)
    Batch.objects.filter(pk=batch.pk).update(status="recalled")
    html = client.get(f"/verify/{certificate.sha256}").content.decode()
    assert "Valid" in html and "recalled" in html


def test_release_page_preselects_no_meaning(client, qualified_person, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client.force_login(qualified_person)
    body = client.get(f"/batches/{batch.pk}/release/").content.decode()
    assert 'value="release" checked' not in body and 'value="reject" checked' not in body
