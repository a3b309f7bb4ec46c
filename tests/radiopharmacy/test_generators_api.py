"""Generators over the API: register, list with derived numbers, status, prediction (SPEC §2.2)."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from radiopharmacy.models import AuditEvent, Generator
from tests.factories import REFERENCE_TIME, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + hours(6)  # 13:00 UTC on 24 November 2026

# SPEC §2.1 constants, written out here rather than taken from radiopharmacy.physics.
LAM_GA = math.log(2) / 67.71  # per minute
LAM_GE = math.log(2) / (270.95 * 24 * 60)
RATIO = LAM_GA / (LAM_GA - LAM_GE)


def minutes(a, b):
    return (b - a).total_seconds() / 60.0


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def register_payload(**overrides):
    body = {
        "manufacturer": "Eckert & Ziegler",
        "model": "GalliaPharm",
        "serial_number": "GP-1001",
        "nominal_activity_mbq": 1850,
        "calibrated_at": "2026-09-01T12:00:00+02:00",
        "received_at": "2026-09-04T09:00:00+02:00",
    }
    body.update(overrides)
    return body


@pytest.mark.requirement("GEN-01", "AUD-01")
def test_register_generator_defaults_expiry_to_twelve_months_and_is_audited(
    api_as, radiopharmacist
):
    response = api_as(radiopharmacist).post("/api/v1/generators/", register_payload())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_at"].startswith("2027-09-01T12:00:00")
    assert body["status"] == "quarantine"  # until its receipt check accepts it (SPEC §2.2)
    assert body["nominal_efficiency_percent"] == 65.0
    assert body["elution_count"] == 0
    assert body["efficiency_percent"] == 65.0
    assert body["registered_by"] == radiopharmacist.pk
    event = AuditEvent.objects.get(object_type="radiopharmacy.generator", action="created")
    assert event.object_id == str(body["id"])
    assert event.changes["serial_number"] == {"old": None, "new": "GP-1001"}
    assert event.username == radiopharmacist.username


@pytest.mark.requirement("GEN-01", "API-02")
def test_duplicate_serial_number_is_a_400_on_the_field(api_as, radiopharmacist):
    client = api_as(radiopharmacist)
    assert client.post("/api/v1/generators/", register_payload()).status_code == 201
    response = client.post("/api/v1/generators/", register_payload())
    assert response.status_code == 400
    assert "GP-1001" in response.json()["serial_number"][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("calibrated_at", "2026-09-01T12:00:00"),
        ("received_at", "2026-09-04 09:00"),
        ("nominal_activity_mbq", -5),
        ("nominal_activity_mbq", 0),
        ("nominal_efficiency_percent", 140),
        ("expires_at", "2026-08-01T00:00:00+00:00"),
        ("max_elutions", 0),
        ("received_at", "2027-01-01T00:00:00+00:00"),
        ("status", "broken"),
        ("serial_number", ""),
        # Found by schemathesis: absurd values used to be stored and broke predictions.
        ("nominal_activity_mbq", 1.6247368003511004e308),
        ("nominal_activity_mbq", 1850e3),  # 1850 GBq typed as MBq: a unit mix-up
        ("calibrated_at", "1438-08-21T20:40:09+00:00"),
        ("received_at", "2024-09-04T09:00:00+00:00"),
    ],
)
@pytest.mark.requirement("GEN-01", "API-02")
def test_bad_generator_input_is_a_400_with_a_field_message(api_as, radiopharmacist, field, value):
    response = api_as(radiopharmacist).post(
        "/api/v1/generators/", register_payload(**{field: value})
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Generator.objects.exists()


@pytest.mark.requirement("API-03")
def test_list_shows_derived_numbers_and_filters_by_status(api_as, auditor):
    in_use = GeneratorFactory()
    GeneratorFactory(status="retired")
    ElutionFactory(generator=in_use, efficiency_percent=60.0)
    response = api_as(auditor).get("/api/v1/generators/", {"status": "in_use"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == in_use.pk
    assert row["elution_count"] == 1
    assert row["efficiency_percent"] == pytest.approx(60.0)
    assert isinstance(row["warnings"], list)
    assert row["expected_eluate_now_mbq"] > 0


def test_generator_list_query_count_does_not_grow_with_rows(
    api_as, auditor, django_assert_max_num_queries
):
    client = api_as(auditor)
    GeneratorFactory()
    with django_assert_max_num_queries(12) as few:
        assert client.get("/api/v1/generators/").status_code == 200
    for i in range(15):
        generator = GeneratorFactory(max_elutions=3)
        for k in range(4):
            elution = ElutionFactory(
                generator=generator, eluted_at=REFERENCE_TIME - hours(3 * k + 1 + i / 100)
            )
        elution.breakthrough_tests.create(
            ge68_activity_kbq=0.001,
            measured_at=NOW,
            breakthrough_percent=0.0001,
            limit_percent=0.001,
            passed=i % 2 == 0,
            performed_by=auditor,
        )
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get("/api/v1/generators/")
    assert response.status_code == 200
    assert response.json()["count"] == 16
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_detail_and_unknown_id(api_as, scheduler):
    generator = GeneratorFactory()
    client = api_as(scheduler)
    assert client.get(f"/api/v1/generators/{generator.pk}/").json()["id"] == generator.pk
    assert client.get("/api/v1/generators/999999/").status_code == 404


# --- Status ------------------------------------------------------------------------------------


@pytest.mark.requirement("AUD-01", "P11-11.10(e)")
def test_status_change_needs_a_reason_and_is_audited(api_as, radiopharmacist):
    generator = GeneratorFactory()
    client = api_as(radiopharmacist)
    url = f"/api/v1/generators/{generator.pk}/status/"
    missing = client.post(url, {"status": "quarantine"})
    assert missing.status_code == 400 and "reason" in missing.json()
    response = client.post(url, {"status": "quarantine", "reason": "column dropped"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "quarantine"
    event = AuditEvent.objects.get(action="status_changed", object_id=str(generator.pk))
    assert event.changes == {"status": {"old": "in_use", "new": "quarantine"}}
    assert event.reason == "column dropped"


@pytest.mark.requirement("P11-11.10(f)", "API-02")
def test_retired_generator_cannot_come_back_409(api_as, radiopharmacist):
    generator = GeneratorFactory(status="retired")
    response = api_as(radiopharmacist).post(
        f"/api/v1/generators/{generator.pk}/status/", {"status": "in_use", "reason": "oops"}
    )
    assert response.status_code == 409
    assert response.json()["blocking"]


def test_unknown_status_is_a_400(api_as, radiopharmacist):
    generator = GeneratorFactory()
    response = api_as(radiopharmacist).post(
        f"/api/v1/generators/{generator.pk}/status/", {"status": "lost", "reason": "x"}
    )
    assert response.status_code == 400 and "status" in response.json()


# --- Prediction ----------------------------------------------------------------------------------


def _ge(nominal, calibrated_at, t):
    return nominal * math.exp(-LAM_GE * minutes(calibrated_at, t))


@pytest.mark.requirement("GEN-02", "GEN-03", "GEN-04")
def test_prediction_without_elutions_is_equilibrium_times_nominal_efficiency(api_as, auditor):
    generator = GeneratorFactory()
    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    response = api_as(auditor).get(
        f"/api/v1/generators/{generator.pk}/prediction/", {"at": at.isoformat()}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    ge = _ge(1850.0, generator.calibrated_at, at)
    assert body["ge68_activity_mbq"] == pytest.approx(ge, rel=1e-12)
    assert body["ga68_on_column_mbq"] == pytest.approx(ge * RATIO, rel=1e-12)
    assert body["expected_eluate_mbq"] == pytest.approx(0.65 * ge * RATIO, rel=1e-12)
    assert body["efficiency_percent"] == 65.0
    assert body["last_elution_at"] is None


@pytest.mark.requirement("GEN-03", "GEN-04")
def test_prediction_after_a_sequence_of_elutions_matches_the_spec_model(api_as, radiopharmacist):
    client = api_as(radiopharmacist)
    generator = GeneratorFactory()
    cal = generator.calibrated_at
    t1 = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    t2 = datetime(2026, 11, 24, 9, 45, tzinfo=UTC)
    measured = [(t1, 700.0), (t2, 560.0)]
    for eluted_at, activity in measured:
        response = client.post(
            "/api/v1/elutions/",
            {
                "generator": generator.pk,
                "eluted_at": eluted_at.isoformat(),
                "activity_mbq": activity,
                "measured_at": (eluted_at + timedelta(minutes=5)).isoformat(),
                "volume_ml": 5.0,
                "eluent_lot": "HCl-1",
            },
        )
        assert response.status_code == 201, response.content

    # By hand: E = measured activity decay-corrected back 5 minutes.
    e1 = 700.0 * math.exp(LAM_GA * 5)
    e2 = 560.0 * math.exp(LAM_GA * 5)
    g1 = _ge(1850.0, cal, t1) * RATIO  # column in equilibrium before the first elution
    r1 = max(0.0, g1 - e1)
    d12 = minutes(t1, t2)
    g2 = r1 * math.exp(-LAM_GA * d12) + _ge(1850.0, cal, t1) * RATIO * (
        math.exp(-LAM_GE * d12) - math.exp(-LAM_GA * d12)
    )
    r2 = max(0.0, g2 - e2)
    at = datetime(2026, 11, 24, 12, 45, tzinfo=UTC)
    d = minutes(t2, at)
    g_at = r2 * math.exp(-LAM_GA * d) + _ge(1850.0, cal, t2) * RATIO * (
        math.exp(-LAM_GE * d) - math.exp(-LAM_GA * d)
    )
    eta = (100 * e1 / g1 + 100 * e2 / g2) / 2

    elutions = client.get("/api/v1/elutions/", {"generator": generator.pk}).json()["results"]
    first, second = sorted(elutions, key=lambda e: e["eluted_at"])
    assert first["activity_at_elution_mbq"] == pytest.approx(e1, rel=1e-9)
    assert first["predicted_on_column_mbq"] == pytest.approx(g1, rel=1e-9)
    assert first["efficiency_percent"] == pytest.approx(100 * e1 / g1, rel=1e-9)
    assert second["predicted_on_column_mbq"] == pytest.approx(g2, rel=1e-9)

    body = client.get(
        f"/api/v1/generators/{generator.pk}/prediction/", {"at": "2026-11-24T13:45:00+01:00"}
    ).json()
    assert body["ge68_activity_mbq"] == pytest.approx(_ge(1850.0, cal, at), rel=1e-9)
    assert body["ga68_on_column_mbq"] == pytest.approx(g_at, rel=1e-9)
    assert body["efficiency_percent"] == pytest.approx(eta, rel=1e-9)
    assert body["expected_eluate_mbq"] == pytest.approx(eta / 100 * g_at, rel=1e-9)
    assert body["last_elution_at"].startswith("2026-11-24T10:45:00+01:00")
    assert body["at"].startswith("2026-11-24T13:45:00+01:00")


def test_prediction_defaults_to_now(api_as, auditor):
    generator = GeneratorFactory()
    body = api_as(auditor).get(f"/api/v1/generators/{generator.pk}/prediction/").json()
    assert body["at"].startswith("2026-11-24T14:00:00+01:00")


def test_prediction_accepts_an_unencoded_plus_offset(api_as, auditor):
    generator = GeneratorFactory()
    response = api_as(auditor).get(
        f"/api/v1/generators/{generator.pk}/prediction/?at=2026-11-24T09:00:00+01:00"
    )
    assert response.status_code == 200
    assert response.json()["at"].startswith("2026-11-24T09:00:00+01:00")


@pytest.mark.parametrize("value", ["2026-11-24T09:00:00", "tomorrow"])
@pytest.mark.requirement("API-01")
def test_prediction_with_naive_or_bad_time_is_a_400(api_as, auditor, value):
    generator = GeneratorFactory()
    response = api_as(auditor).get(f"/api/v1/generators/{generator.pk}/prediction/", {"at": value})
    assert response.status_code == 400
    assert "at" in response.json()


def test_prediction_far_from_the_generators_life_is_a_400_not_a_500(api_as, auditor):
    generator = GeneratorFactory()
    response = api_as(auditor).get(
        f"/api/v1/generators/{generator.pk}/prediction/", {"at": "2001-12-16T06:49:59+01:00"}
    )
    assert response.status_code == 400
    assert "within 2 years" in response.json()["at"][0]


def test_prediction_of_unknown_generator_is_404(api_as, auditor):
    assert api_as(auditor).get("/api/v1/generators/999999/prediction/").status_code == 404
