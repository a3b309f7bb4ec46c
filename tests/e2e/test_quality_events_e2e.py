"""An OOS from a typing error, through the web pages only, in Chromium (SPEC §2.4a, issue 11):
a failing RCP opens an OOS; the radiopharmacist corrects the result with a reason and records
phase I (a transcription error); the qualified person closes the OOS as invalidated with a
password (a wrong one first: nothing is closed); the corrected result counts, the batch is
released and its release page and batch record show the closed OOS with its conclusion.

The batch is recorded through its service (it is not what is tested); times are relative to
now: synthesis ending 5 min ago, QC now.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from qc.models import Deviation
from radiopharmacy.models import Batch
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db(transaction=True)

CAUSE = "Transcription error: 93 typed for the 97.2 % on the scanner printout"


def flash(page) -> str:
    return page.locator(".messages").inner_text()


def saved(page) -> str:
    """What the QC form says it saved, one line per result."""
    return page.locator("#qc-saved").inner_text()


@pytest.fixture
def staff(make_user):
    return {
        "rp": make_user("radiopharmacist", username="rhea", first_name="Rhea", last_name="Pharm"),
        "qp": make_user(
            "qualified_person", username="quentin", first_name="Quentin", last_name="Peters"
        ),
    }


def test_an_oos_from_a_typing_error_is_invalidated_and_the_batch_released(
    working_hours, page, staff
):
    now = timezone.now()
    batch = BatchFactory(
        operator=staff["rp"],
        started_at=now - timedelta(minutes=30),
        qc="passing",
        skip={"rcp_itlc"},
        qc_at=now - timedelta(minutes=2),
    )
    base = page.base_url

    # --- Radiopharmacist: the RCP typed wrong, then corrected with a reason -----------------
    login(page, "rhea", TEST_PASSWORD)
    page.goto(f"{base}/batches/{batch.pk}/qc/")
    page.locator("#value-rcp_itlc").fill("93")
    page.locator("#value-rcp_itlc").press("Enter")  # the one form saves what was typed
    assert "out of specification" in saved(page), saved(page)
    oos = Deviation.objects.get(batch=batch, kind="oos")

    page.locator("#value-rcp_itlc").fill("97.2")
    page.locator("#reason-rcp_itlc").fill("Transcription error: 97.2 on the printout")
    page.locator("#qc-save").click()
    assert "within specification" in saved(page), saved(page)

    # the batch record shows the open OOS, which blocks release; its page holds the history
    page.goto(f"{base}/batches/{batch.pk}/")
    assert page.get_by_text(f"Out of specification #{oos.pk} is open").is_visible()
    page.get_by_role("link", name=f"Out of specification #{oos.pk}").click()
    page.wait_for_url(f"**/quality-events/{oos.pk}/")
    assert page.get_by_role("heading", name="Phase I: laboratory investigation").is_visible()
    page.get_by_label("Findings").fill("Scanner printout of the strip reads 97.2 %")
    page.get_by_label("Assignable cause").fill(CAUSE)
    page.get_by_role("button", name="Record phase I").click()
    assert "Phase I: laboratory investigation recorded" in flash(page), flash(page)
    assert page.get_by_text("A qualified person closes a quality event").is_visible()
    screenshot(page, "quality-event-investigated")

    # --- Qualified person: a wrong password closes nothing, then the signature --------------
    login(page, "quentin", TEST_PASSWORD)
    page.goto(f"{base}/quality-events/{oos.pk}/")
    page.get_by_label("Invalidated (assignable laboratory error)").check()
    page.get_by_label("Conclusion in words").fill("Laboratory error; the corrected 97.2 % counts")
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Sign: close the investigation").click()
    assert "The password is not correct" in page.get_by_role("alert").first.inner_text()
    assert Deviation.objects.get(pk=oos.pk).status == "investigating"

    page.get_by_label("Invalidated (assignable laboratory error)").check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign: close the investigation").click()
    assert "closed as Invalidated" in flash(page), flash(page)
    closing = page.locator("section", has=page.get_by_role("heading", name="Closing signature"))
    text = closing.inner_text()
    assert "Investigation closed" in text and "Quentin Peters" in text and "UTC" in text
    screenshot(page, "quality-event-closed")

    # --- the corrected result counts: release, and the pages show the closed OOS ------------
    page.goto(f"{base}/batches/{batch.pk}/release/")
    assert page.get_by_text("Releasable").first.is_visible()
    page.get_by_label("Released for human use").check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign").click()
    assert "Released for human use, signed by Quentin Peters" in flash(page)
    assert Batch.objects.get(pk=batch.pk).status == "released"
    for url in (f"{base}/batches/{batch.pk}/release/", f"{base}/batches/{batch.pk}/"):
        page.goto(url)
        events = page.locator(
            "section", has=page.get_by_role("heading", name="Quality events (OOS, deviations)")
        )
        text = events.inner_text()
        assert f"Out of specification #{oos.pk}" in text, url
        assert "Invalidated (assignable laboratory error)" in text, url
        assert "Investigation closed · Quentin Peters" in text, url
    screenshot(page, "batch-record-closed-oos")
