"""The syringe label in Chromium (SPEC §2.6): the measured activity at its measurement time, in
MBq always (mCi beside it when the user chose mCi), the dose id in text and as a QR code, the
site's name and "Radioactive" with the trefoil."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from radiopharmacy.models import UserPreference
from scheduling.services.doses import dose_assign, dose_measure
from tests.e2e.conftest import axe_serious_violations, login_as, screenshot
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def measured_dose(working_hours, radiopharmacist):
    now = timezone.now()
    batch = ReleasedBatchFactory(eos_at=now - timedelta(minutes=30))
    booking = BookingFactory(
        injection_at=now + timedelta(minutes=30), prescribed_activity_mbq=150, patient_ref="P-77"
    )
    dose = dose_assign(actor=radiopharmacist, booking_id=booking.pk, batch_id=batch.pk, draw_at=now)
    return dose_measure(
        actor=radiopharmacist,
        dose_id=dose.pk,
        activity_mbq=205.4,
        measured_at=now - timedelta(minutes=1),
    )


@pytest.mark.parametrize("unit", ["MBq", "mCi"])
def test_the_label_prints_the_measured_activity_in_mbq_and_the_dose_id(
    page, measured_dose, radiopharmacist, unit
):
    UserPreference.objects.update_or_create(user=radiopharmacist, defaults={"activity_unit": unit})
    login_as(page, radiopharmacist)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(page.base_url + reverse("dose-label", args=[measured_dose.pk]))
    label = page.locator("#syringe-label")
    activity = label.locator("#label-activity").inner_text()
    assert re.search(r"\b205\.4 MBq\b", activity), activity  # measured, not the prescribed 150
    if unit == "mCi":
        assert "(5.55 mCi)" in activity  # 205.4 / 37, two decimals
    else:
        assert "mCi" not in activity
    assert label.locator("#label-dose-id").inner_text() == str(measured_dose.pk)
    qr = label.get_by_role("img", name=f"QR code of dose {measured_dose.pk}")
    assert qr.bounding_box()["width"] > 50  # 18 mm at 96 dpi
    text = label.inner_text()
    assert "RADIOACTIVE" in text.upper() and settings.SITE_NAME in text
    assert "Calculated" not in text and "P-77" in text
    assert label.locator("svg.trefoil").is_visible()
    assert not axe_serious_violations(page)
    screenshot(page, f"label-measured-{unit}")
