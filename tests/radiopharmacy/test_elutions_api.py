"""Elutions over the API: recording, validation, corrections, efficiency, breakthrough."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from radiopharmacy.models import AuditEvent, Elution, Generator
from tests.factories import REFERENCE_TIME, BatchFactory, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + hours(6)  # 13:00 UTC
LAM_GA = math.log(2) / 67.71
LAM_GE = math.log(2) / (270.95 * 24 * 60)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def generator():
    return GeneratorFactory()


@pytest.fixture
def rp_client(api_as, radiopharmacist):
    return api_as(radiopharmacist)


def payload(generator, eluted_at=None, **overrides):
    eluted_at = eluted_at or REFERENCE_TIME
    body = {
        "generator": generator.pk,
        "eluted_at": eluted_at.isoformat(),
        "activity_mbq": 650.0,
        "measured_at": (eluted_at + timedelta(minutes=4)).isoformat(),
        "volume_ml": 5.0,
        "eluent_lot": "HCl-0.1M-2611",
    }
    body.update(overrides)
    return body


@pytest.mark.requirement("GEN-04", "AUD-01")
def test_record_elution_stores_decay_corrected_activity_and_is_audited(rp_client, generator):
    response = rp_client.post("/api/v1/elutions/", payload(generator))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["activity_at_elution_mbq"] == pytest.approx(650.0 * math.exp(LAM_GA * 4))
    assert body["predicted_on_column_mbq"] > 0
    assert body["efficiency_percent"] == pytest.approx(
        100 * body["activity_at_elution_mbq"] / body["predicted_on_column_mbq"]
    )
    assert body["supersedes"] is None and body["superseded_by"] is None
    event = AuditEvent.objects.get(object_type="radiopharmacy.elution", action="created")
    assert event.object_id == str(body["id"])
    assert event.changes["activity_mbq"]["new"] == 650.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eluted_at", "2026-11-24T07:00:00"),
        ("measured_at", "2026-11-24T07:05:00"),
        ("activity_mbq", -1.0),
        ("activity_mbq", 1.0e9),  # implausible: a typing or unit error
        ("volume_ml", 5000.0),
        ("activity_mbq", 0),
        ("volume_ml", 0),
        ("volume_ml", "five"),
        ("generator", 999999),
        ("measured_at", "2026-11-24T06:55:00+00:00"),  # before the elution
        ("eluted_at", "2026-11-24T15:00:00+00:00"),  # in the future
        ("eluted_at", "2026-08-01T07:00:00+00:00"),  # before the generator was received
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_elution_input_is_a_400_with_a_field_message(rp_client, generator, field, value):
    body = payload(generator)
    body[field] = value
    if field == "eluted_at":
        body["measured_at"] = "2026-11-24T12:59:00+00:00"
    response = rp_client.post("/api/v1/elutions/", body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Elution.objects.exists()


@pytest.mark.requirement("API-02")
def test_missing_fields_are_named(rp_client):
    response = rp_client.post("/api/v1/elutions/", {})
    assert response.status_code == 400
    assert {"generator", "eluted_at", "activity_mbq", "measured_at", "volume_ml"} <= set(
        response.json()
    )


@pytest.mark.parametrize("state", ["quarantine", "retired"])
@pytest.mark.requirement("GEN-08", "P11-11.10(f)")
def test_elution_on_a_generator_not_in_use_is_a_409(rp_client, state):
    generator = GeneratorFactory(status=state)
    response = rp_client.post("/api/v1/elutions/", payload(generator))
    assert response.status_code == 409
    assert response.json()["blocking"]


def test_two_elutions_at_the_same_time_are_refused(rp_client, generator):
    assert rp_client.post("/api/v1/elutions/", payload(generator)).status_code == 201
    response = rp_client.post("/api/v1/elutions/", payload(generator))
    assert response.status_code == 400 and "eluted_at" in response.json()


@pytest.mark.requirement("GEN-04")
def test_efficiency_estimate_uses_the_last_five_elutions(api_as, generator):
    # Ten elutions with known efficiencies, out of time order: the last five by time count.
    for i, eff in enumerate([30, 31, 32, 33, 34, 60, 62, 64, 66, 68]):
        ElutionFactory(
            generator=generator,
            eluted_at=REFERENCE_TIME - hours(30 - 3 * i),
            efficiency_percent=float(eff),
        )
    body = api_as(generator.registered_by).get(f"/api/v1/generators/{generator.pk}/").json()
    assert body["efficiency_percent"] == pytest.approx((60 + 62 + 64 + 66 + 68) / 5)
    assert body["elution_count"] == 10


@pytest.mark.requirement("API-03")
def test_list_filters_by_generator_and_date_range(api_as, auditor, generator):
    other = GeneratorFactory()
    ElutionFactory(generator=generator, eluted_at=datetime(2026, 11, 22, 7, tzinfo=UTC))
    inside = ElutionFactory(generator=generator, eluted_at=datetime(2026, 11, 23, 7, tzinfo=UTC))
    ElutionFactory(generator=other, eluted_at=datetime(2026, 11, 23, 8, tzinfo=UTC))
    response = api_as(auditor).get(
        "/api/v1/elutions/",
        {
            "generator": generator.pk,
            "since": "2026-11-23T00:00:00+01:00",
            "until": "2026-11-24T00:00:00+01:00",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [inside.pk]


@pytest.mark.requirement("API-01")
def test_list_with_naive_date_filter_is_a_400(api_as, auditor):
    response = api_as(auditor).get("/api/v1/elutions/", {"since": "2026-11-23T00:00:00"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_elution_list_query_count_does_not_grow(api_as, auditor, django_assert_max_num_queries):
    client = api_as(auditor)
    ElutionFactory()
    with django_assert_max_num_queries(10) as few:
        assert client.get("/api/v1/elutions/").status_code == 200
    generator = GeneratorFactory()
    for i in range(30):
        elution = ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME - hours(i + 1))
        elution.breakthrough_tests.create(
            ge68_activity_kbq=0.001,
            measured_at=NOW,
            breakthrough_percent=0.0001,
            limit_percent=0.001,
            passed=True,
            performed_by=auditor,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/elutions/", {"include_superseded": "true"})
    assert response.json()["count"] == 31


# --- Corrections ---------------------------------------------------------------------------------


@pytest.mark.requirement("BAT-06", "P11-11.10(e)", "A11-9")
def test_correction_supersedes_with_reason_and_keeps_both(rp_client, generator):
    first = rp_client.post("/api/v1/elutions/", payload(generator)).json()
    response = rp_client.post(
        f"/api/v1/elutions/{first['id']}/correction/",
        {"activity_mbq": 600.0, "reason": "calibrator on wrong nuclide setting"},
    )
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["supersedes"] == first["id"]
    assert new["correction_reason"] == "calibrator on wrong nuclide setting"
    assert new["activity_mbq"] == 600.0
    assert new["eluted_at"] == first["eluted_at"]
    # Same history before it: same predicted column.
    assert new["predicted_on_column_mbq"] == pytest.approx(first["predicted_on_column_mbq"])
    old = rp_client.get(f"/api/v1/elutions/{first['id']}/").json()
    assert old["superseded_by"] == new["id"]
    listed = rp_client.get("/api/v1/elutions/").json()["results"]
    assert [r["id"] for r in listed] == [new["id"]]
    corrected = AuditEvent.objects.get(action="corrected")
    assert corrected.reason == "calibrator on wrong nuclide setting"
    assert corrected.changes["activity_mbq"] == {"old": 650.0, "new": 600.0}
    assert AuditEvent.objects.get(action="superseded").object_id == str(first["id"])
    assert Elution.objects.count() == 2


@pytest.mark.requirement("GEN-03")
def test_superseded_elutions_do_not_count_in_the_column_model(rp_client, generator):
    t1, t2 = REFERENCE_TIME, REFERENCE_TIME + hours(3)
    first = rp_client.post("/api/v1/elutions/", payload(generator, t1)).json()
    rp_client.post(
        f"/api/v1/elutions/{first['id']}/correction/", {"activity_mbq": 300.0, "reason": "typo"}
    )
    second = rp_client.post("/api/v1/elutions/", payload(generator, t2)).json()
    # Only the corrected first elution (300 MBq) left a residual: more left behind than 650 would.
    g1 = first["predicted_on_column_mbq"]
    r1 = g1 - 300.0 * math.exp(LAM_GA * 4)
    d = 180.0
    ge1 = 1850.0 * math.exp(-LAM_GE * (t1 - generator.calibrated_at).total_seconds() / 60)
    ratio = LAM_GA / (LAM_GA - LAM_GE)
    g2 = r1 * math.exp(-LAM_GA * d) + ge1 * ratio * (math.exp(-LAM_GE * d) - math.exp(-LAM_GA * d))
    assert second["predicted_on_column_mbq"] == pytest.approx(g2, rel=1e-9)
    body = rp_client.get(f"/api/v1/generators/{generator.pk}/").json()
    assert body["elution_count"] == 2


@pytest.mark.requirement("BAT-06", "P11-11.10(e)", "A11-9")
def test_correction_needs_a_reason_and_valid_values(rp_client, generator):
    first = rp_client.post("/api/v1/elutions/", payload(generator)).json()
    url = f"/api/v1/elutions/{first['id']}/correction/"
    assert "reason" in rp_client.post(url, {"activity_mbq": 600.0}).json()
    bad = rp_client.post(url, {"measured_at": "2026-11-24T06:00:00+00:00", "reason": "x"})
    assert bad.status_code == 400 and "measured_at" in bad.json()
    assert rp_client.post(url, {"activity_mbq": -3, "reason": "x"}).status_code == 400
    assert Elution.objects.count() == 1


def test_a_superseded_elution_cannot_be_corrected_again(rp_client, generator):
    first = rp_client.post("/api/v1/elutions/", payload(generator)).json()
    url = f"/api/v1/elutions/{first['id']}/correction/"
    assert rp_client.post(url, {"volume_ml": 4.8, "reason": "x"}).status_code == 201
    assert rp_client.post(url, {"volume_ml": 4.7, "reason": "y"}).status_code == 409


def test_correction_of_unknown_elution_is_404(rp_client):
    response = rp_client.post("/api/v1/elutions/999999/correction/", {"reason": "x"})
    assert response.status_code == 404


# --- Breakthrough --------------------------------------------------------------------------------


@pytest.fixture
def old_elution(generator, radiopharmacist):
    # Recorded through the API 3 days ago, so its numbers are real.
    eluted = REFERENCE_TIME - timedelta(days=3)
    return ElutionFactory(
        generator=generator,
        eluted_at=eluted,
        activity_mbq=700.0,
        activity_at_elution_mbq=700.0,
        performed_by=radiopharmacist,
    )


@pytest.mark.requirement("GEN-05")
def test_breakthrough_earlier_than_48_hours_is_a_400(rp_client, old_elution):
    measured = old_elution.eluted_at + timedelta(hours=47, minutes=59)
    response = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/breakthrough/",
        {"ge68_activity_kbq": 0.002, "measured_at": measured.isoformat()},
    )
    assert response.status_code == 400
    assert "48 h" in response.json()["measured_at"][0]


@pytest.mark.requirement("GEN-05")
def test_breakthrough_within_limit_passes(rp_client, old_elution):
    measured = old_elution.eluted_at + timedelta(hours=50)
    response = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/breakthrough/",
        {"ge68_activity_kbq": 3.0, "measured_at": measured.isoformat()},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # By hand: 3 kBq = 0.003 MBq, decay-corrected back 50 h with Ge-68, over 700 MBq.
    expected = 100 * 0.003 * math.exp(LAM_GE * 50 * 60) / 700.0
    assert body["breakthrough_percent"] == pytest.approx(expected, rel=1e-9)
    assert body["passed"] is True
    assert body["limit_percent"] == 0.001
    assert AuditEvent.objects.filter(
        object_type="radiopharmacy.breakthroughtest", action="created"
    ).exists()
    assert Generator.objects.get(pk=old_elution.generator_id).status == "in_use"


@pytest.mark.requirement("GEN-06")
def test_breakthrough_failure_quarantines_generator_and_flags_each_batch(
    rp_client, old_elution, radiopharmacist
):
    from qc.models import Deviation

    started = old_elution.eluted_at + timedelta(minutes=10)
    # The eluate split between two batches, each stating the volume it used.
    split = [{"elution": old_elution.pk, "volume_ml": 2.5}]
    batches = [
        BatchFactory(
            elutions=[old_elution], elution_volumes=split, started_at=started, activity_mbq=200
        )
        for _ in range(2)
    ]
    unrelated = BatchFactory(
        elutions=[ElutionFactory(generator=old_elution.generator)], activity_mbq=200
    )
    measured = old_elution.eluted_at + timedelta(hours=49)
    response = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/breakthrough/",
        {"ge68_activity_kbq": 10.0, "measured_at": measured.isoformat()},
    )
    assert response.status_code == 201, response.content
    assert response.json()["passed"] is False
    generator = Generator.objects.get(pk=old_elution.generator_id)
    assert generator.status == "quarantine"
    status_event = AuditEvent.objects.get(action="status_changed", object_id=str(generator.pk))
    assert status_event.changes == {"status": {"old": "in_use", "new": "quarantine"}}
    assert "breakthrough" in status_event.reason
    deviations = Deviation.objects.filter(kind="oos", description__contains="breakthrough")
    assert sorted(d.batch_id for d in deviations) == sorted(b.pk for b in batches)
    assert all(d.status == "open" for d in deviations)  # each blocks its batch's release
    assert not Deviation.objects.filter(batch=unrelated).exists()
    assert AuditEvent.objects.filter(action="deviation_opened").count() == 2
    # The generator can no longer be eluted.
    refused = rp_client.post("/api/v1/elutions/", payload(generator, NOW - hours(1)))
    assert refused.status_code == 409


@pytest.mark.requirement("GEN-06")
def test_breakthrough_failure_flags_batches_of_the_corrected_version_too(rp_client, old_elution):
    from qc.models import Deviation

    batch = BatchFactory(
        elutions=[old_elution],
        started_at=old_elution.eluted_at + timedelta(minutes=10),
        activity_mbq=400,
    )
    corrected = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/correction/", {"volume_ml": 4.9, "reason": "typo"}
    ).json()
    measured = old_elution.eluted_at + timedelta(hours=49)
    stale = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/breakthrough/",
        {"ge68_activity_kbq": 10.0, "measured_at": measured.isoformat()},
    )
    assert stale.status_code == 409
    response = rp_client.post(
        f"/api/v1/elutions/{corrected['id']}/breakthrough/",
        {"ge68_activity_kbq": 10.0, "measured_at": measured.isoformat()},
    )
    assert response.json()["passed"] is False, response.json()
    assert Deviation.objects.filter(batch=batch, kind="oos").count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ge68_activity_kbq", -1),
        ("ge68_activity_kbq", "lots"),
        ("measured_at", "2026-11-23T12:00:00"),
        ("measured_at", "2026-11-25T12:00:00+00:00"),  # in the future
    ],
)
def test_bad_breakthrough_input_is_a_400(rp_client, old_elution, field, value):
    body = {"ge68_activity_kbq": 0.5, "measured_at": "2026-11-23T12:00:00+00:00"}
    body[field] = value
    response = rp_client.post(f"/api/v1/elutions/{old_elution.pk}/breakthrough/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_breakthrough_on_unknown_elution_is_404(rp_client):
    response = rp_client.post(
        "/api/v1/elutions/999999/breakthrough/",
        {"ge68_activity_kbq": 0.5, "measured_at": "2026-11-23T12:00:00+00:00"},
    )
    assert response.status_code == 404


@pytest.mark.requirement("GEN-06", "QC-09")
def test_breakthrough_failure_holds_a_released_batch_of_the_elution(rp_client, old_elution):
    from qc.models import Deviation

    batch = BatchFactory(
        elutions=[old_elution],
        started_at=old_elution.eluted_at + timedelta(minutes=10),
        activity_mbq=400,
        status="released",
    )
    measured = old_elution.eluted_at + timedelta(hours=49)
    response = rp_client.post(
        f"/api/v1/elutions/{old_elution.pk}/breakthrough/",
        {"ge68_activity_kbq": 10.0, "measured_at": measured.isoformat()},
    )
    assert response.json()["passed"] is False, response.json()
    batch.refresh_from_db()
    assert batch.status == "on_hold"
    assert "on hold" in Deviation.objects.get(batch=batch, kind="oos").description
