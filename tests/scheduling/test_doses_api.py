"""The dose endpoints: assignment, measurement, administration, cancel; 400/404/409; queries."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling.models import Dose
from scheduling.services import doses as services
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
URL = "/api/v1/doses/"


@pytest.fixture(autouse=True)
def _after_the_doses():
    """Syringes are measured and injected on 24 November: nothing is measured or injected in
    the future, so look at them two days later, whatever day the suite runs."""
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=AMS), tick=True):
        yield


def at(hhmm: str) -> str:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, h, m, tzinfo=AMS).isoformat()


@pytest.fixture
def batch():
    return ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 9, 40, tzinfo=AMS))


@pytest.fixture
def booking():
    return BookingFactory(
        injection_at=datetime(2026, 11, 24, 10, 30, tzinfo=AMS), prescribed_activity_mbq=150
    )


@pytest.fixture
def rp_client(api_as, radiopharmacist):
    return api_as(radiopharmacist)


def post_dose(client, booking, batch, draw="10:10"):
    return client.post(
        URL, {"booking": booking.pk, "batch": batch.pk, "draw_at": at(draw)}, format="json"
    )


@pytest.mark.requirement("DOS-02")
def test_post_dose_returns_activity_and_volume_to_draw(rp_client, booking, batch):
    response = post_dose(rp_client, booking, batch)
    assert response.status_code == 201, response.content
    body = response.json()
    assert round(body["activity_to_draw_mbq"], 1) == 184.1
    assert round(body["volume_to_draw_ml"], 2) == 1.25
    assert body["status"] == "assigned" and body["batch_number"] == batch.batch_number
    assert rp_client.get(f"/api/v1/bookings/{booking.pk}/").json()["dose"] == body["id"]


@pytest.mark.parametrize(
    "bad",
    [
        {"draw_at": "2026-11-24T10:10:00"},
        {"draw_at": "soon"},
        {"booking": 999999},
        {"batch": 999999},
        {"booking": -3},
        {"batch": "abc"},
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_dose_input_is_a_400(rp_client, booking, batch, bad):
    data = {"booking": booking.pk, "batch": batch.pk, "draw_at": at("10:10"), **bad}
    response = rp_client.post(URL, data, format="json")
    assert response.status_code == 400, response.content
    assert set(bad) & set(response.json())


@pytest.mark.requirement("DOS-03", "API-02")
def test_refused_allocation_is_a_409_with_reasons(rp_client, booking):
    expiring = ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 6, 25, tzinfo=AMS))
    response = post_dose(rp_client, booking, expiring)
    assert response.status_code == 409
    assert response.json()["blocking"] == ["Batch expires at 10:25 CET, injection is at 10:30 CET."]


def measure(client, dose_id, **data):
    return client.post(f"{URL}{dose_id}/measurement/", data, format="json")


def administer(client, dose_id, **data):
    return client.post(f"{URL}{dose_id}/administration/", data, format="json")


@pytest.mark.requirement("DOS-04", "DOS-05")
def test_measurement_and_administration_flow(rp_client, booking, batch):
    dose_id = post_dose(rp_client, booking, batch).json()["id"]
    response = measure(rp_client, dose_id, activity_mbq=184.1, measured_at=at("10:10"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["activity_at_injection_mbq"] == pytest.approx(150, abs=0.1)
    assert abs(body["deviation_percent"]) < 0.1 and body["within_tolerance"] is True
    response = administer(
        rp_client,
        dose_id,
        injected_at=at("10:30"),
        residual_activity_mbq=0,
        residual_measured_at=at("10:32"),
    )
    assert response.status_code == 200, response.content
    assert response.json()["administered_activity_mbq"] == pytest.approx(150, abs=0.1)
    assert Dose.objects.get().status == "administered"
    # Administered twice: refused.
    again = administer(
        rp_client,
        dose_id,
        injected_at=at("10:30"),
        residual_activity_mbq=0,
        residual_measured_at=at("10:32"),
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"activity_mbq": -5}, "activity_mbq"),
        ({"activity_mbq": 0}, "activity_mbq"),
        ({"activity_mbq": "lots"}, "activity_mbq"),
        ({"measured_at": "2026-11-24T10:10:00"}, "measured_at"),
        ({"measured_at": at("09:00")}, "measured_at"),  # before EOS
    ],
)
@pytest.mark.requirement("DOS-07")
def test_bad_measurement_is_a_400_with_the_field(rp_client, booking, batch, bad, field):
    dose_id = post_dose(rp_client, booking, batch).json()["id"]
    data = {"activity_mbq": 184.0, "measured_at": at("10:10"), **bad}
    response = rp_client.post(f"{URL}{dose_id}/measurement/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"injected_at": at("10:05")}, "injected_at"),  # before the syringe was measured
        ({"residual_measured_at": at("10:20")}, "residual_measured_at"),  # before injection
        ({"residual_activity_mbq": -1}, "residual_activity_mbq"),
        ({"residual_activity_mbq": 500}, "residual_activity_mbq"),  # more than the syringe
        ({"injected_at": "2026-11-24T10:30"}, "injected_at"),
    ],
)
@pytest.mark.requirement("DOS-07")
def test_bad_administration_is_a_400_with_the_field(rp_client, booking, batch, bad, field):
    dose_id = post_dose(rp_client, booking, batch).json()["id"]
    measure(rp_client, dose_id, activity_mbq=184.0, measured_at=at("10:10"))
    data = {
        "injected_at": at("10:30"),
        "residual_activity_mbq": 2.0,
        "residual_measured_at": at("10:35"),
        **bad,
    }
    response = rp_client.post(f"{URL}{dose_id}/administration/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Dose.objects.get().status == "dispensed"


@pytest.mark.requirement("DOS-07", "P11-11.10(f)")
def test_administration_before_measurement_is_a_409(rp_client, booking, batch):
    dose_id = post_dose(rp_client, booking, batch).json()["id"]
    response = administer(
        rp_client,
        dose_id,
        injected_at=at("10:30"),
        residual_activity_mbq=0,
        residual_measured_at=at("10:32"),
    )
    assert response.status_code == 409


def test_unknown_dose_is_a_404(rp_client):
    response = measure(rp_client, 999999, activity_mbq=10, measured_at=at("10:10"))
    assert response.status_code == 404
    assert rp_client.get(f"{URL}999999/").status_code == 404


def test_cancel_endpoint_needs_reason_and_releases(rp_client, booking, batch):
    dose_id = post_dose(rp_client, booking, batch).json()["id"]
    assert rp_client.post(f"{URL}{dose_id}/cancel/", {}, format="json").status_code == 400
    response = rp_client.post(f"{URL}{dose_id}/cancel/", {"reason": "wrong batch"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert post_dose(rp_client, booking, batch).status_code == 201


def test_list_filters_and_constant_queries(
    api_as, radiopharmacist, auditor, django_assert_max_num_queries
):
    batch = ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 9, 40, tzinfo=AMS), volume_ml=40.0)

    def make(n):
        for i in range(n):
            b = BookingFactory(injection_at=datetime(2026, 11, 24, 11, i, tzinfo=AMS))
            services.dose_assign(
                actor=radiopharmacist,
                booking_id=b.pk,
                batch_id=batch.pk,
                draw_at=datetime(2026, 11, 24, 10, 50, tzinfo=AMS),
            )

    client = api_as(auditor)
    make(2)
    with django_assert_max_num_queries(6) as few:
        client.get(URL, {"date": "2026-11-24"})
    make(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(URL, {"date": "2026-11-24", "batch": batch.pk}).json()
    assert body["count"] == 14
    assert client.get(URL, {"date": "2026-11-25"}).json()["count"] == 0
    assert client.get(URL, {"status": "dispensed"}).json()["count"] == 0
    assert client.get(URL, {"status": "nonsense"}).status_code == 400


@pytest.mark.requirement("API-07")
def test_scheduler_cannot_assign_doses(api_as, scheduler, booking, batch):
    assert post_dose(api_as(scheduler), booking, batch).status_code == 403


def test_batch_activity_endpoint_uses_the_dose_allocation(rp_client, booking, batch):
    dose = post_dose(rp_client, booking, batch).json()
    url = f"/api/v1/batches/{batch.pk}/activity/"
    data = rp_client.get(url, {"at": at("10:10")}).json()
    assert data["allocated_mbq"] == pytest.approx(dose["activity_to_draw_mbq"])
    assert data["available_volume_ml"] == pytest.approx(10 - 1.252)
    rp_client.post(f"{URL}{dose['id']}/cancel/", {"reason": "wrong patient"}, format="json")
    data = rp_client.get(url, {"at": at("10:10")}).json()
    assert data["allocated_mbq"] == 0 and data["available_volume_ml"] == pytest.approx(10)
