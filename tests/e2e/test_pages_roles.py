"""Every page each role can see, in Chromium, at the workstation (1280×800) and tablet (1024×768)
sizes (UI.md "Accessible"): no horizontal scroll, the top bar in one row, 44 px tap targets on the
tablet, every ARIA id reference resolved, no console error and no axe-core violation of impact
serious or critical. The administrator's pages are the home page and the Django admin.

Fast: one test per role builds the day's world once (`tests/pages.py`) and reads each page once,
at the size the previous page ended at, then resizes to the other size (the layout is recomputed
as when a window is resized) and checks again, axe included. Screenshots of each dashboard, the
QC form, the label and the release page, and the certificate and batch record PDFs rendered page
by page, land in test-artifacts/screenshots/.
"""

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES, AUDITOR, QUALIFIED_PERSON, RADIOPHARMACIST
from tests.e2e.conftest import axe_serious_violations, login_as, pdf_screenshots, screenshot
from tests.pages import all_pages, build_page_world, page_url

pytestmark = pytest.mark.django_db(transaction=True)

ADMINISTRATOR = "administrator"
VIEWPORTS = (("1024x768", 1024, 768), ("1280x800", 1280, 800))
# Pages that are files, not pages: fetched (status and type checked), not laid out.
# The PDFs kept as pictures with the screenshots (the qualified person's copies).
PDF_SCREENSHOTS = {"qc-certificate-download": "certificate", "batch-record-pdf": "batch-record"}
DOWNLOADS = {
    "qc-certificate-download": "application/pdf",
    "qc-lookback-csv": "text/csv",
    "batch-record-pdf": "application/pdf",
}
# Screenshots kept (full-page PNGs cost time): (url name, kwargs) -> (file stem, roles); each
# dashboard, the QC form and the label where they are used, the certificate's release page.
SCREENSHOTS = {
    ("home", ()): ("dashboard", {*ALL_ROLES, "administrator"}),
    ("qc-entry", (("pk", "pending"),)): ("qc-form", {RADIOPHARMACIST}),
    ("dose-label", (("pk", "dose"),)): ("label", {RADIOPHARMACIST}),
    ("qc-release", (("pk", "released"),)): (
        "certificate-release-page",
        {QUALIFIED_PERSON, AUDITOR},
    ),
}
# htmx fragments, also served alone: no document title or language of their own.
FRAGMENTS = {"batch-activity-now", "dose-assign-preview"}
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

# Every id an ARIA attribute points at exists on the page.
DANGLING_IDREFS = """() => [...document.querySelectorAll(
    "[aria-describedby], [aria-labelledby], [aria-controls], [aria-errormessage]")]
  .flatMap((e) => ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage"]
    .flatMap((a) => (e.getAttribute(a) || "").split(/\\s+/).filter(Boolean)
      .filter((id) => !document.getElementById(id)).map((id) => `${a}="${id}"`)))"""
TOPBAR_HEIGHT = """() => {
  const bar = document.querySelector(".topbar");
  return bar ? Math.round(bar.getBoundingClientRect().height) : null;
}"""
# The top bar stays one row (a 44 px control and its padding), the menu never wraps it.
TOPBAR_MAX_PX = 72


@pytest.fixture
def world(working_hours, radiopharmacist, qualified_person, scheduler):
    # built before the browser starts: certificate signing runs its own event loop
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
        lambda message: (
            console_errors.append(f"{page.url}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    login_as(page, _user(make_user, role))
    page.set_viewport_size({"width": 1024, "height": 768})
    problems: list[str] = []
    for name, url, kwargs in _pages_for(role, world):
        if name in DOWNLOADS:
            response = page.request.get(page.base_url + url)
            assert response.status == 200, url
            assert response.headers["content-type"].startswith(DOWNLOADS[name]), url
            if role == QUALIFIED_PERSON and name in PDF_SCREENSHOTS:
                assert pdf_screenshots(response.body(), PDF_SCREENSHOTS[name]), url
            continue
        # load at the size the last page ended at, then resize: one resize per page
        response = page.goto(page.base_url + url)
        if response.status != 200:
            problems.append(f"{url} answers {response.status}")
            continue
        if dangling := page.evaluate(DANGLING_IDREFS):
            problems.append(f"{url}: ARIA references to missing ids {dangling}")
        sizes = VIEWPORTS if page.viewport_size["width"] == 1024 else VIEWPORTS[::-1]
        for i, (label, width, height) in enumerate(sizes):
            if i:
                page.set_viewport_size({"width": width, "height": height})
            if overflow := page.evaluate(HORIZONTAL_OVERFLOW):
                problems.append(f"{url} at {label} scrolls horizontally: {overflow}")
            if (bar := page.evaluate(TOPBAR_HEIGHT)) is not None and bar > TOPBAR_MAX_PX:
                problems.append(f"{url} at {label}: the top bar is {bar} px high (wraps)")
            # the Django admin is a workstation tool with its own stylesheet: not for gloves
            tablet = width == 1024 and not name.startswith("admin:")
            if tablet and (small := page.evaluate(SMALL_TARGETS)):
                problems.append(f"{url} at {label} has tap targets under 44 px: {small}")
            # axe on every page at both sizes: the menu and the wrapped tables differ
            disabled = FRAGMENT_RULES if name in FRAGMENTS else ()
            if violations := axe_serious_violations(page, disabled=disabled):
                problems.append(f"{url} at {label}: axe {violations}")
            stem, roles = SCREENSHOTS.get((name, kwargs), ("", ()))
            if role in roles:
                screenshot(page, f"{stem}-{role}-{label}")
    assert not problems, "\n".join(problems)
    assert not console_errors, console_errors


def test_the_menu_is_one_row_at_1280_with_more_and_behind_menu_at_1024(make_user, page):
    login_as(page, make_user(AUDITOR, username="e2e-menu"))  # the longest menu
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(page.base_url + reverse("home"))
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Generators").is_visible()  # in the row
    assert not nav.get_by_role("link", name="Audit", exact=True).is_visible()  # under "More"
    nav.get_by_text("More").click()
    nav.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url("**/audit/")

    page.set_viewport_size({"width": 1024, "height": 768})
    assert not nav.get_by_role("link", name="Generators").is_visible()
    nav.get_by_text("Menu").click()
    nav.get_by_role("link", name="Generators").click()
    page.wait_for_url("**/generators/")
    # the person's menu: roles and log out
    page.locator("details.account summary").click()
    assert page.get_by_text("Auditor", exact=True).is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/**")
