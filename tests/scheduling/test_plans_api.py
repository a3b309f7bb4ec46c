"""The plan endpoints: SPEC §3 shape, 400/404/409, filters, permissions, constant queries."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduling import plan_inputs
from scheduling.models import ProductionPlan
from scheduling.services import plans as services_plans
from tests.factories import BookingFactory, GeneratorFactory
from tests.scheduling.plan_checker import check_plan

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
URL = "/api/v1/plans/"
DAY = date(2026, 11, 24)

# SPEC §3 "Field conventions": the keys a client relies on.
PLAN_KEYS = {"date", "generator", "runs", "unserved"}
RUN_KEYS = {"elution_at", "eos_at", "release_at", "expected_activity_at_eos_mbq", "doses"}
DOSE_KEYS = {"booking", "draw_at", "activity_to_draw_mbq", "activity_needed_at_eos_mbq"}
UNSERVED_KEYS = {"booking", "reason", "suggested_injection_at"}


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, h, m, tzinfo=AMS)


@pytest.fixture(autouse=True)
def early(time_machine):
    time_machine.move_to(at("06:50"), tick=False)


@pytest.fixture
def generator():
    return GeneratorFactory()


@pytest.fixture
def sched_client(api_as, scheduler):
    return api_as(scheduler)


def day_with_bookings():
    # Eight patients; one at 07:30 cannot be served (no run is released before its 07:20 draw:
    # the first elution is at 06:50, now).
    for hhmm in ("07:30", "09:00", "09:45", "10:30", "12:00", "13:30", "14:45", "15:30"):
        BookingFactory(injection_at=at(hhmm), prescribed_activity_mbq=150.0)


@pytest.mark.requirement("PLN-01")
def test_post_plan_returns_the_spec_shape(sched_client, generator):
    day_with_bookings()
    response = sched_client.post(
        URL, {"date": "2026-11-24", "generator": generator.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert PLAN_KEYS | {"id", "status", "explanation"} <= body.keys()
    assert body["date"] == "2026-11-24" and body["generator"] == generator.pk
    assert body["status"] == "draft" and body["stale"] is False
    assert body["explanation"] and all(isinstance(line, str) for line in body["explanation"])
    assert body["runs"], body
    for run in body["runs"]:
        assert RUN_KEYS <= run.keys()
        assert run["explanation"]
        for dose in run["doses"]:
            assert DOSE_KEYS <= dose.keys()
    assert body["unserved"]
    for item in body["unserved"]:
        assert UNSERVED_KEYS <= item.keys() and item["reason"]
    assert datetime.fromisoformat(body["runs"][0]["elution_at"]).utcoffset() is not None
    assert body["inputs"]["parameters"]["expected_yield_percent"] == 80.0
    plan = ProductionPlan.objects.get(pk=body["id"])
    kwargs = plan_inputs.planner_inputs(plan.inputs)
    assert (
        check_plan(
            body,
            state=kwargs["generator_state"],
            bookings=kwargs["bookings"],
            params=kwargs["params"],
        )
        == []
    )
    assert body["optimal"] is True and body["what_if"] is False
    assert body["changes_from_accepted"] is None


@pytest.mark.parametrize(
    "payload",
    [
        {"date": "2026-11-24", "generator": 999999},
        {"date": "2026-13-40", "generator": 1},
        {"date": "24/11/2026", "generator": 1},
        {"date": "2026-11-24"},
        {"generator": 1},
        {"date": "2026-11-24", "generator": "abc"},
        {"date": "2026-11-24", "generator": 0},
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_input_is_a_400(sched_client, generator, payload):
    response = sched_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert not ProductionPlan.objects.exists()


def test_unknown_generator_names_the_field(sched_client):
    body = sched_client.post(URL, {"date": "2026-11-24", "generator": 4242}, format="json").json()
    assert body["generator"] == ["No generator 4242."]


def test_a_retired_generator_is_a_409(sched_client):
    generator = GeneratorFactory(status="retired")
    response = sched_client.post(
        URL, {"date": "2026-11-24", "generator": generator.pk}, format="json"
    )
    assert response.status_code == 409 and response.json()["blocking"]


@pytest.mark.requirement("PLN-09")
def test_accept_returns_the_plan_with_planned_runs_then_409(sched_client, generator):
    day_with_bookings()
    plan_id = sched_client.post(
        URL, {"date": "2026-11-24", "generator": generator.pk}, format="json"
    ).json()["id"]
    response = sched_client.post(f"{URL}{plan_id}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["accepted_at"]
    assert [r["sequence"] for r in body["planned_runs"]] == list(range(1, len(body["runs"]) + 1))
    assert {r["status"] for r in body["planned_runs"]} == {"planned"}
    again = sched_client.post(f"{URL}{plan_id}/accept/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["blocking"] == ["plan status is Accepted"]


def test_accepting_an_unknown_plan_is_a_404(sched_client):
    assert sched_client.post(f"{URL}999999/accept/", {}, format="json").status_code == 404
    assert sched_client.get(f"{URL}999999/").status_code == 404


@pytest.mark.requirement("API-03")
def test_list_filters_by_date_generator_and_status(sched_client, scheduler, generator):
    other = GeneratorFactory()
    a = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    b = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=other.pk)
    c = services_plans.plan_compute(
        actor=scheduler, date=date(2026, 11, 25), generator_id=generator.pk
    )
    services_plans.plan_accept(actor=scheduler, plan_id=b.pk)

    def ids(**query):
        response = sched_client.get(URL, query)
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(date="2026-11-24") == {a.pk, b.pk}
    assert ids(generator=generator.pk) == {a.pk, c.pk}
    assert ids(status="accepted") == {b.pk}
    assert sched_client.get(URL, {"date": "not-a-date"}).status_code == 400
    assert sched_client.get(URL, {"status": "bogus"}).status_code == 400


def test_list_uses_a_constant_number_of_queries(
    api_as, auditor, scheduler, django_assert_max_num_queries
):
    client = api_as(auditor)

    def make(n):
        for _ in range(n):
            generator = GeneratorFactory()
            BookingFactory(injection_at=at("10:00"))
            plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
            services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)

    make(1)
    with django_assert_max_num_queries(8) as one:
        assert client.get(URL).status_code == 200
    make(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(URL)
    assert response.json()["count"] == 5


@pytest.mark.parametrize(
    ("role", "code"),
    [("scheduler", 201), ("radiopharmacist", 403), ("qualified_person", 403), ("auditor", 403)],
)
@pytest.mark.requirement("API-07")
def test_only_schedulers_compute_plans_everyone_reads(api_as, make_user, generator, role, code):
    client = api_as(make_user(role))
    response = client.post(URL, {"date": "2026-11-24", "generator": generator.pk}, format="json")
    assert response.status_code == code
    plan = services_plans.plan_compute(
        actor=make_user("scheduler"), date=DAY, generator_id=generator.pk
    )
    assert client.get(f"{URL}{plan.pk}/").status_code == 200
    assert client.get(URL).status_code == 200
    accept = client.post(f"{URL}{plan.pk}/accept/", {}, format="json")
    assert accept.status_code == (200 if role == "scheduler" else 403)
