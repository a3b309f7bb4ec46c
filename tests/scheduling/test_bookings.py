"""Bookings: the service rules and the API (status codes, filters, query counts, audit)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent
from scheduling.models import Booking
from scheduling.services import bookings as services
from tests.factories import BookingFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
URL = "/api/v1/bookings/"


def at(hhmm: str, day: int = 24) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=AMS)


def payload(**over):
    data = {
        "patient_ref": "P-20261124-01",
        "weight_kg": 72.5,
        "injection_at": at("10:30").isoformat(),
    }
    data.update(over)
    return data


# --- service ------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["Jan Jansen", "Smith", "de Vries", "P 0001", "", "x" * 41 + "1"])
@pytest.mark.requirement("DOS-01")
def test_patient_reference_must_be_pseudonymous(scheduler, ref):
    with pytest.raises(ApplicationError) as info:
        services.booking_create(
            actor=scheduler, patient_ref=ref, weight_kg=70, injection_at=at("10:00")
        )
    assert "patient_ref" in info.value.fields


@pytest.mark.parametrize("weight", [0, -5, 0.5, 351, float("nan"), "heavy"])
@pytest.mark.requirement("DOS-01")
def test_weight_must_be_positive_and_plausible(scheduler, weight):
    with pytest.raises(ApplicationError) as info:
        services.booking_create(
            actor=scheduler, patient_ref="P-1", weight_kg=weight, injection_at=at("10:00")
        )
    assert "weight_kg" in info.value.fields


@pytest.mark.requirement("API-01")
def test_naive_injection_time_is_refused(scheduler):
    with pytest.raises(ApplicationError) as info:
        services.booking_create(
            actor=scheduler,
            patient_ref="P-1",
            weight_kg=70,
            injection_at=datetime(2026, 11, 24, 10, 0),  # noqa: DTZ001 - the point of the test
        )
    assert "injection_at" in info.value.fields


@pytest.mark.requirement("DOS-01")
def test_given_prescription_and_tolerance_override_the_rule(scheduler):
    booking = services.booking_create(
        actor=scheduler,
        patient_ref="P-1",
        weight_kg=70,
        injection_at=at("10:00"),
        prescribed_activity_mbq=120,
        tolerance_percent=5,
    )
    assert (booking.prescribed_activity_mbq, booking.tolerance_percent) == (120, 5)


@pytest.mark.requirement("AUD-01")
def test_creation_is_audited(scheduler):
    booking = services.booking_create(
        actor=scheduler, patient_ref="P-1", weight_kg=70, injection_at=at("10:00")
    )
    event = AuditEvent.objects.get(object_type="scheduling.booking")
    assert event.action == "created" and event.object_id == str(booking.pk)
    assert event.changes["prescribed_activity_mbq"]["new"] == 140.0


@pytest.mark.requirement("A11-9")
def test_reschedule_and_cancel_need_a_reason(scheduler):
    booking = BookingFactory()
    with pytest.raises(ApplicationError):
        services.booking_reschedule(
            actor=scheduler, booking_id=booking.pk, injection_at=at("12:00"), reason=" "
        )
    with pytest.raises(ApplicationError):
        services.booking_cancel(actor=scheduler, booking_id=booking.pk, reason="")


def test_cancelled_booking_cannot_be_rescheduled_or_cancelled_again(scheduler):
    booking = BookingFactory()
    services.booking_cancel(actor=scheduler, booking_id=booking.pk, reason="patient declined")
    with pytest.raises(StateConflict):
        services.booking_reschedule(
            actor=scheduler, booking_id=booking.pk, injection_at=at("12:00"), reason="again"
        )
    with pytest.raises(StateConflict):
        services.booking_cancel(actor=scheduler, booking_id=booking.pk, reason="again")


def test_missed_booking_can_be_given_a_new_time(scheduler):
    booking = BookingFactory()
    services.booking_mark_missed(actor=scheduler, booking_id=booking.pk)
    booking = services.booking_reschedule(
        actor=scheduler, booking_id=booking.pk, injection_at=at("14:00"), reason="came late"
    )
    assert booking.status == "booked"


# --- API ----------------------------------------------------------------------------------


@pytest.mark.requirement("DOS-01")
def test_post_booking_returns_prescription_and_status(api_as, scheduler):
    response = api_as(scheduler).post(URL, payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["prescribed_activity_mbq"] == 145.0
    assert body["tolerance_percent"] == 10.0
    assert body["status"] == "booked"
    assert body["dose"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"injection_at": "2026-11-24T10:30:00"},
        {"weight_kg": -70},
        {"weight_kg": "seventy"},
        {"patient_ref": "Jan Jansen"},
        {"prescribed_activity_mbq": -1},
        {"tolerance_percent": 500},
        {"product": 99999},
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_booking_input_is_a_400(api_as, scheduler, bad):
    response = api_as(scheduler).post(URL, payload(**bad), format="json")
    assert response.status_code == 400, response.content
    assert set(bad) & set(response.json())


@pytest.mark.requirement("API-03")
def test_list_filters_by_site_date_and_status(api_as, scheduler):
    # 00:30 CET on the 25th is still the 24th in UTC: the filter uses the site's day.
    BookingFactory(injection_at=at("00:30", day=25), patient_ref="P-NEXT1")
    BookingFactory(injection_at=at("23:30"), patient_ref="P-SAME1")
    BookingFactory(injection_at=at("09:00"), patient_ref="P-SAME2", status="cancelled")
    client = api_as(scheduler)
    refs = [b["patient_ref"] for b in client.get(URL, {"date": "2026-11-24"}).json()["results"]]
    assert refs == ["P-SAME2", "P-SAME1"]
    refs = [
        b["patient_ref"]
        for b in client.get(URL, {"date": "2026-11-24", "status": "booked"}).json()["results"]
    ]
    assert refs == ["P-SAME1"]
    assert client.get(URL, {"date": "24-11-2026"}).status_code == 400


def test_list_query_count_is_constant(api_as, auditor, django_assert_max_num_queries):
    client = api_as(auditor)
    BookingFactory.create_batch(2)
    with django_assert_max_num_queries(6) as few:
        client.get(URL)
    BookingFactory.create_batch(15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).json()["count"] == 17


def test_cancel_and_reschedule_endpoints(api_as, scheduler):
    client = api_as(scheduler)
    booking = BookingFactory()
    response = client.post(
        f"{URL}{booking.pk}/reschedule/",
        {"injection_at": at("13:00").isoformat(), "reason": "scanner down"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["injection_at"].startswith("2026-11-24T13:00")
    assert client.post(f"{URL}{booking.pk}/cancel/", {}, format="json").status_code == 400
    response = client.post(f"{URL}{booking.pk}/cancel/", {"reason": "declined"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = client.post(f"{URL}{booking.pk}/cancel/", {"reason": "again"}, format="json")
    assert response.status_code == 409 and response.json()["blocking"]
    assert client.post(f"{URL}999999/cancel/", {"reason": "x"}, format="json").status_code == 404
    assert Booking.objects.get().status == "cancelled"


@pytest.mark.requirement("AUD-01")
def test_missed_endpoint_needs_a_reason_and_is_audited(api_as, scheduler):
    from radiopharmacy.models import AuditEvent

    client = api_as(scheduler)
    booking = BookingFactory()
    assert client.post(f"{URL}{booking.pk}/missed/", {}, format="json").status_code == 400
    response = client.post(f"{URL}{booking.pk}/missed/", {"reason": "no show"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "missed"
    event = AuditEvent.objects.filter(object_type="scheduling.booking", action="missed").get()
    assert event.reason == "no show" and event.changes["status"]["new"] == "missed"
    assert client.post(f"{URL}999999/missed/", {"reason": "x"}, format="json").status_code == 404


def test_detail_and_404(api_as, auditor):
    booking = BookingFactory()
    client = api_as(auditor)
    assert client.get(f"{URL}{booking.pk}/").json()["patient_ref"] == booking.patient_ref
    assert client.get(f"{URL}999999/").status_code == 404


@pytest.mark.requirement("API-07", "P11-11.10(g)")
def test_radiopharmacist_cannot_book(api_as, radiopharmacist):
    assert api_as(radiopharmacist).post(URL, payload(), format="json").status_code == 403
