"""Every page of the day renders for each role allowed to see it, and is refused to the others.

Write pages answer 403 to a role that cannot write; anonymous users are sent to the login page.
An auditor sees no write control anywhere (UI.md: "No write control appears anywhere").
"""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from radiopharmacy.core.roles import (
    ALL_ROLES,
    AUDITOR,
    QUALIFIED_PERSON,
    RADIOPHARMACIST,
    SCHEDULER,
)
from tests.day_world import build_world

pytestmark = pytest.mark.django_db

RP, QP, SCH, AUD = RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER, AUDITOR
EVERYONE = set(ALL_ROLES)

# (url name, kwargs naming a world record, roles allowed); the others get a 403.
PAGES: list[tuple[str, dict, set[str]]] = [
    ("home", {}, EVERYONE),
    ("generator-list", {}, EVERYONE),
    ("generator-detail", {"pk": "generator"}, EVERYONE),
    ("generator-create", {}, {RP}),
    ("generator-status", {"pk": "generator"}, {RP}),
    ("elution-create", {"pk": "generator"}, {RP}),
    ("elution-correction", {"pk": "elution"}, {RP}),
    ("batch-list", {}, EVERYONE),
    ("batch-create", {}, {RP}),
    ("batch-detail", {"pk": "released"}, EVERYONE),
    ("batch-detail", {"pk": "pending"}, EVERYONE),
    ("batch-correction", {"pk": "pending"}, {RP}),
    ("batch-activity-now", {"pk": "released"}, EVERYONE),
    ("qc-entry", {"pk": "pending"}, {RP}),
    ("qc-awaiting-release", {}, EVERYONE),
    ("qc-released-today", {}, EVERYONE),
    ("qc-release", {"pk": "pending"}, EVERYONE),
    ("qc-release", {"pk": "released"}, EVERYONE),
    ("qc-certificate-download", {"pk": "released"}, EVERYONE),
    ("booking-list", {}, EVERYONE),
    ("booking-create", {}, {SCH}),
    ("booking-detail", {"pk": "booking"}, EVERYONE),
    ("dose-list", {}, EVERYONE),
    ("dose-assign", {}, {RP}),
    ("dose-detail", {"pk": "dose"}, EVERYONE),
    ("dose-label", {"pk": "dose"}, EVERYONE),
    ("dose-calibrator-import", {}, {RP}),
    ("qc-radio-tlc", {"pk": "pending"}, {RP}),
    ("audit-search", {}, {AUD, QP}),
    ("oos-recalls", {}, EVERYONE),
    ("qc-event", {"pk": "event"}, EVERYONE),
    ("qc-event-create", {}, {RP, QP}),
    ("qc-capas", {}, EVERYONE),
    ("qc-lookback", {"pk": "released"}, EVERYONE),
    ("qc-lookback-csv", {"pk": "released"}, EVERYONE),
]
# The scheduler's plan page, when the scheduling area provides it.
OPTIONAL_PAGES: list[tuple[str, dict, set[str]]] = [("plan-day", {}, EVERYONE)]

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
    from qc.services.capas import capa_create
    from qc.services.deviations import deviation_open
    from radiopharmacy.core.sitetime import site_today

    world = build_world(
        radiopharmacist=radiopharmacist, qualified_person=qualified_person, scheduler=scheduler
    )
    # a quality event with a CAPA, for the quality event pages
    world.event = deviation_open(
        batch=None, kind="deviation", description="Hot cell door left open", actor=radiopharmacist
    )
    capa_create(
        actor=radiopharmacist,
        deviation=world.event,
        description="Door alarm",
        owner=radiopharmacist,
        due_on=site_today(),
    )
    return world


def _url(world, name, kwargs):
    return reverse(name, kwargs={k: getattr(world, v).pk for k, v in kwargs.items()})


def _pages():
    pages = list(PAGES)
    for name, kwargs, roles in OPTIONAL_PAGES:
        try:
            reverse(name)
        except NoReverseMatch:
            continue
        pages.append((name, kwargs, roles))
    return pages


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_of_the_day_renders_for_allowed_roles_and_is_403_for_others(
    client, make_user, world, role
):
    client.force_login(make_user(role))
    failures = []
    for name, kwargs, allowed in _pages():
        url = _url(world, name, kwargs)
        status = client.get(url).status_code
        expected = 200 if role in allowed else 403
        if status != expected:
            failures.append(f"{url}: {status}, expected {expected}")
    assert not failures, failures


def test_every_page_sends_anonymous_users_to_login(client, world):
    for name, kwargs, _ in _pages():
        url = _url(world, name, kwargs)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_an_auditor_sees_no_write_control_on_any_page(client, auditor, world):
    client.force_login(auditor)
    for name, kwargs, allowed in _pages():
        if AUDITOR not in allowed:
            continue
        url = _url(world, name, kwargs)
        response = client.get(url)
        if response.get("Content-Type", "").startswith("application/pdf"):
            continue
        html = response.content.decode()
        for form in POST_FORM.findall(html):
            assert any(action in form for action in ALLOWED_POST_ACTIONS), (url, form)
        assert not WRITE_WORDS.search(html), (url, WRITE_WORDS.search(html).group(0))
