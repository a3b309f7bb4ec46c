"""Booking pages: the day list, the booking form (with its script), reschedule and cancel."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from scheduling.models import Booking
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("WEB-01", "API-07")
def test_booking_day_renders_for_every_role_with_write_controls_only_for_scheduler(
    client, make_user, role
):
    BookingFactory(injection_at=datetime(2026, 11, 24, 9, 30, tzinfo=AMS), patient_ref="P-77")
    client.force_login(make_user(role))
    response = client.get(reverse("booking-list"), {"date": "2026-11-24"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "P-77" in html and "09:30 CET" in html
    assert ("Book a patient" in html) == (role == "scheduler")
    detail = client.get(reverse("booking-detail", args=[Booking.objects.get().pk])).content.decode()
    assert ("Cancel booking" in detail) == (role == "scheduler")
    assert ('<form method="post" action="/bookings/' in detail) == (role == "scheduler")


@pytest.mark.requirement("WEB-04", "PHY-04")
def test_booking_list_defaults_to_today_and_shows_mci(client, scheduler):
    client.force_login(scheduler)
    client.post(reverse("set-activity-unit"), {"unit": "mCi", "next": "/"})
    BookingFactory(injection_at=datetime(2026, 11, 24, 9, 30, tzinfo=AMS), weight_kg=74)
    html = client.get(reverse("booking-list"), {"date": "2026-11-24"}).content.decode()
    assert "4.00" in html  # 148 MBq = 4.00 mCi
    assert client.get(reverse("booking-list")).status_code == 200


def test_booking_form_has_script_and_creates_a_booking(client, scheduler):
    client.force_login(scheduler)
    html = client.get(reverse("booking-create")).content.decode()
    assert "js/booking-form.js" in html and 'data-dose-per-kg="2.0"' in html
    assert '<label for="id_weight_kg">' in html
    response = client.post(
        reverse("booking-create"),
        {"patient_ref": "P-2026-1", "weight_kg": "60", "injection_at": "2026-11-24T10:30"},
    )
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.prescribed_activity_mbq == 120
    assert booking.injection_at == datetime(2026, 11, 24, 10, 30, tzinfo=AMS)


@pytest.mark.requirement("WEB-02")
def test_booking_form_keeps_input_and_shows_field_error(client, scheduler):
    client.force_login(scheduler)
    response = client.post(
        reverse("booking-create"),
        {"patient_ref": "Jan Jansen", "weight_kg": "60", "injection_at": "2026-11-24T10:30"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "never a name" in html and 'value="Jan Jansen"' in html
    assert not Booking.objects.exists()


@pytest.mark.requirement("WEB-04", "PHY-04")
def test_booking_form_in_mci_converts_to_mbq(client, scheduler):
    client.force_login(scheduler)
    client.post(reverse("set-activity-unit"), {"unit": "mCi", "next": "/"})
    client.post(
        reverse("booking-create"),
        {
            "patient_ref": "P-2026-2",
            "weight_kg": "80",
            "injection_at": "2026-11-24T10:30",
            "prescribed_activity_mbq": "4",
        },
    )
    assert Booking.objects.get().prescribed_activity_mbq == pytest.approx(148)


def test_reschedule_and_cancel_forms(client, scheduler):
    client.force_login(scheduler)
    booking = BookingFactory()
    url = reverse("booking-reschedule", args=[booking.pk])
    response = client.post(url, {"injection_at": "2026-11-24T14:00", "reason": ""})
    assert response.status_code == 400
    response = client.post(url, {"injection_at": "2026-11-24T14:00", "reason": "scanner"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.injection_at == datetime(2026, 11, 24, 14, 0, tzinfo=AMS)
    response = client.post(reverse("booking-cancel", args=[booking.pk]), {"reason": "declined"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == "cancelled"


@pytest.mark.requirement("API-07")
def test_auditor_cannot_post_booking_forms(client, auditor):
    client.force_login(auditor)
    booking = BookingFactory()
    assert client.get(reverse("booking-create")).status_code == 403
    response = client.post(reverse("booking-cancel", args=[booking.pk]), {"reason": "x"})
    assert response.status_code == 403


def test_menu_shows_bookings_and_doses(client, auditor):
    client.force_login(auditor)
    html = client.get(reverse("home")).content.decode()
    assert 'href="/bookings/"' in html and 'href="/doses/"' in html


def test_missed_form_marks_the_booking_missed_with_its_reason(client, scheduler):
    client.force_login(scheduler)
    booking = BookingFactory()
    assert (
        "Mark as missed"
        in client.get(reverse("booking-detail", args=[booking.pk])).content.decode()
    )
    url = reverse("booking-missed", args=[booking.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and 'name="reason"' in response.content.decode()
    assert client.post(url, {"reason": "patient ill, phoned at 08:10"}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == "missed" and booking.status_reason == "patient ill, phoned at 08:10"
    assert (
        "Mark as missed"
        not in client.get(reverse("booking-detail", args=[booking.pk])).content.decode()
    )
