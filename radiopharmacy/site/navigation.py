"""The main menu. Each area adds its pages here: (label, url name, resource the page reads).

An item shows only to users whose role may view its resource.
"""

from django.urls import NoReverseMatch, reverse

from radiopharmacy.core.roles import VIEW, can

NAV_ITEMS: list[tuple[str, str, str]] = [
    ("Home", "home", "decay"),
    ("Generators", "generator-list", "generators"),
    ("Batches", "batch-list", "batches"),
    ("Awaiting release", "qc-awaiting-release", "release"),
    ("Bookings", "booking-list", "bookings"),
    ("Plan", "plan-day", "plans"),
    ("Doses", "dose-list", "doses"),
    ("OOS and recalls", "oos-recalls", "audit"),
    ("Audit", "audit-search", "audit"),
]


def menu_for(user) -> list[dict]:
    items = []
    for label, url_name, resource in NAV_ITEMS:
        if not can(user, VIEW, resource):
            continue
        try:
            items.append({"label": label, "url": reverse(url_name), "name": url_name})
        except NoReverseMatch:
            continue
    return items
