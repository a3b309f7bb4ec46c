"""Batch API: create, list (filters, constant queries), detail, correction, activity."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from radiopharmacy.models import Batch
from tests.factories import REFERENCE_TIME, BatchFactory, DoseFactory, ElutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _after_the_batches():
    """The batches here are recorded on the factories' reference day (nothing is recorded
    before it happens): look at them two days later, whatever day the suite runs."""
    with time_machine.travel(REFERENCE_TIME + timedelta(days=2), tick=True):
        yield


def body(elution, **overrides):
    data = {
        "elutions": [elution.pk],
        "method": "automated",
        "module_name": "Modular-Lab eazy",
        "started_at": "2026-11-24T08:10:00+01:00",
        "eos_at": "2026-11-24T08:35:00+01:00",
        "activity_mbq": 700,
        "measured_at": "2026-11-24T08:35:00+01:00",
        "volume_ml": 10,
    }
    data.update(overrides)
    return data


@pytest.mark.requirement("BAT-01", "BAT-03", "API-06")
def test_create_returns_batch_with_derived_numbers(api_as, radiopharmacist):
    elution = ElutionFactory(eluted_at=REFERENCE_TIME)
    response = api_as(radiopharmacist).post("/api/v1/batches/", body(elution), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["batch_number"] == "GA68DOTATATE-20261124-01"
    assert data["status"] == "qc_pending"
    assert data["elutions"] == [elution.pk]
    assert data["activity_at_eos_mbq"] == pytest.approx(700)
    assert data["concentration_at_eos_mbq_per_ml"] == pytest.approx(70)
    assert datetime.fromisoformat(data["expires_at"]) == datetime(2026, 11, 24, 11, 35, tzinfo=UTC)
    assert data["yield_uncorrected_percent"] == pytest.approx(70)
    for key in ("yield_percent", "operator", "reagent_lots", "product"):
        assert key in data


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"eos_at": "2026-11-24T08:35:00"}, "eos_at"),
        ({"elutions": []}, "elutions"),
        ({"elutions": [999999]}, "elutions"),
        ({"activity_mbq": -3}, "activity_mbq"),
        ({"activity_mbq": "lots"}, "activity_mbq"),
        ({"method": "magic"}, "method"),
        ({"module_name": ""}, "module_name"),
        ({"method": "kit", "module_name": ""}, "kit_lot"),
        ({"eos_at": "2026-11-24T08:00:00+01:00"}, "eos_at"),
        ({"reagent_lots": [{"name": "x"}]}, "reagent_lots"),
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_batch_input_is_a_400_with_the_field(api_as, radiopharmacist, overrides, field):
    elution = ElutionFactory(eluted_at=REFERENCE_TIME)
    response = api_as(radiopharmacist).post(
        "/api/v1/batches/", body(elution, **overrides), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Batch.objects.exists()


@pytest.mark.requirement("API-03")
def test_list_filters_by_status_date_and_product(api_as, auditor):
    first = BatchFactory()
    BatchFactory(status="released", started_at=REFERENCE_TIME + timedelta(days=1))
    client = api_as(auditor)
    assert client.get("/api/v1/batches/").json()["count"] == 2
    only = client.get("/api/v1/batches/", {"status": "qc_pending"}).json()
    assert [b["id"] for b in only["results"]] == [first.pk]
    dated = client.get("/api/v1/batches/", {"date": "2026-11-25"}).json()
    assert dated["count"] == 1 and dated["results"][0]["status"] == "released"
    by_product = client.get("/api/v1/batches/", {"product": first.product_id}).json()
    assert by_product["count"] == 2


def test_list_query_count_is_constant(api_as, auditor, django_assert_max_num_queries):
    client = api_as(auditor)
    BatchFactory()
    with django_assert_max_num_queries(9) as few:
        client.get("/api/v1/batches/")
    for h in range(1, 8):
        BatchFactory(started_at=REFERENCE_TIME + timedelta(hours=h))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/batches/")
    assert response.json()["count"] == 8


def test_detail_and_404(api_as, auditor):
    batch = BatchFactory()
    client = api_as(auditor)
    assert client.get(f"/api/v1/batches/{batch.pk}/").json()["batch_number"] == batch.batch_number
    assert client.get("/api/v1/batches/999999/").status_code == 404


@pytest.mark.requirement("BAT-06")
def test_correction_endpoint(api_as, radiopharmacist):
    batch = BatchFactory()
    client = api_as(radiopharmacist)
    url = f"/api/v1/batches/{batch.pk}/correction/"
    assert client.post(url, {"volume_ml": 14}, format="json").status_code == 400  # no reason
    response = client.post(url, {"volume_ml": 14, "reason": "Volume re-read"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["concentration_at_eos_mbq_per_ml"] == pytest.approx(50)


@pytest.mark.requirement("BAT-07", "API-02")
def test_correction_of_released_batch_is_409(api_as, radiopharmacist):
    batch = BatchFactory(status="released")
    response = api_as(radiopharmacist).post(
        f"/api/v1/batches/{batch.pk}/correction/",
        {"volume_ml": 14, "reason": "late"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["blocking"]


@pytest.mark.requirement("BAT-03", "DOS-03")
def test_activity_at_a_time(api_as, scheduler):
    batch = BatchFactory()  # 700 MBq at EOS 07:35 UTC in 10 mL
    response = api_as(scheduler).get(
        f"/api/v1/batches/{batch.pk}/activity/", {"at": "2026-11-24T09:42:42.6+01:00"}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["activity_mbq"] == pytest.approx(350, rel=1e-6)  # one half-life later
    assert data["concentration_mbq_per_ml"] == pytest.approx(35, rel=1e-6)
    assert data["allocated_mbq"] == 0
    assert data["available_mbq"] == pytest.approx(350, rel=1e-6)
    assert data["available_volume_ml"] == pytest.approx(10)


@pytest.mark.requirement("BAT-03", "DOS-03")
def test_activity_subtracts_assigned_doses(api_as, radiopharmacist):
    batch = BatchFactory(status="released")
    dose = DoseFactory(
        batch=batch,
        draw_at=batch.eos_at + timedelta(minutes=40),
        activity_to_draw_mbq=184.1,
        concentration_at_draw_mbq_per_ml=50.0,
        volume_to_draw_ml=3.68,
        assigned_by=radiopharmacist,
    )
    data = (
        api_as(radiopharmacist)
        .get(f"/api/v1/batches/{batch.pk}/activity/", {"at": dose.draw_at.isoformat()})
        .json()
    )
    assert data["allocated_mbq"] == pytest.approx(184.1)
    assert data["available_volume_ml"] == pytest.approx(10 - 3.68)


@pytest.mark.requirement("API-01")
def test_activity_with_naive_time_is_400(api_as, scheduler):
    batch = BatchFactory()
    response = api_as(scheduler).get(
        f"/api/v1/batches/{batch.pk}/activity/", {"at": "2026-11-24T09:00:00"}
    )
    assert response.status_code == 400
    assert "at" in response.json()
