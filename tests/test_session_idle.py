"""The idle timeout (15 min) counts a person's requests only: a batch page's 30 s background
refresh neither renews the session nor saves it."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from radiopharmacy.core.sessions import POLL_HEADER
from tests.factories import RELEASE_TIME, TEST_PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", f"HTTP_{POLL_HEADER.upper().replace('-', '_')}": "1"}


@pytest.fixture
def clock():
    with time_machine.travel(RELEASE_TIME, tick=False) as traveller:
        yield traveller


@pytest.fixture
def batch(radiopharmacist, clock):
    return BatchFactory(operator=radiopharmacist, qc="passing")


def log_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_settings_idle_time_is_fifteen_minutes_and_not_renewed_by_every_request():
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


@pytest.mark.requirement("P11-11.10(d)", "P11-11.200")
def test_session_ends_after_fifteen_idle_minutes(client, radiopharmacist, clock):
    log_in(client, radiopharmacist)
    assert client.get(reverse("home")).status_code == 200
    clock.shift(14 * 60)  # activity within the window keeps the session alive
    assert client.get(reverse("home")).status_code == 200
    clock.shift(14 * 60)
    assert client.get(reverse("home")).status_code == 200
    clock.shift(16 * 60)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_session_left_on_a_batch_page_expires_after_the_idle_time(
    client, radiopharmacist, batch, clock
):
    log_in(client, radiopharmacist)
    page = reverse("batch-detail", args=[batch.pk])
    html = client.get(page).content.decode()
    poll_url = reverse("batch-activity-now", args=[batch.pk])
    assert 'hx-trigger="every 30s"' in html and POLL_HEADER in html  # the page marks its poll
    # Left alone: the page polls every 30 s for 15 minutes.
    for _ in range(2 * 15 - 1):
        clock.shift(30)
        response = client.get(poll_url, **POLL)
        assert response.status_code == 200
        assert settings.SESSION_COOKIE_NAME not in response.cookies  # not saved, not renewed
    clock.shift(30)
    response = client.get(poll_url, HTTP_HX_CURRENT_URL=f"http://testserver{page}", **POLL)
    # htmx is told to take the whole window to the log-in page, back to the batch page after.
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert f"next={page.replace('/', '%2F')}" in response["HX-Redirect"]
    response = client.get(page)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert "_auth_user_id" not in client.session


def test_a_person_on_a_batch_page_stays_signed_in_while_working(
    client, radiopharmacist, batch, clock
):
    log_in(client, radiopharmacist)
    page = reverse("batch-detail", args=[batch.pk])
    poll_url = reverse("batch-activity-now", args=[batch.pk])
    for _ in range(3):
        for _ in range(20):  # 10 minutes of polls
            clock.shift(30)
            assert client.get(poll_url, **POLL).status_code == 200
        assert client.get(page).status_code == 200  # the person clicks: activity
    assert client.session["_auth_user_id"] == str(radiopharmacist.pk)


def test_poll_marked_by_query_parameter_does_not_renew_either(
    client, radiopharmacist, batch, clock
):
    log_in(client, radiopharmacist)
    poll_url = reverse("batch-activity-now", args=[batch.pk]) + "?poll=1"
    clock.shift(10 * 60)
    assert client.get(poll_url).status_code == 200
    clock.shift(6 * 60)
    response = client.get(poll_url)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.requirement("P11-11.10(d)", "P11-11.200")
def test_idle_timeout_holds_even_if_the_stored_session_outlives_it(client, radiopharmacist, clock):
    """The last activity is checked on every request, whatever the session store's expiry."""
    log_in(client, radiopharmacist)
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session.set_expiry(dt.timedelta(hours=8))
    session.save()
    clock.shift(16 * 60)
    assert client.get(reverse("home")).status_code == 302
