import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("P11-11.300")
def test_production_hasher_is_argon2():
    from radiopharmacy import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.requirement("API-05")
def test_token_for_valid_credentials_authenticates_api_calls(api_client, auditor):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/audit/").status_code == 200


@pytest.mark.requirement("API-05", "P11-11.10(d)")
def test_api_without_credentials_is_401(api_client):
    assert api_client.get("/api/v1/audit/").status_code == 401


@pytest.mark.requirement("API-05", "P11-11.10(d)")
def test_token_refused_for_wrong_password(api_client, auditor):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": "nope"}
    )
    assert response.status_code == 400


@pytest.mark.requirement("P11-11.300")
def test_api_lockout_after_five_failed_logins(api_client, auditor):
    for _ in range(5):
        api_client.post("/api/v1/auth/token/", {"username": auditor.username, "password": "x"})
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": TEST_PASSWORD}
    )
    assert response.status_code in (403, 429)
    assert "token" not in response.json()


@pytest.mark.requirement("P11-11.300")
def test_web_lockout_after_five_failed_logins(client, radiopharmacist):
    url = reverse("login")
    for _ in range(4):
        response = client.post(url, {"username": radiopharmacist.username, "password": "x"})
        assert response.status_code == 200  # the form again, with the error
    client.post(url, {"username": radiopharmacist.username, "password": "x"})
    response = client.post(url, {"username": radiopharmacist.username, "password": TEST_PASSWORD})
    assert response.status_code in (403, 429)
    assert b"Account locked" in response.content
    assert "_auth_user_id" not in client.session


def test_four_failures_then_success_logs_in(client, radiopharmacist):
    url = reverse("login")
    for _ in range(4):
        client.post(url, {"username": radiopharmacist.username, "password": "x"})
    response = client.post(url, {"username": radiopharmacist.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(radiopharmacist.pk)


def test_api_lockout_answers_json(api_client, auditor):
    for _ in range(6):
        response = api_client.post(
            "/api/v1/auth/token/", {"username": auditor.username, "password": "x"}
        )
    assert response.status_code == 403
    assert "locked" in response.json()["detail"]


@pytest.mark.requirement("P11-11.10(d)")
def test_web_logout_ends_the_session(client, radiopharmacist):
    client.force_login(radiopharmacist)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# --- Signatures count towards the lockout ------------------------------------------------------


@pytest.fixture
def signing_setup(client, radiopharmacist, qualified_person, at_release_time):
    from tests.factories import QC_TIME, BatchFactory

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    client.post(
        reverse("login"), {"username": qualified_person.username, "password": TEST_PASSWORD}
    )
    assert client.session["_auth_user_id"] == str(qualified_person.pk)
    return client, batch, qualified_person


def sign(client, batch, password):
    return client.post(
        reverse("qc-release", kwargs={"pk": batch.pk}),
        {"decision": "release", "password": password, "comment": ""},
    )


@pytest.mark.requirement("P11-11.300")
def test_six_wrong_passwords_on_the_release_page_lock_the_account(signing_setup):
    from qc.models import BatchSignature
    from radiopharmacy.models import AuditEvent

    client, batch, qp = signing_setup
    elsewhere = Client()  # the same person signed in on another workstation
    elsewhere.post(reverse("login"), {"username": qp.username, "password": TEST_PASSWORD})
    for attempt in range(1, 5):
        response = sign(client, batch, f"guess-{attempt}")
        assert response.status_code == 403
        assert b"The password is not correct" in response.content
    response = sign(client, batch, "guess-5")  # the fifth failure locks the account
    assert response.status_code == 403 and b"Account locked" in response.content
    assert "_auth_user_id" not in client.session  # and signs this workstation out
    response = sign(client, batch, "guess-6")
    assert response.status_code == 302 and reverse("login") in response["Location"]
    # Locked: neither a log-in nor a signature works, even with the right password.
    response = client.post(reverse("login"), {"username": qp.username, "password": TEST_PASSWORD})
    assert b"Account locked" in response.content and "_auth_user_id" not in client.session
    response = sign(elsewhere, batch, TEST_PASSWORD)
    assert response.status_code == 403 and b"Account locked" in response.content
    assert not BatchSignature.objects.filter(batch=batch).exists()
    failures = AuditEvent.objects.filter(
        action="signature_reauth_failed", object_id=str(batch.pk)
    ).order_by("id")
    assert failures.count() == 6
    assert "now locked" in failures[4].reason
    assert failures.last().reason.startswith("locked account")
    assert AuditEvent.objects.filter(action="account_locked", object_id=str(qp.pk)).count() == 1


@pytest.mark.requirement("P11-11.300")
def test_signature_failures_and_login_failures_count_together(signing_setup):
    client, batch, qp = signing_setup
    for _ in range(3):
        sign(client, batch, "wrong")
    client.logout()
    for _ in range(2):
        client.post(reverse("login"), {"username": qp.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": qp.username, "password": TEST_PASSWORD})
    assert b"Account locked" in response.content


def test_signature_with_the_right_password_after_failures_signs(signing_setup):
    from qc.models import BatchSignature

    client, batch, _qp = signing_setup
    for _ in range(4):
        sign(client, batch, "wrong")
    response = sign(client, batch, TEST_PASSWORD)
    assert response.status_code == 302
    assert BatchSignature.objects.filter(batch=batch).count() == 1


@pytest.mark.requirement("P11-11.300")
def test_wrong_passwords_on_the_release_api_lock_the_account(
    api_as, radiopharmacist, qualified_person, at_release_time
):
    from tests.factories import QC_TIME, BatchFactory

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    api = api_as(qualified_person)
    url = f"/api/v1/batches/{batch.pk}/release/"
    for _ in range(5):
        response = api.post(url, {"decision": "release", "password": "wrong"}, format="json")
        assert response.status_code == 403
    response = api.post(url, {"decision": "release", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 403
    assert "locked" in response.json()["detail"]


def test_service_without_a_request_still_counts_towards_the_lockout(
    radiopharmacist, qualified_person, at_release_time
):
    from qc.services.release import batch_release
    from radiopharmacy.core.errors import NotAllowed
    from tests.factories import QC_TIME, BatchFactory

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    for _ in range(5):
        with pytest.raises(NotAllowed):
            batch_release(batch_id=batch.pk, actor=qualified_person, password="wrong")
    with pytest.raises(NotAllowed, match="locked"):
        batch_release(batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD)
