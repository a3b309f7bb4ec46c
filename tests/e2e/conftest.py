"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every request the page makes is checked: anything aimed at another host is blocked and fails the
test (nothing may load from the internet). Screenshots land in test-artifacts/screenshots/.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# axe-core, vendored (static/vendor/README.md): injected into the page under test, never fetched.
AXE = ROOT / "static" / "vendor" / "axe" / "axe-4.14.1.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def browser(_django_db_helper):
    """Chromium, started per test AFTER the database is set up for it.

    Playwright's sync API keeps an asyncio loop running in this thread, and while it runs
    Django's connection handler hands out a different connection object; starting the browser
    after the test database setup (serialized-rollback restore included) and stopping it before
    the flush keeps those on the real connection.
    """
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (Debian packages chromium, chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: browser tests are required on CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told otherwise. Only the browser tests need this.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # The ORM calls the test made while the loop ran used connections of their own: close
        # them, or PostgreSQL refuses to drop the test database at the end of the run.
        from django.db import connections

        connections.close_all()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context whose requests may only go to the live server."""
    allowed = urlparse(live_server.url).netloc
    foreign: list[str] = []
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/Amsterdam"
    )
    context.set_default_timeout(15_000)

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).netloc == allowed:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.base_url = live_server.url
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not foreign, f"pages requested other hosts: {foreign}"
    assert not errors, f"JavaScript errors on the pages: {errors}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pdf_screenshots(pdf: bytes, name: str) -> list[Path]:
    """Each page of a PDF as a PNG beside the screenshots (Chromium shows no PDF headless)."""
    import pypdfium2

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument(pdf)
    paths = []
    for number, pdf_page in enumerate(document, start=1):
        path = SCREENSHOTS / f"{name}-page-{number}.png"
        pdf_page.render(scale=2).to_pil().save(path)
        paths.append(path)
    document.close()
    return paths


def login(page, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{page.base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{page.base_url}/")


def login_as(page, user) -> None:
    """Log a user in by session cookie (no login form): for tests about the pages behind it."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": page.base_url,
            }
        ]
    )


AXE_SERIOUS = """async (disabled) => {
  const rules = Object.fromEntries(disabled.map((id) => [id, {enabled: false}]));
  const result = await axe.run(document, {resultTypes: ["violations"], rules});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3)
      .map((n) => n.target.join(" ")).join(", ")}`);
}"""


def axe_serious_violations(page, *, disabled: tuple[str, ...] = ()) -> list[str]:
    """The axe-core violations of impact serious or critical on the page as it is now (`disabled`:
    axe rule ids not to run, e.g. the document's title on an htmx fragment).

    axe is evaluated through the DevTools protocol, which the pages' Content-Security-Policy
    (script-src 'self') does not govern; a script tag (`add_script_tag`) would be refused by it.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(f"{AXE.read_text()}\n;undefined")
    return page.evaluate(AXE_SERIOUS, list(disabled))
