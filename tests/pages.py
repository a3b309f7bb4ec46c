"""The pages of the day and the roles that may see them, with the world they are read on.

Shared by the page tests (`tests/test_pages_by_role.py`: status codes and write controls) and
the browser tests (`tests/e2e/test_pages_roles.py`: layout, console and accessibility), so a page
added here is checked by both.
"""

from django.urls import NoReverseMatch, reverse

from radiopharmacy.core.roles import (
    ALL_ROLES,
    AUDITOR,
    QUALIFIED_PERSON,
    RADIOPHARMACIST,
    SCHEDULER,
)
from tests.day_world import build_world

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
    ("batch-record-pdf", {"pk": "released"}, EVERYONE),
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
    ("dose-assign-preview", {}, {RP}),
    ("dose-detail", {"pk": "dose"}, EVERYONE),
    ("dose-label", {"pk": "dose"}, EVERYONE),
    ("dose-calibrator-import", {}, {RP}),
    ("qc-radio-tlc", {"pk": "pending"}, {RP}),
    ("audit-search", {}, {AUD, QP}),
    ("audit-reviews", {}, {AUD, QP}),
    ("audit-review", {}, {AUD, QP}),
    ("oos-recalls", {}, EVERYONE),
    ("qc-event", {"pk": "event"}, EVERYONE),
    ("qc-event-create", {}, {RP, QP}),
    ("qc-capas", {}, EVERYONE),
    ("qc-lookback", {"pk": "released"}, EVERYONE),
    ("qc-lookback-csv", {"pk": "released"}, EVERYONE),
]
# The scheduler's plan page, when the scheduling area provides it.
OPTIONAL_PAGES: list[tuple[str, dict, set[str]]] = [("plan-day", {}, EVERYONE)]


def build_page_world(*, radiopharmacist, qualified_person, scheduler):
    """The day's world (tests/day_world.py) with a quality event and its CAPA, for the quality
    event pages."""
    from qc.services.capas import capa_create
    from qc.services.deviations import deviation_open
    from radiopharmacy.core.sitetime import site_today

    world = build_world(
        radiopharmacist=radiopharmacist, qualified_person=qualified_person, scheduler=scheduler
    )
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


def page_url(world, name, kwargs) -> str:
    return reverse(name, kwargs={k: getattr(world, v).pk for k, v in kwargs.items()})


def all_pages() -> list[tuple[str, dict, set[str]]]:
    """PAGES, and the optional pages whose area provides them."""
    pages = list(PAGES)
    for name, kwargs, roles in OPTIONAL_PAGES:
        try:
            reverse(name)
        except NoReverseMatch:
            continue
        pages.append((name, kwargs, roles))
    return pages
