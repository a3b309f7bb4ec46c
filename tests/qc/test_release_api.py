"""POST batches/{id}/release/, GET batches/{id}/certificate/, GET certificates/verify/{code}/."""

import pytest

from qc.models import BatchSignature, Certificate
from qc.services.certificates import certificate_render
from radiopharmacy.models import AuditEvent, Batch
from tests.factories import PASSING_RELEASE_VALUES, QC_TIME, TEST_PASSWORD, BatchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


def post_release(client, batch, **body):
    data = {"decision": "release", "password": TEST_PASSWORD, "comment": "", **body}
    return client.post(f"/api/v1/batches/{batch.pk}/release/", data, format="json")


@pytest.mark.requirement("REL-01", "REL-02")
def test_release_returns_201_with_the_batch_and_its_signature(
    api_as, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = post_release(api_as(qualified_person), batch, comment="ok")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["batch_number"] == batch.batch_number
    assert body["status"] == "released"
    assert body["signature"]["printed_name"] == "Quentin Peters"
    assert body["signature"]["meaning"] == "Released for human use"
    assert body["signature"]["signed_at"].endswith(("Z", "+00:00", "+01:00"))
    assert "password" not in body


@pytest.mark.requirement("REL-02")
def test_repeated_release_returns_the_same_signature(api_as, radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    first = post_release(api_as(qualified_person), batch).json()
    second = post_release(api_as(qualified_person), batch)
    assert second.status_code == 201
    assert second.json()["signature"] == first["signature"]
    assert BatchSignature.objects.count() == 1


@pytest.mark.requirement("REL-01", "P11-11.200")
def test_wrong_password_is_403_with_a_field_message_and_logged(
    api_as, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = post_release(api_as(qualified_person), batch, password="nope-nope-nope")
    assert response.status_code == 403
    assert response.json()["password"] == ["The password is not correct."]
    assert Batch.objects.get(pk=batch.pk).status == "qc_pending"
    assert AuditEvent.objects.filter(action="signature_reauth_failed").count() == 1


@pytest.mark.requirement("REL-03", "GRPP-04")
def test_four_eyes_is_403(api_as, make_user):
    from django.contrib.auth.models import Group

    both = make_user("qualified_person")
    both.groups.add(Group.objects.get(name="radiopharmacist"))
    batch = BatchFactory(operator=both, qc="passing", recorded_at=QC_TIME)
    response = post_release(api_as(both), batch)
    assert response.status_code == 403
    assert "four eyes" in response.json()["detail"]


@pytest.mark.requirement("REL-03", "API-07", "P11-11.10(g)", "A11-12")
def test_radiopharmacist_cannot_release_403_and_logged(api_as, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = post_release(api_as(radiopharmacist), batch)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access_denied", object_type="release").exists()
    assert not BatchSignature.objects.exists()


@pytest.mark.requirement("REL-03", "API-02")
def test_not_releasable_is_409_with_blocking(api_as, radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0},
        recorded_at=QC_TIME,
    )
    response = post_release(api_as(qualified_person), batch)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == f"Batch {batch.batch_number} is not releasable."
    assert "RCP 94.0 % is below the 95 % limit" in body["blocking"]


@pytest.mark.requirement("REL-01", "GRPP-08")
def test_reject_is_201_with_meaning_rejected(api_as, radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0},
        recorded_at=QC_TIME,
    )
    response = post_release(api_as(qualified_person), batch, decision="reject")
    assert response.status_code == 201
    assert response.json()["status"] == "rejected"
    assert response.json()["signature"]["meaning"] == "Rejected"


@pytest.mark.parametrize(
    "body",
    [{"decision": "approve"}, {"decision": None}, {"password": None}],
    ids=["unknown-decision", "no-decision", "no-password"],
)
def test_bad_input_is_400(api_as, radiopharmacist, qualified_person, body):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    data = {"decision": "release", "password": TEST_PASSWORD, **body}
    data = {k: v for k, v in data.items() if v is not None}
    response = api_as(qualified_person).post(
        f"/api/v1/batches/{batch.pk}/release/", data, format="json"
    )
    assert response.status_code == 400


def test_unknown_batch_is_404(api_as, qualified_person):
    response = api_as(qualified_person).post(
        "/api/v1/batches/999999/release/",
        {"decision": "release", "password": TEST_PASSWORD},
        format="json",
    )
    assert response.status_code == 404


@pytest.mark.requirement("REL-04")
def test_certificate_is_404_before_release_202_while_rendering_then_the_pdf(
    api_as, radiopharmacist, qualified_person, scheduler
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client = api_as(scheduler)
    url = f"/api/v1/batches/{batch.pk}/certificate/"
    assert client.get(url).status_code == 404
    post_release(api_as(qualified_person), batch)  # on_commit publish not run in this test
    rendering = client.get(url)
    assert rendering.status_code == 202
    assert "rendered" in rendering.json()["detail"]
    certificate = certificate_render(signature_id=BatchSignature.objects.get().pk)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == bytes(certificate.pdf)
    assert response["X-Certificate-SHA256"] == certificate.sha256


def test_rejected_batch_has_no_certificate(api_as, radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    post_release(api_as(qualified_person), batch, decision="reject")
    assert (
        api_as(qualified_person).get(f"/api/v1/batches/{batch.pk}/certificate/").status_code == 404
    )
    assert not Certificate.objects.exists()


@pytest.mark.requirement("REL-05")
def test_verify_unknown_code_is_404_and_invalid(api_as, auditor):
    response = api_as(auditor).get(f"/api/v1/certificates/verify/{'0' * 64}/")
    assert response.status_code == 404
    assert response.json()["valid"] is False
    assert response.json()["batch_number"] is None


@pytest.mark.requirement("REL-05")
def test_rejection_signature_does_not_verify_as_a_certificate(
    api_as, radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    post_release(api_as(qualified_person), batch, decision="reject")
    record_hash = BatchSignature.objects.get().record_sha256
    response = api_as(qualified_person).get(f"/api/v1/certificates/verify/{record_hash}/")
    assert response.status_code == 404
