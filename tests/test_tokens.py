"""API tokens (django-rest-knox): hashed, expiring, ended by logout, password change,
deactivation and lockout; never shown in the admin."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from knox.models import AuthToken

from radiopharmacy.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"


def obtain(api_client, user, password=TEST_PASSWORD) -> str:
    response = api_client.post(TOKEN_URL, {"username": user.username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def calls_with(api_client, token) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api_client.get("/api/v1/audit/").status_code


@pytest.mark.requirement("P11-11.300", "API-05")
def test_token_is_stored_hashed_and_expires_after_the_ttl(api_client, auditor):
    assert settings.REST_KNOX["TOKEN_TTL"] == dt.timedelta(hours=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        response = api_client.post(
            TOKEN_URL, {"username": auditor.username, "password": TEST_PASSWORD}
        )
        token = response.json()["token"]
        stored = AuthToken.objects.get(user=auditor)
        assert token not in (stored.digest, stored.token_key) and len(stored.digest) == 128
        assert stored.expiry == start + dt.timedelta(hours=10)
        assert dt.datetime.fromisoformat(response.json()["expiry"]) == stored.expiry
        assert calls_with(api_client, token) == 200
        traveller.shift(dt.timedelta(hours=9, minutes=59))
        assert calls_with(api_client, token) == 200
        traveller.shift(dt.timedelta(minutes=2))
        assert calls_with(api_client, token) == 401
    assert not AuthToken.objects.filter(user=auditor).exists()


@pytest.mark.requirement("P11-11.300", "API-05")
def test_token_stops_working_after_logout(api_client, auditor):
    token = obtain(api_client, auditor)
    other = obtain(api_client, auditor)  # another device of the same person
    assert calls_with(api_client, token) == 200
    assert api_client.post(LOGOUT_URL).status_code == 204
    assert calls_with(api_client, token) == 401
    assert calls_with(api_client, other) == 200  # only the token logged out with


def test_logout_without_credentials_is_401(api_client):
    assert api_client.post(LOGOUT_URL).status_code == 401


@pytest.mark.requirement("P11-11.300", "API-05")
def test_token_stops_working_after_a_password_change(api_client, auditor):
    token = obtain(api_client, auditor)
    assert calls_with(api_client, token) == 200
    auditor.set_password("a-new-long-passphrase-2026")
    auditor.save()
    assert calls_with(api_client, token) == 401
    assert not AuthToken.objects.filter(user=auditor).exists()
    event = AuditEvent.objects.filter(
        action="user_password_changed", object_id=str(auditor.pk)
    ).last()
    assert "revoked" in event.reason
    assert "pbkdf2" not in str(event.changes) and "argon2" not in str(event.changes)


def test_saving_a_user_without_a_new_password_keeps_the_tokens(api_client, auditor):
    token = obtain(api_client, auditor)
    auditor.first_name = "Adele"
    auditor.save()
    assert calls_with(api_client, token) == 200


@pytest.mark.requirement("P11-11.300", "API-05")
def test_token_stops_working_when_the_user_is_deactivated(api_client, auditor):
    token = obtain(api_client, auditor)
    auditor.is_active = False
    auditor.save()
    assert calls_with(api_client, token) == 401


@pytest.mark.requirement("P11-11.300", "API-05")
def test_lockout_revokes_the_tokens_of_the_account(api_client, auditor):
    token = obtain(api_client, auditor)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_client.post(TOKEN_URL, {"username": auditor.username, "password": "wrong"})
    response = api_client.post(TOKEN_URL, {"username": auditor.username, "password": TEST_PASSWORD})
    assert response.status_code == 403 and "locked" in response.json()["detail"]
    assert calls_with(api_client, token) == 401
    assert (
        AuditEvent.objects.filter(action="account_locked", object_id=str(auditor.pk)).count() == 1
    )


def test_tokens_are_not_in_the_admin(client):
    from django.contrib import admin

    assert not admin.site.is_registered(AuthToken)
    with pytest.raises(NoReverseMatch):
        reverse("admin:knox_authtoken_changelist")
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/knox/authtoken/").status_code == 404
    assert b"Auth token" not in client.get("/admin/").content


def test_a_hash_upgrade_at_log_in_is_not_a_password_change(api_client, auditor):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    token = obtain(api_client, auditor)
    # The same password under an older hasher (as after a change of PASSWORD_HASHERS).
    get_user_model().objects.filter(pk=auditor.pk).update(
        password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    )
    before = AuditEvent.objects.filter(action="user_password_changed").count()
    obtain(api_client, auditor)  # checks the password: Django upgrades the hash
    auditor.refresh_from_db()
    assert not auditor.password.startswith("pbkdf2")
    assert AuditEvent.objects.filter(action="user_password_changed").count() == before
    assert calls_with(api_client, token) == 200
