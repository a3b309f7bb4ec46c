"""The QC of a batch entered with the keyboard alone, on one form (UI.md: "QC of a batch on one
keyboard-first form"): focus the first value, type, Tab, ..., Enter; the release check turns
green and the page stays on the form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qc.models import QcResult
from tests.e2e.conftest import login_as, screenshot
from tests.factories import PASSING_RELEASE_VALUES, BatchFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_all_qc_results_of_a_batch_with_the_keyboard_alone(working_hours, page, radiopharmacist):
    now = timezone.now()
    batch = BatchFactory(operator=radiopharmacist, started_at=now - timedelta(minutes=40))
    login_as(page, radiopharmacist)
    page.goto(f"{page.base_url}/batches/{batch.pk}/qc/")
    check = page.locator("#qc-release-check")
    assert "Not releasable yet" in check.inner_text()

    values = page.locator("#qc-form input[data-kind]")
    codes = [values.nth(i).get_attribute("data-test") for i in range(values.count())]
    typed = {code: PASSING_RELEASE_VALUES[code] for code in codes if code in PASSING_RELEASE_VALUES}
    assert set(typed) >= {"appearance", "ph", "rcp_itlc", "endotoxin"}

    page.locator(f"#value-{codes[0]}").focus()
    for position, code in enumerate(codes):
        focused = page.evaluate("document.activeElement.id")
        assert focused == f"value-{code}", "Tab goes from one value to the next"
        if code in typed:
            page.keyboard.type(str(typed[code]))
            assert "Pass" in page.locator(f"#chip-{code}").inner_text()  # live, as typed
        if position < len(codes) - 1:
            page.keyboard.press("Tab")
    screenshot(page, "qc-entry-keyboard-typed")
    page.keyboard.press("Enter")  # saves every value typed, in one POST

    page.wait_for_url(f"**/batches/{batch.pk}/qc/#qc-saved")
    assert QcResult.objects.filter(batch=batch).count() == len(typed)
    saved = page.locator("#qc-saved")
    assert "Appearance: pass — within specification" in saved.inner_text()
    assert page.evaluate("document.activeElement.id") == "qc-saved"  # not the top of the page
    assert page.locator("#qc-release-check .chip.pass").inner_text() == "Releasable"
    screenshot(page, "qc-entry-keyboard-saved")
