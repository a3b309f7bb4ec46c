"""The day as it happens (SPEC §2.7): stock first, batches linked to their planned runs, a failed
run re-plans the rest of the day, differences from the accepted plan, what-if plans, settings."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from radiopharmacy.core.errors import StateConflict
from radiopharmacy.models import AuditEvent, OutboxJob
from scheduling.models import PlanSettings, ProductionPlan
from scheduling.services import plans as services_plans
from tests.factories import BookingFactory, ElutionFactory, GeneratorFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 11, 24)


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, h, m, tzinfo=AMS)


@pytest.fixture
def generator():
    return GeneratorFactory()


def batch_of(generator, *, eluted_at: datetime, status: str = "released", mbq: float = 2000.0):
    """A batch of `generator` eluted at `eluted_at`, EOS 25 min later, `mbq` at EOS."""
    elution = ElutionFactory(generator=generator, eluted_at=eluted_at)
    batch = ReleasedBatchFactory(
        eos_at=eluted_at + timedelta(minutes=25),
        concentration_at_eos_mbq_per_ml=mbq / 10,
        status=status,
    )
    batch.elutions.add(elution)
    return batch


@pytest.mark.requirement("PLN-05")
def test_a_released_batch_in_stock_serves_bookings_before_any_run(
    scheduler, generator, time_machine
):
    time_machine.move_to(at("09:30"), tick=False)
    batch = batch_of(generator, eluted_at=at("08:00"))
    first = BookingFactory(injection_at=at("10:00"), prescribed_activity_mbq=150.0)
    second = BookingFactory(injection_at=at("10:30"), prescribed_activity_mbq=150.0)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    (use,) = plan.result["stock"]
    assert use["batch"] == batch.pk
    assert {d["booking"] for d in use["doses"]} == {first.pk, second.pk}
    assert plan.result["runs"] == []
    assert plan.result["objective"]["served"] == 2
    assert plan.inputs["syntheses"]  # the batch held a module and the QC bench


@pytest.fixture
def accepted(scheduler, generator, time_machine):
    time_machine.move_to(at("05:30"), tick=False)
    BookingFactory(injection_at=at("09:00"), prescribed_activity_mbq=150.0)
    BookingFactory(injection_at=at("15:00"), prescribed_activity_mbq=150.0)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    return services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)


@pytest.mark.requirement("PLN-05")
def test_a_recorded_batch_is_linked_to_its_planned_run(accepted, generator, time_machine):
    first = accepted.runs.order_by("sequence").first()
    eluted = first.elution_at + timedelta(minutes=10)
    time_machine.move_to(eluted + timedelta(minutes=40), tick=False)
    batch = batch_of(generator, eluted_at=eluted)
    assert services_plans.planned_runs_sync(day=DAY, generator_id=generator.pk) >= 1
    first.refresh_from_db()
    assert first.batch_id == batch.pk and first.status == "done"
    others = accepted.runs.exclude(pk=first.pk)
    assert all(r.batch_id is None and r.status == "planned" for r in others)
    assert AuditEvent.objects.filter(
        object_type="scheduling.plannedrun", object_id=str(first.pk), action="status_changed"
    ).exists()


@pytest.mark.requirement("PLN-05")
def test_a_batch_eluted_more_than_an_hour_off_is_not_linked(accepted, generator, time_machine):
    first = accepted.runs.order_by("sequence").first()
    eluted = first.elution_at + timedelta(minutes=61)
    time_machine.move_to(eluted + timedelta(minutes=40), tick=False)
    batch = batch_of(generator, eluted_at=eluted)
    services_plans.planned_runs_sync(day=DAY, generator_id=generator.pk)
    first.refresh_from_db()
    assert first.batch_id is None
    # The user may still choose it.
    services_plans.planned_run_link(
        actor=accepted.accepted_by, planned_run_id=first.pk, batch_id=batch.pk
    )
    first.refresh_from_db()
    assert first.batch_id == batch.pk


@pytest.mark.requirement("PLN-06")
def test_a_failed_run_replans_the_rest_of_the_day_and_keeps_the_other_runs(
    accepted, generator, time_machine, celery_eager, django_capture_on_commit_callbacks
):
    first, *rest = list(accepted.runs.order_by("sequence"))
    eluted = first.elution_at + timedelta(minutes=5)
    time_machine.move_to(eluted + timedelta(minutes=40), tick=False)
    batch_of(generator, eluted_at=eluted, status="rejected")
    with django_capture_on_commit_callbacks(execute=True):
        services_plans.planned_runs_sync(day=DAY, generator_id=generator.pk)
    first.refresh_from_db()
    assert first.status == "failed"
    assert OutboxJob.objects.filter(task_name="scheduling.recompute_plan", status="done").exists()
    replan = ProductionPlan.objects.filter(date=DAY, status="draft").order_by("-id").first()
    assert replan is not None and replan.trigger
    assert len(replan.inputs["syntheses"]) == 1  # the failed synthesis counts
    later_bookings = {d["booking"] for r in rest for d in r.doses}
    served = {d["booking"] for r in replan.result["runs"] for d in r["doses"]}
    assert later_bookings <= served  # the other runs' patients are still served
    changes = services_plans.plan_changes(replan, accepted)
    assert changes is not None and not changes["unchanged"]


@pytest.mark.requirement("PLN-06")
def test_changes_from_accepted_are_in_the_api(api_as, scheduler, accepted, generator):
    BookingFactory(injection_at=at("11:30"), prescribed_activity_mbq=150.0)
    draft = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    body = api_as(scheduler).get(f"/api/v1/plans/{draft.pk}/").json()
    changes = body["changes_from_accepted"]
    assert changes["accepted_plan"] == accepted.pk
    assert changes["unchanged"] is False
    assert (
        api_as(scheduler).get(f"/api/v1/plans/{accepted.pk}/").json()["changes_from_accepted"]
        is None
    )


@pytest.mark.requirement("PLN-08")
def test_a_what_if_plan_is_stored_marked_and_cannot_be_accepted(
    api_as, scheduler, generator, time_machine
):
    time_machine.move_to(at("05:30"), tick=False)
    BookingFactory(injection_at=at("09:00"), prescribed_activity_mbq=150.0)
    client = api_as(scheduler)
    regular = client.post("/api/v1/plans/", {"date": "2026-11-24", "generator": generator.pk})
    response = client.post(
        "/api/v1/plans/",
        {
            "date": "2026-11-24",
            "generator": generator.pk,
            "parameters": {"synthesis_modules": 2, "earliest_elution": "07:00", "confidence": 0.5},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["what_if"] is True
    assert body["parameters"] == {
        "synthesis_modules": 2,
        "earliest_elution": "07:00",
        "confidence": 0.5,
    }
    assert body["inputs"]["parameters"]["earliest_elution_at"] == at("07:00").isoformat()
    assert body["inputs"]["parameters"]["synthesis_modules"] == 2
    assert client.post(f"/api/v1/plans/{body['id']}/accept/").status_code == 409
    # The regular draft is still the day's draft.
    assert ProductionPlan.objects.get(pk=regular.json()["id"]).status == "draft"
    with pytest.raises(StateConflict):
        services_plans.plan_accept(actor=scheduler, plan_id=body["id"])
    bad = client.post(
        "/api/v1/plans/",
        {"date": "2026-11-24", "generator": generator.pk, "parameters": {"confidence": 2}},
        format="json",
    )
    assert bad.status_code == 400


@pytest.mark.requirement("PLN-01")
def test_plan_settings_are_read_from_the_stored_row(scheduler, generator, time_machine):
    time_machine.move_to(at("05:30"), tick=False)
    PlanSettings.objects.create(pk=1, max_syntheses=2, synthesis_modules=2, confidence=0.95)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    params = plan.inputs["parameters"]
    assert (params["max_syntheses"], params["synthesis_modules"], params["confidence"]) == (
        2,
        2,
        0.95,
    )
    assert PlanSettings.current().earliest_elution.hour == 6


@pytest.mark.requirement("PLN-01")
def test_plan_settings_changes_in_the_admin_are_audited(client, admin_user):
    client.force_login(admin_user)
    url = "/admin/scheduling/plansettings/add/"
    data = {
        "synthesis_duration_min": 25,
        "qc_duration_min": 25,
        "draw_lead_time_min": 10,
        "grid_min": 5,
        "earliest_elution": "06:00",
        "working_end": "17:00",
        "synthesis_modules": 2,
        "module_turnaround_min": 10,
        "max_syntheses": 4,
        "confidence": 0.9,
        "time_budget_s": 1.0,
    }
    assert client.post(url, data).status_code == 302
    row = PlanSettings.objects.get()
    data["max_syntheses"] = 3
    change = f"/admin/scheduling/plansettings/{row.pk}/change/"
    assert client.post(change, data).status_code == 302
    events = AuditEvent.objects.filter(object_type="scheduling.plansettings").order_by("id")
    assert [e.action for e in events] == ["created", "changed"]
    assert events.last().changes["max_syntheses"] == {"old": 4, "new": 3}
