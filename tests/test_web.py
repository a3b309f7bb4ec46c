import re

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("WEB-01")
def test_login_page_renders_with_labelled_fields(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html


def test_home_redirects_anonymous_users_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("WEB-01")
def test_home_shows_the_users_role(client, make_user, role):
    client.force_login(make_user(role))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert {
        "radiopharmacist": "Radiopharmacist",
        "qualified_person": "Qualified person",
        "scheduler": "Scheduler",
        "auditor": "Auditor",
    }[role] in response.content.decode()


def test_pages_load_nothing_from_another_host(client, auditor):
    client.force_login(auditor)
    html = client.get(reverse("home")).content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources)


def test_content_security_policy_allows_only_this_host(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


@pytest.mark.requirement("WEB-04")
def test_unit_switch_is_remembered_for_the_session(client, scheduler):
    client.force_login(scheduler)
    client.post(reverse("set-activity-unit"), {"unit": "mCi", "next": "/"})
    assert client.session["activity_unit"] == "mCi"
    client.post(reverse("set-activity-unit"), {"unit": "Ci", "next": "https://evil.example/"})
    assert client.session["activity_unit"] == "mCi"
