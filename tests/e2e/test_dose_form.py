"""The dose form in Chromium: it shows the activity and the volume to draw before saving (the
numbers `dose_assign` then stores), and cancelling a dose is set apart and asks first."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Dose
from tests.e2e.conftest import login_as, screenshot
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db(transaction=True)


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_dose_form_previews_what_to_draw_and_cancelling_asks_first(
    working_hours, radiopharmacist, page
):
    now = timezone.now().replace(second=0, microsecond=0)
    batch = ReleasedBatchFactory(eos_at=now - timedelta(minutes=30))
    booking = BookingFactory(injection_at=now + timedelta(minutes=60), patient_ref="P-PREVIEW")
    login_as(page, radiopharmacist)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(page.base_url + reverse("dose-assign"))
    preview = page.locator("#dose-preview")
    assert "Choose a booking" in preview.inner_text()

    page.get_by_label("Booking").select_option(str(booking.pk))
    page.get_by_label("Released batch").select_option(str(batch.pk))
    page.get_by_label("Draw time").fill(local(now + timedelta(minutes=40)))
    page.locator("#preview-volume").wait_for()
    activity = page.locator("#preview-activity").inner_text()
    volume = page.locator("#preview-volume").inner_text()
    assert "Read as" in page.locator(".time-echo").inner_text()  # the typed time, with its offset
    assert not Dose.objects.exists()  # a preview saves nothing
    screenshot(page, "dose-form-preview")

    page.get_by_role("button", name="Assign").click()
    page.wait_for_url("**/doses/*/")
    dose = Dose.objects.get()
    assert activity == f"{dose.activity_to_draw_mbq:.1f} MBq"  # what was shown is what is stored
    assert volume == f"{dose.volume_to_draw_ml:.2f} mL"

    # Cancelling is apart from the day's actions and asks: dismissed, nothing happens.
    danger = page.locator(".danger-zone")
    assert danger.get_by_role("heading", name="Cancel dose").is_visible()
    danger.get_by_label("Reason").fill("Wrong batch")
    page.once("dialog", lambda dialog: dialog.dismiss())
    danger.get_by_role("button", name="Cancel dose").click()
    page.wait_for_timeout(300)
    dose.refresh_from_db()
    assert dose.status == "assigned"
    questions: list[str] = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        danger.get_by_role("button", name="Cancel dose").click()
    dose.refresh_from_db()
    assert dose.status == "cancelled"
    assert "P-PREVIEW" in questions[0] and "cannot be undone" in questions[0]
