"""Dose pages: doses to draw in big type, assignment with reasons, measure, administer, label."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from scheduling.models import Dose
from scheduling.services import doses as services
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _after_the_doses():
    """Syringes here are measured and injected on 24 November: nothing is measured or injected
    in the future, so look at them two days later, whatever day the suite runs."""
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=AMS), tick=True):
        yield


@pytest.fixture
def batch():
    return ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 9, 40, tzinfo=AMS))


@pytest.fixture
def booking():
    return BookingFactory(
        injection_at=datetime(2026, 11, 24, 10, 30, tzinfo=AMS),
        prescribed_activity_mbq=150,
        patient_ref="P-4242",
    )


@pytest.fixture
def dose(booking, batch, radiopharmacist):
    return services.dose_assign(
        actor=radiopharmacist,
        booking_id=booking.pk,
        batch_id=batch.pk,
        draw_at=datetime(2026, 11, 24, 10, 10, tzinfo=AMS),
    )


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("WEB-01")
def test_doses_to_draw_render_for_every_role(client, make_user, role, dose):
    client.force_login(make_user(role))
    html = client.get(reverse("dose-list"), {"date": "2026-11-24"}).content.decode()
    assert "P-4242" in html and "10:10" in html
    assert 'class="big">184.1' in html and "1.25 <span" in html
    assert ("Assign a dose" in html) == (role == "radiopharmacist")
    detail = client.get(reverse("dose-detail", args=[dose.pk])).content.decode()
    assert ("Record measurement" in detail) == (role == "radiopharmacist")
    assert client.get(reverse("dose-label", args=[dose.pk])).status_code == 200


@pytest.mark.requirement("WEB-04")
def test_doses_to_draw_in_mci(client, radiopharmacist, dose):
    client.force_login(radiopharmacist)
    client.post(reverse("set-activity-unit"), {"unit": "mCi", "next": "/"})
    html = client.get(reverse("dose-list"), {"date": "2026-11-24"}).content.decode()
    assert 'class="big">4.98' in html  # 184.1 MBq / 37


@pytest.mark.requirement("WEB-02")
def test_assign_form_creates_dose_and_shows_refusal_reasons(
    client, radiopharmacist, booking, batch
):
    client.force_login(radiopharmacist)
    url = reverse("dose-assign") + "?date=2026-11-24"
    page = client.get(url + f"&booking={booking.pk}").content.decode()
    assert batch.batch_number in page and "P-4242" in page
    assert 'value="2026-11-24T10:20"' in page  # injection − 10 min lead time
    response = client.post(
        url, {"booking": booking.pk, "batch": batch.pk, "draw_at": "2026-11-24T09:30"}
    )
    assert response.status_code == 400
    assert "Draw time 09:30 CET is before the end of synthesis 09:40 CET." in (
        response.content.decode()
    )
    response = client.post(
        url, {"booking": booking.pk, "batch": batch.pk, "draw_at": "2026-11-24T10:10"}
    )
    assert response.status_code == 302
    assert round(Dose.objects.get().volume_to_draw_ml, 2) == 1.25


@pytest.mark.requirement("WEB-02")
def test_measure_and_administer_forms(client, radiopharmacist, dose):
    client.force_login(radiopharmacist)
    response = client.post(
        reverse("dose-measure", args=[dose.pk]),
        {"activity_mbq": "184.1", "measured_at": "2026-11-24T10:10"},
    )
    assert response.status_code == 302
    dose.refresh_from_db()
    assert dose.within_tolerance and dose.status == "dispensed"
    bad = client.post(
        reverse("dose-administer", args=[dose.pk]),
        {
            "injected_at": "2026-11-24T10:30",
            "residual_activity_mbq": "1",
            "residual_measured_at": "2026-11-24T10:20",
        },
    )
    assert bad.status_code == 400 and "before the injection" in bad.content.decode()
    response = client.post(
        reverse("dose-administer", args=[dose.pk]),
        {
            "injected_at": "2026-11-24T10:30",
            "residual_activity_mbq": "0",
            "residual_measured_at": "2026-11-24T10:31",
        },
    )
    assert response.status_code == 302
    dose.refresh_from_db()
    assert dose.administered_activity_mbq == pytest.approx(150, abs=0.1)


def test_cancel_form_needs_reason(client, radiopharmacist, dose):
    client.force_login(radiopharmacist)
    assert client.post(reverse("dose-cancel", args=[dose.pk]), {"reason": ""}).status_code == 400
    response = client.post(reverse("dose-cancel", args=[dose.pk]), {"reason": "wrong batch"})
    assert response.status_code == 302
    dose.refresh_from_db()
    assert dose.status == "cancelled"


@pytest.mark.requirement("DOS-08")
def test_label_shows_what_the_syringe_needs(client, radiopharmacist, dose, batch):
    client.force_login(radiopharmacist)
    html = client.get(reverse("dose-label", args=[dose.pk])).content.decode()
    for text in (
        "P-4242",
        "Ga-68 DOTATATE injection",
        "Calculated, not measured",  # before measurement: the activity to draw at the draw time
        "184.1 <span",
        "24 Nov 2026 10:10 CET",
        "24 Nov 2026 10:30 CET",
        "1.25 mL",
        batch.batch_number,
        "24 Nov 2026 13:40 CET",
        "@media print",
    ):
        assert text in html, text


@pytest.mark.requirement("API-07")
def test_auditor_cannot_post_dose_forms(client, auditor, dose):
    client.force_login(auditor)
    response = client.post(
        reverse("dose-measure", args=[dose.pk]),
        {"activity_mbq": "184.1", "measured_at": "2026-11-24T10:10"},
    )
    assert response.status_code == 403
    assert client.get(reverse("dose-assign")).status_code == 403


def test_unknown_dose_page_is_404(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("dose-detail", args=[999999])).status_code == 404
