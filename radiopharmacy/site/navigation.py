"""The main menu. Each area adds its pages here: (label, url name, resource the page reads),
and optionally the roles it is for when not every reader needs it in the menu.

An item shows only to users whose role may view its resource (and who have one of its roles).
"""

from django.urls import NoReverseMatch, reverse

from radiopharmacy.core.roles import (
    AUDITOR,
    QUALIFIED_PERSON,
    RADIOPHARMACIST,
    VIEW,
    can,
    user_roles,
)

QUALITY_ROLES = frozenset({RADIOPHARMACIST, QUALIFIED_PERSON, AUDITOR})

NAV_ITEMS: list[tuple] = [
    ("Home", "home", "decay"),
    ("Generators", "generator-list", "generators"),
    ("Batches", "batch-list", "batches"),
    ("Awaiting release", "qc-awaiting-release", "release"),
    ("Bookings", "booking-list", "bookings"),
    ("Plan", "plan-day", "plans"),
    ("Doses", "dose-list", "doses"),
    ("OOS and recalls", "oos-recalls", "deviations", QUALITY_ROLES),
    ("CAPA", "qc-capas", "capas", QUALITY_ROLES),
    ("Trends", "qc-trends", "trends"),
    ("Audit", "audit-search", "audit"),
    ("Audit reviews", "audit-reviews", "audit_reviews"),
]


def menu_for(user) -> list[dict]:
    items = []
    for label, url_name, resource, *roles in NAV_ITEMS:
        if not can(user, VIEW, resource):
            continue
        if roles and not (user_roles(user) & roles[0]):
            continue
        try:
            items.append({"label": label, "url": reverse(url_name), "name": url_name})
        except NoReverseMatch:
            continue
    return items
