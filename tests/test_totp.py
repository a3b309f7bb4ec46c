"""A qualified person's signature needs a one-time code (TOTP, django-otp) besides the password
where the site requires it (SPEC §2.8): on in production settings, off in the demo."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from qc.models import BatchSignature
from radiopharmacy.models import AuditEvent
from tests.factories import QC_TIME, TEST_PASSWORD, BatchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]

ROOT = Path(__file__).resolve().parent.parent


def code(device: TOTPDevice) -> str:
    """The code the person's app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=device.drift):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return "000000" if code(device) != "000000" else "111111"


@pytest.fixture
def otp_on(settings):
    settings.GALLIUM_SIGNATURE_OTP = True


@pytest.fixture
def device(qualified_person):
    return TOTPDevice.objects.create(user=qualified_person, name="phone", confirmed=True)


@pytest.fixture
def batch(radiopharmacist):
    return BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)


def release(api, batch, **body):
    data = {"decision": "release", "password": TEST_PASSWORD, **body}
    return api.post(f"/api/v1/batches/{batch.pk}/release/", data, format="json")


def setting_in_a_fresh_process(**env) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='radiopharmacy.settings';"
            "from django.conf import settings; print(settings.GALLIUM_SIGNATURE_OTP)",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "s" * 50, "AUDIT_HMAC_KEY": "k" * 64}


@pytest.mark.requirement("AUD-06", "P11-11.200")
def test_second_factor_is_on_in_production_and_off_in_development():
    assert setting_in_a_fresh_process(**PRODUCTION) == "True"
    assert setting_in_a_fresh_process(DEBUG="1") == "False"
    assert setting_in_a_fresh_process(**PRODUCTION, SIGNATURE_OTP="0") == "False"


@pytest.mark.requirement("AUD-06", "P11-11.200")
def test_release_needs_a_valid_code_besides_the_password(
    otp_on, api_as, qualified_person, device, batch, at_release_time
):
    api = api_as(qualified_person)
    response = release(api, batch)
    assert response.status_code == 403
    assert response.json()["otp_token"] == ["The one-time code is not correct."]
    at_release_time.shift(60)  # past django-otp's throttling delay
    assert release(api, batch, otp_token=wrong_code(device)).status_code == 403
    assert not BatchSignature.objects.filter(batch=batch).exists()
    failures = AuditEvent.objects.filter(action="signature_reauth_failed", object_id=str(batch.pk))
    assert failures.count() == 2 and "one-time code" in failures.last().reason
    at_release_time.shift(60)
    response = release(api, batch, otp_token=code(device))
    assert response.status_code == 201, response.content
    assert BatchSignature.objects.filter(batch=batch).count() == 1


@pytest.mark.requirement("AUD-06", "P11-11.200")
def test_a_code_is_used_once(otp_on, api_as, qualified_person, device, radiopharmacist):
    api = api_as(qualified_person)
    first = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    second = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    token = code(device)
    assert release(api, first, otp_token=token).status_code == 201
    assert release(api, second, otp_token=token).status_code == 403


def test_a_wrong_password_is_refused_before_the_code_is_looked_at(
    otp_on, api_as, qualified_person, device, batch
):
    response = release(api_as(qualified_person), batch, password="wrong", otp_token=code(device))
    assert response.status_code == 403 and "password" in response.json()


@pytest.mark.requirement("P11-11.300")
def test_wrong_codes_count_towards_the_lockout(
    otp_on, api_as, qualified_person, device, batch, at_release_time
):
    api = api_as(qualified_person)
    for _ in range(5):
        at_release_time.shift(120)
        release(api, batch, otp_token="12345")
    at_release_time.shift(120)
    response = release(api, batch, otp_token=code(device))
    assert response.status_code == 403 and "locked" in response.json()["detail"]


def test_a_qualified_person_without_an_authenticator_is_told_to_enrol(
    otp_on, api_as, qualified_person, batch
):
    response = release(api_as(qualified_person), batch, otp_token="123456")
    assert response.status_code == 403
    assert "enrol" in response.json()["detail"]


@pytest.mark.requirement("AUD-06", "P11-11.200")
def test_without_the_setting_the_password_alone_signs(api_as, qualified_person, batch, settings):
    assert settings.GALLIUM_SIGNATURE_OTP is False
    assert release(api_as(qualified_person), batch).status_code == 201


def test_the_release_page_asks_for_the_code_only_when_required(
    client, qualified_person, batch, device, settings, at_release_time
):
    client.force_login(qualified_person)
    url = reverse("qc-release", kwargs={"pk": batch.pk})
    assert 'name="otp_token"' not in client.get(url).content.decode()
    settings.GALLIUM_SIGNATURE_OTP = True
    assert 'name="otp_token"' in client.get(url).content.decode()
    response = client.post(url, {"decision": "release", "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "The one-time code is not correct" in response.content.decode()
    at_release_time.shift(60)  # past django-otp's throttling delay
    response = client.post(
        url, {"decision": "release", "password": TEST_PASSWORD, "otp_token": code(device)}
    )
    assert response.status_code == 302
    assert BatchSignature.objects.filter(batch=batch).count() == 1


def test_a_qualified_person_enrols_an_authenticator(client, qualified_person, at_release_time):
    client.force_login(qualified_person)
    url = reverse("two-factor")
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html and "otpauth://totp/Gallium" in html
    device = TOTPDevice.objects.get(user=qualified_person, confirmed=False)
    assert client.post(url, {"otp_token": wrong_code(device)}).status_code == 400
    at_release_time.shift(60)
    response = client.post(url, {"otp_token": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    event = AuditEvent.objects.get(action="otp_device_enrolled")
    assert event.user == qualified_person and event.object_id == str(qualified_person.pk)
    assert "Enrolled: Authenticator app" in client.get(url).content.decode()


@pytest.mark.parametrize("role", ["radiopharmacist", "scheduler", "auditor"])
def test_only_qualified_persons_enrol(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(reverse("two-factor")).status_code == 403
