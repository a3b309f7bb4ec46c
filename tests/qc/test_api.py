"""QC API: results with passed and limit, release check, specifications, deviations."""

from datetime import datetime, timedelta

import pytest

from tests.factories import BatchFactory, as_of, record_qc_results

pytestmark = pytest.mark.django_db


def post_result(client, batch, **data):
    """POST a result when it is performed (10 min after EOS unless given)."""
    performed_at = data.setdefault("performed_at", batch.eos_at + timedelta(minutes=10))
    if isinstance(performed_at, datetime):
        data["performed_at"] = performed_at.isoformat()
    else:  # a test of a bad value: at the batch's QC time
        performed_at = batch.eos_at + timedelta(minutes=10)
    with as_of(performed_at + timedelta(minutes=1)):
        return client.post(f"/api/v1/batches/{batch.pk}/qc-results/", data, format="json")


@pytest.mark.requirement("QC-03")
def test_post_result_returns_passed_and_limit(api_as, radiopharmacist):
    batch = BatchFactory()
    response = post_result(api_as(radiopharmacist), batch, test="rcp_itlc", value=94.0)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["passed"] is False
    assert data["limit"] == "≥ 95 %"
    assert data["test"] == "rcp_itlc" and data["value"] == 94.0 and data["current"] is True


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"test": "rcp_itlc", "value": "pass"}, "value"),
        ({"test": "sterility", "value": 3}, "value"),
        ({"test": "rcp_itlc", "value": True}, "value"),
        ({"test": "nope", "value": 1}, "test"),
        ({"test": "rcp_itlc", "value": 97, "performed_at": "2026-11-24T08:00:00"}, "performed_at"),
        ({"test": "rcp_itlc"}, "value"),
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_result_is_a_400(api_as, radiopharmacist, data, field):
    batch = BatchFactory()
    response = post_result(api_as(radiopharmacist), batch, **data)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.requirement("QC-04")
def test_result_list_shows_corrections(api_as, radiopharmacist, auditor):
    batch = BatchFactory()
    client = api_as(radiopharmacist)
    first = post_result(client, batch, test="ph", value=9.0).json()
    second = post_result(
        client, batch, test="ph", value=6.0, supersedes=first["id"], reason="meter recalibrated"
    )
    assert second.status_code == 201
    listing = api_as(auditor).get(f"/api/v1/batches/{batch.pk}/qc-results/").json()["results"]
    assert [r["current"] for r in listing] == [False, True]
    assert listing[1]["reason"] == "meter recalibrated"


@pytest.mark.requirement("BAT-07")
def test_release_test_on_released_batch_is_409(api_as, radiopharmacist):
    batch = BatchFactory(status="released")
    response = post_result(api_as(radiopharmacist), batch, test="rcp_itlc", value=99)
    assert response.status_code == 409


@pytest.mark.requirement("QC-09")
def test_post_release_failure_response_lists_the_held_doses(api_as, radiopharmacist):
    batch = BatchFactory(status="released")
    response = post_result(api_as(radiopharmacist), batch, test="sterility", value="fail")
    assert response.status_code == 201
    assert response.json()["hold_doses"] == []
    assert api_as(radiopharmacist).get(f"/api/v1/batches/{batch.pk}/").json()["status"] == (
        "on_hold"
    )


def test_release_check(api_as, radiopharmacist, qualified_person, monkeypatch):
    batch = BatchFactory()
    client = api_as(qualified_person)
    url = f"/api/v1/batches/{batch.pk}/release-check/"
    data = client.get(url).json()
    assert data["releasable"] is False and "RCP (ITLC) result missing" in data["blocking"]
    record_qc_results(batch, "passing", actor=radiopharmacist)
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: batch.eos_at + timedelta(minutes=30))
    assert client.get(url).json() | {"warnings": []} == {
        "releasable": True,
        "blocking": [],
        "warnings": [],
    }


@pytest.mark.requirement("QC-01")
def test_specifications_list_with_tests(api_as, scheduler):
    data = api_as(scheduler).get("/api/v1/specifications/").json()
    spec = data["results"][0]
    assert spec["version"] == 1
    rcp = next(t for t in spec["tests"] if t["code"] == "rcp_itlc")
    assert {
        k: rcp[k] for k in ("code", "name", "kind", "min_value", "max_value", "unit", "stage")
    } == {
        "code": "rcp_itlc",
        "name": "RCP (ITLC)",
        "kind": "min",
        "min_value": 95.0,
        "max_value": None,
        "unit": "%",
        "stage": "release",
    }
    product = spec["product"]
    assert (
        api_as(scheduler).get("/api/v1/specifications/", {"product": product}).json()["count"] == 1
    )


@pytest.mark.requirement("QE-01", "API-03")
def test_deviations_list_filters(api_as, radiopharmacist, auditor):
    batch = BatchFactory()
    other = BatchFactory()
    post_result(api_as(radiopharmacist), batch, test="rcp_itlc", value=90)
    client = api_as(auditor)
    assert client.get("/api/v1/deviations/", {"batch": batch.pk}).json()["count"] == 1
    assert client.get("/api/v1/deviations/", {"batch": other.pk}).json()["count"] == 0
    assert client.get("/api/v1/deviations/", {"status": "closed"}).json()["count"] == 0
