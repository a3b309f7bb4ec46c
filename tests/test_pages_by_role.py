"""Every page of the day renders for each role allowed to see it, and is refused to the others.

Write pages answer 403 to a role that cannot write; anonymous users are sent to the login page.
An auditor sees no write control anywhere (UI.md: "No write control appears anywhere").
"""

import re

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES, AUDITOR
from tests.pages import all_pages, build_page_world, page_url

pytestmark = pytest.mark.django_db

# What a write control looks like: a POST form, or a button that would change a record.
POST_FORM = re.compile(r"<form[^>]*method=\"post\"[^>]*>", re.IGNORECASE)
ALLOWED_POST_ACTIONS = ("/logout/", "/preferences/unit/")
WRITE_WORDS = re.compile(
    r"<(?:button|a)[^>]*>\s*(Record|Release|Book|Sign|Save|Correct|Assign|Measure|Administer|"
    r"Acknowledge|Enter QC|Cancel|Register|Accept)\b",
    re.IGNORECASE,
)


@pytest.fixture
def world(working_hours, radiopharmacist, qualified_person, scheduler):
    return build_page_world(
        radiopharmacist=radiopharmacist, qualified_person=qualified_person, scheduler=scheduler
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_of_the_day_renders_for_allowed_roles_and_is_403_for_others(
    client, make_user, world, role
):
    client.force_login(make_user(role))
    failures = []
    for name, kwargs, allowed in all_pages():
        url = page_url(world, name, kwargs)
        status = client.get(url).status_code
        expected = 200 if role in allowed else 403
        if status != expected:
            failures.append(f"{url}: {status}, expected {expected}")
    assert not failures, failures


def test_every_page_sends_anonymous_users_to_login(client, world):
    for name, kwargs, _ in all_pages():
        url = page_url(world, name, kwargs)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_an_auditor_sees_no_write_control_on_any_page(client, auditor, world):
    client.force_login(auditor)
    for name, kwargs, allowed in all_pages():
        if AUDITOR not in allowed:
            continue
        url = page_url(world, name, kwargs)
        response = client.get(url)
        if response.get("Content-Type", "").startswith("application/pdf"):
            continue
        html = response.content.decode()
        for form in POST_FORM.findall(html):
            assert any(action in form for action in ALLOWED_POST_ACTIONS), (url, form)
        assert not WRITE_WORDS.search(html), (url, WRITE_WORDS.search(html).group(0))
