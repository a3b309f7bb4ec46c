import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_production_hasher_is_argon2():
    from radiopharmacy import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_token_for_valid_credentials_authenticates_api_calls(api_client, auditor):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/audit/").status_code == 200


def test_api_without_credentials_is_401(api_client):
    assert api_client.get("/api/v1/audit/").status_code == 401


def test_token_refused_for_wrong_password(api_client, auditor):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": "nope"}
    )
    assert response.status_code == 400


def test_api_lockout_after_five_failed_logins(api_client, auditor):
    for _ in range(5):
        api_client.post("/api/v1/auth/token/", {"username": auditor.username, "password": "x"})
    response = api_client.post(
        "/api/v1/auth/token/", {"username": auditor.username, "password": TEST_PASSWORD}
    )
    assert response.status_code in (403, 429)
    assert "token" not in response.json()


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


def test_session_ends_after_fifteen_idle_minutes(client, radiopharmacist):
    assert settings.SESSION_COOKIE_AGE == 15 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.post(
            reverse("login"), {"username": radiopharmacist.username, "password": TEST_PASSWORD}
        )
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(14 * 60)  # activity within the window keeps the session alive
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(16 * 60)
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
