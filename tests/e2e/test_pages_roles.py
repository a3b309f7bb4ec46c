"""Every page each role can see, in Chromium, at the workstation (1280×800) and tablet (1024×768)
sizes: no horizontal scroll, no console error, no axe-core violation of impact serious or
critical, and 44 px tap targets on the tablet (UI.md "Accessible").

One test per role reads each of its pages once: the page is loaded at 1024×768, checked, resized
to 1280×800 (the layout is recomputed, as when a window is resized) and checked again, and axe
runs at both sizes. Screenshots of each dashboard, the QC form, the label and the certificate's
pages land in test-artifacts/screenshots/.
"""

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from tests.e2e.conftest import axe_serious_violations, login_as, screenshot
from tests.pages import all_pages, build_page_world, page_url

pytestmark = pytest.mark.django_db(transaction=True)

ADMINISTRATOR = "administrator"
VIEWPORTS = (("1024x768", 1024, 768), ("1280x800", 1280, 800))
# Pages that are files, not pages: fetched (status and type checked), not laid out.
DOWNLOADS = {"qc-certificate-download": "application/pdf", "qc-lookback-csv": "text/csv"}
# Pages whose screenshot is kept: (url name, kwargs) -> file name stem.
SCREENSHOTS = {
    ("home", ()): "dashboard",
    ("qc-entry", (("pk", "pending"),)): "qc-form",
    ("dose-label", (("pk", "dose"),)): "label",
    ("qc-release", (("pk", "released"),)): "certificate-release-page",
    ("batch-detail", (("pk", "released"),)): "batch-record",
}
# htmx fragments, also served alone: no document title or language of their own.
FRAGMENTS = {"batch-activity-now"}
FRAGMENT_RULES = ("document-title", "html-has-lang", "landmark-one-main", "page-has-heading-one")
# The administrator's pages: the home page and the Django admin (users, products, settings).
ADMIN_PAGES = ("home", "admin:index", "admin:auth_user_changelist")

HORIZONTAL_OVERFLOW = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  // name the elements that stick out, to say what to fix
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className}`);
}"""
# Visible controls a gloved finger taps, smaller than 44 px high (the skip link is off-screen
# until focused; inline links in text are exempt, as in WCAG 2.5.5).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    "button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), " +
    "a.button, nav a")]
  .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
  .slice(0, 5)
  .map((e) => `${e.tagName.toLowerCase()} "${(e.innerText || e.name || "").trim()}" ` +
              `${Math.round(e.getBoundingClientRect().height)} px`)"""


@pytest.fixture
def world(working_hours, radiopharmacist, qualified_person, scheduler, monkeypatch):
    import tests.day_world as day_world_module  # TEMP until day_world accepts its generator
    from radiopharmacy.services.elutions import elution_record
    from radiopharmacy.services.generators import generator_accept

    def record_and_accept(**kwargs):
        elution = elution_record(**kwargs)
        if elution.generator.status == "quarantine":
            generator_accept(actor=kwargs["actor"], generator_id=elution.generator_id, note="ok",
                documents_checked=True, certificate_activity_checked=True,
                first_eluate_checked=True)
        return elution

    monkeypatch.setattr(day_world_module, "elution_record", record_and_accept)
    return build_page_world(
        radiopharmacist=radiopharmacist, qualified_person=qualified_person, scheduler=scheduler
    )


def _pages_for(role, world):
    if role == ADMINISTRATOR:
        return [(name, reverse(name), ()) for name in ADMIN_PAGES]
    return [
        (name, page_url(world, name, kwargs), tuple(sorted(kwargs.items())))
        for name, kwargs, allowed in all_pages()
        if role in allowed
    ]


def _user(make_user, role):
    if role == ADMINISTRATOR:
        return make_user(None, username="e2e-admin", is_staff=True, is_superuser=True)
    return make_user(role, username=f"e2e-{role}")


@pytest.mark.parametrize("role", (*ALL_ROLES, ADMINISTRATOR))
def test_every_page_of_a_role_fits_both_viewports_without_console_errors_or_axe_violations(
    world, make_user, page, role
):
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(f"{page.url}: {message.text}")
        if message.type == "error"
        else None,
    )
    login_as(page, _user(make_user, role))
    page.set_viewport_size({"width": 1024, "height": 768})
    problems: list[str] = []
    for name, url, kwargs in _pages_for(role, world):
        if name in DOWNLOADS:
            response = page.request.get(page.base_url + url)
            assert response.status == 200, url
            assert response.headers["content-type"].startswith(DOWNLOADS[name]), url
            continue
        # load at the size the last page ended at, then resize: one resize per page
        response = page.goto(page.base_url + url)
        if response.status != 200:
            problems.append(f"{url} answers {response.status}")
            continue
        sizes = VIEWPORTS if page.viewport_size["width"] == 1024 else VIEWPORTS[::-1]
        for i, (label, width, height) in enumerate(sizes):
            if i:
                page.set_viewport_size({"width": width, "height": height})
            if overflow := page.evaluate(HORIZONTAL_OVERFLOW):
                problems.append(f"{url} at {label} scrolls horizontally: {overflow}")
            # the Django admin is a workstation tool with its own stylesheet: not for gloves
            tablet = width == 1024 and not name.startswith("admin:")
            if tablet and (small := page.evaluate(SMALL_TARGETS)):
                problems.append(f"{url} at {label} has tap targets under 44 px: {small}")
            # axe on every page at the tablet size, and on the home page at the workstation size
            # too (the rest of the 1280 layout is the same markup: the menu differs, seen here)
            if width == 1024 or name == "home":
                disabled = FRAGMENT_RULES if name in FRAGMENTS else ()
                if violations := axe_serious_violations(page, disabled=disabled):
                    problems.append(f"{url} at {label}: axe {violations}")
            if stem := SCREENSHOTS.get((name, kwargs)):
                screenshot(page, f"{stem}-{role}-{label}")
    assert not problems, "\n".join(problems)
    assert not console_errors, console_errors
