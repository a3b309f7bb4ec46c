"""Production plans: inputs from the database, saved plans checked independently, accept,
supersede, recompute after a booking change (eager outbox), audit entries."""

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from radiopharmacy import physics
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent, OutboxJob, SiteSettings
from scheduling import plan_inputs
from scheduling.models import PlannedRun, ProductionPlan
from scheduling.services import bookings as services
from scheduling.services import plans as services_plans
from scheduling.tasks import recompute_plan_task
from tests.factories import BookingFactory, ElutionFactory, GeneratorFactory, ReleasedBatchFactory
from tests.scheduling.plan_checker import check_plan

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 11, 24)


def at(hhmm: str, day: date = DAY) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=AMS)


@pytest.fixture
def early(time_machine):
    """It is 05:30 on the planned day: the plan starts at the earliest elution (06:00)."""
    time_machine.move_to(at("05:30"), tick=False)


@pytest.fixture
def generator():
    return GeneratorFactory()


def book(*times: str, mbq: float = 150.0, day: date = DAY, **kw):
    return [
        BookingFactory(injection_at=at(t, day), prescribed_activity_mbq=mbq, **kw) for t in times
    ]


def checked(plan: ProductionPlan) -> list[str]:
    """The independent checker's complaints about a saved plan, from what it stored."""
    kwargs = plan_inputs.planner_inputs(plan.inputs)
    return check_plan(
        plan.result,
        state=kwargs["generator_state"],
        bookings=kwargs["bookings"],
        params=kwargs["params"],
        stock=kwargs["stock"],
        syntheses=kwargs["syntheses"],
    )


# --- inputs -----------------------------------------------------------------------------------


@pytest.mark.requirement("PLN-01")
def test_inputs_without_history_use_nominal_efficiency_default_yield_and_equilibrium(
    scheduler, generator, early
):
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    state, params = plan.inputs["generator_state"], plan.inputs["parameters"]
    assert state["efficiency_percent"] == 65.0
    assert params["expected_yield_percent"] == 80.0
    ge = physics.ge68_activity_mbq(
        nominal_activity_mbq=1850.0, calibrated_at=generator.calibrated_at, at=at("06:00")
    )
    assert math.isclose(state["ge68_activity_mbq"], ge, rel_tol=1e-12)
    assert math.isclose(state["ga68_on_column_mbq"], physics.equilibrium_ga68_mbq(ge))
    assert plan.inputs["sources"]["last_elution_at"] is None
    assert params["earliest_elution_at"] == at("06:00").isoformat()
    assert params["working_end_at"] == at("17:00").isoformat()
    assert (params["synthesis_duration_min"], params["qc_duration_min"]) == (25.0, 25.0)
    assert (params["shelf_life_min"], params["draw_lead_time_min"]) == (240.0, 10.0)


def test_default_yield_comes_from_site_settings(scheduler, generator, early):
    SiteSettings.objects.update_or_create(pk=1, defaults={"default_yield_percent": 70.0})
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert plan.inputs["parameters"]["expected_yield_percent"] == 70.0


@pytest.mark.requirement("PLN-01")
def test_expected_yield_is_the_mean_of_the_last_ten_released_batches(scheduler, generator, early):
    # Twelve released batches: the two oldest (yield 10 %) fall outside the window of ten.
    for n in range(12):
        ReleasedBatchFactory(
            eos_at=at("09:00", DAY - timedelta(days=13 - n)),
            yield_percent=10.0 if n < 2 else 60 + n,
        )
    ReleasedBatchFactory(
        eos_at=at("09:30", DAY - timedelta(days=1)), yield_percent=5.0, status="rejected"
    )
    ReleasedBatchFactory(
        eos_at=at("10:00", DAY - timedelta(days=1)), yield_percent=5.0, status="qc_pending"
    )
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    expected = sum(60 + n for n in range(2, 12)) / 10
    assert math.isclose(plan.inputs["parameters"]["expected_yield_percent"], expected)
    assert len(plan.inputs["sources"]["yield_batches"]) == 10


@pytest.mark.requirement("PLN-01")
def test_efficiency_and_column_follow_the_elutions_recorded_before_the_first_slot(
    scheduler, generator, time_machine
):
    # Two elutions yesterday and one today at 07:10; it is now 08:02, so the plan starts 08:05.
    ElutionFactory(
        generator=generator,
        eluted_at=at("08:00", DAY - timedelta(days=1)),
        activity_mbq=900.0,
        predicted_on_column_mbq=1500.0,
    )
    ElutionFactory(
        generator=generator,
        eluted_at=at("13:00", DAY - timedelta(days=1)),
        activity_mbq=1050.0,
        predicted_on_column_mbq=1500.0,
    )
    today = ElutionFactory(
        generator=generator,
        eluted_at=at("07:10"),
        activity_mbq=1000.0,
        predicted_on_column_mbq=1600.0,
    )
    time_machine.move_to(at("08:02"), tick=False)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    state = plan.inputs["generator_state"]
    assert state["at"] == at("08:05").isoformat()
    assert math.isclose(state["efficiency_percent"], (60.0 + 70.0 + 62.5) / 3)
    expected = physics.column_state(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=[
            physics.ElutionRecord(eluted_at=e.eluted_at, activity_at_elution_mbq=e.activity_mbq)
            for e in generator.elutions.all()
        ],
        at=at("08:05"),
    )
    assert math.isclose(state["ga68_on_column_mbq"], expected.ga68_on_column_mbq, rel_tol=1e-12)
    assert plan.inputs["sources"]["last_elution_at"] == today.eluted_at.astimezone(AMS).isoformat()
    assert plan.inputs["sources"]["efficiency_elutions"] == 3
    assert checked(plan) == []


def test_today_starts_at_now_rounded_up_to_the_grid(scheduler, generator, time_machine):
    time_machine.move_to(at("09:02") + timedelta(seconds=30), tick=False)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert plan.inputs["parameters"]["earliest_elution_at"] == at("09:05").isoformat()
    exact = plan_inputs.round_up_to_grid(at("09:05"))
    assert exact == at("09:05")


def test_another_day_starts_at_the_working_day_start(scheduler, generator, time_machine):
    time_machine.move_to(at("15:00"), tick=False)
    for day in (DAY + timedelta(days=1), DAY - timedelta(days=1)):
        plan = services_plans.plan_compute(actor=scheduler, date=day, generator_id=generator.pk)
        assert plan.inputs["parameters"]["earliest_elution_at"] == at("06:00", day).isoformat()


def test_only_active_bookings_of_the_day_are_planned(scheduler, generator, early):
    booked = book("10:00")[0]
    assigned = book("11:00", status="dose_assigned")[0]
    for status in ("cancelled", "missed", "administered", "dispensed"):
        book("12:00", status=status)
    book("10:00", day=DAY + timedelta(days=1))
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    # A booking with a dose has its activity set aside in its batch already.
    assert [b["booking_id"] for b in plan.inputs["bookings"]] == [booked.pk]
    assert assigned.pk not in {b["booking_id"] for b in plan.inputs["bookings"]}
    assert plan.inputs["bookings"][0] == {
        "booking_id": booked.pk,
        "injection_at": at("10:00").isoformat(),
        "prescribed_activity_mbq": 150.0,
    }


# --- the saved plan ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "mbq"),
    [
        ((), 150.0),
        (("09:00",), 150.0),
        (("09:00", "09:30", "10:00", "11:15", "12:00", "13:30", "14:45", "15:30"), 160.0),
        (("07:20", "08:10", "09:00", "09:05", "16:55", "17:30"), 200.0),
        (("10:00", "10:05", "10:10", "10:15", "10:20", "10:25"), 200.0),
    ],
)
def test_every_saved_plan_passes_the_independent_checker(scheduler, generator, early, times, mbq):
    book(*times, mbq=mbq)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert plan.status == "draft" and plan.created_by == scheduler
    assert plan.result["date"] == DAY.isoformat() and plan.result["generator"] == generator.pk
    assert checked(plan) == []
    served = sum(len(r["doses"]) for r in plan.result["runs"])
    assert served + len(plan.result["unserved"]) == len(times)


def test_a_busy_day_is_served_and_explained(scheduler, generator, early):
    book("09:00", "09:45", "10:30", "11:15", "12:00", "13:30", "14:45", "15:30")
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    served = plan.result["objective"]["served"]
    assert served >= 5 and served + len(plan.result["unserved"]) == 8
    assert all(run["explanation"] for run in plan.result["runs"])
    lines = services_plans.plan_explanation(plan)
    assert any("nominal efficiency" in line for line in lines)
    assert any("default" in line for line in lines)
    assert any(f"8 booking(s) to plan: {served} served" in line for line in lines)


def test_a_plan_after_working_hours_serves_nobody_with_reasons(scheduler, generator, time_machine):
    book("10:00", "16:00")
    time_machine.move_to(at("18:00"), tick=False)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert plan.result["runs"] == []
    assert all(u["reason"] for u in plan.result["unserved"])
    assert checked(plan) == []


def test_unknown_generator_or_bad_date_is_a_400(scheduler, early):
    with pytest.raises(ApplicationError) as info:
        services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=999999)
    assert info.value.status_code == 400 and "generator" in info.value.fields
    with pytest.raises(ApplicationError) as info:
        services_plans.plan_compute(actor=scheduler, date="2026-11-24", generator_id=1)
    assert "date" in info.value.fields


@pytest.mark.parametrize("status", ["quarantine", "retired"])
def test_a_generator_not_in_use_cannot_be_planned(scheduler, early, status):
    generator = GeneratorFactory(status=status)
    with pytest.raises(StateConflict):
        services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert not ProductionPlan.objects.exists()


@pytest.mark.requirement("PLN-06")
def test_computing_an_unchanged_day_again_gives_the_same_plan_and_no_new_row(
    scheduler, generator, early
):
    book("09:00", "13:30")
    first = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    again = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    assert again.pk == first.pk and ProductionPlan.objects.count() == 1
    services_plans.plan_accept(actor=scheduler, plan_id=first.pk)
    recomputed = services_plans.plan_recompute(date=DAY, generator_id=generator.pk)
    assert recomputed.pk == first.pk and ProductionPlan.objects.count() == 1
    first.refresh_from_db()
    assert not first.stale


def test_computing_a_changed_day_supersedes_the_older_draft(scheduler, generator, early):
    first = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    book("09:00")
    second = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    first.refresh_from_db()
    assert (first.status, first.superseded_by_id) == ("superseded", second.pk)
    assert second.status == "draft"


# --- accept -----------------------------------------------------------------------------------


@pytest.mark.requirement("PLN-09")
def test_accept_creates_the_planned_runs(scheduler, generator, early):
    bookings = book("09:00", "09:45", "13:30", "14:45")
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.status == "accepted" and plan.accepted_by == scheduler and plan.accepted_at
    runs = list(plan.runs.order_by("sequence"))
    assert len(runs) == len(plan.result["runs"]) >= 1
    for n, (run, planned) in enumerate(zip(runs, plan.result["runs"], strict=True), start=1):
        assert run.sequence == n and run.status == "planned" and run.batch is None
        assert run.elution_at == plan_inputs.parse_time(planned["elution_at"])
        assert run.expected_activity_at_eos_mbq == planned["expected_activity_at_eos_mbq"]
        assert sorted(b.pk for b in run.bookings.all()) == sorted(
            d["booking"] for d in planned["doses"]
        )
    served = {b.pk for run in runs for b in run.bookings.all()}
    assert served == {b.pk for b in bookings}


def test_accepting_a_new_plan_supersedes_the_accepted_one_and_cancels_its_runs(
    scheduler, generator, early
):
    book("09:00", "13:30")
    first = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=first.pk)
    book("11:00")  # the day changes, so the plan does
    second = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=second.pk)
    first.refresh_from_db()
    assert (first.status, first.superseded_by_id) == ("superseded", second.pk)
    assert set(first.runs.values_list("status", flat=True)) == {"cancelled"}
    assert ProductionPlan.objects.filter(status="accepted").get() == second
    assert set(second.runs.values_list("status", flat=True)) == {"planned"}


@pytest.mark.parametrize("target", ["accepted", "superseded"])
@pytest.mark.requirement("PLN-09")
def test_only_a_draft_can_be_accepted(scheduler, generator, early, target):
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)
    if target == "superseded":
        book("11:00")
        newer = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
        services_plans.plan_accept(actor=scheduler, plan_id=newer.pk)
    runs = PlannedRun.objects.count()
    with pytest.raises(StateConflict) as info:
        services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)
    assert info.value.status_code == 409 and info.value.blocking
    assert PlannedRun.objects.count() == runs


def test_accepting_an_unknown_plan_is_a_404(scheduler):
    with pytest.raises(ApplicationError) as info:
        services_plans.plan_accept(actor=scheduler, plan_id=999999)
    assert info.value.status_code == 404


@pytest.mark.requirement("PLN-09", "AUD-01")
def test_compute_accept_and_supersede_are_audited(scheduler, generator, early):
    book("09:00")
    first = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=first.pk)
    book("11:00")  # the day changes, so the plan does
    second = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=second.pk)
    plan_events = AuditEvent.objects.filter(object_type="scheduling.productionplan")
    actions = list(plan_events.filter(object_id=str(first.pk)).values_list("action", flat=True))
    assert actions == ["created", "accepted", "superseded"]
    created = plan_events.get(object_id=str(first.pk), action="created")
    assert created.username == scheduler.username
    assert created.changes["status"]["new"] == "draft"
    assert created.changes["objective"]["new"]["served"] == 1
    run_events = AuditEvent.objects.filter(object_type="scheduling.plannedrun")
    assert set(run_events.values_list("action", flat=True)) == {"created", "cancelled"}


# --- recompute after a booking change ---------------------------------------------------------


@pytest.fixture
def accepted(scheduler, generator, early):
    book("09:00", "13:30")
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    return services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)


def _latest_draft():
    return ProductionPlan.objects.filter(status="draft").order_by("-id").first()


@pytest.mark.requirement("PLN-09")
def test_a_new_booking_recomputes_the_day_and_marks_the_accepted_plan_stale(
    scheduler, accepted, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.booking_create(
            actor=scheduler, patient_ref="P-77", weight_kg=80, injection_at=at("11:00")
        )
    accepted.refresh_from_db()
    assert accepted.status == "accepted" and accepted.stale
    draft = _latest_draft()
    assert draft is not None and draft.trigger
    assert booking.pk in {b["booking_id"] for b in draft.inputs["bookings"]}
    assert draft.created_by == scheduler
    assert checked(draft) == []
    job = OutboxJob.objects.get(key=draft.trigger)
    assert job.status == "done" and job.task_name == "scheduling.recompute_plan"
    assert AuditEvent.objects.filter(object_id=str(accepted.pk), action="marked_stale").exists()


@pytest.mark.requirement("PLN-09")
def test_cancelling_and_rescheduling_recompute_a_fresh_draft_each_time(
    scheduler, accepted, celery_eager, django_capture_on_commit_callbacks
):
    first_booking = ProductionPlan.objects.get(pk=accepted.pk).inputs["bookings"][0]["booking_id"]
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(actor=scheduler, booking_id=first_booking, reason="unwell")
    after_cancel = _latest_draft()
    assert first_booking not in {b["booking_id"] for b in after_cancel.inputs["bookings"]}
    other = accepted.inputs["bookings"][1]["booking_id"]
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reschedule(
            actor=scheduler, booking_id=other, injection_at=at("15:00"), reason="later slot"
        )
    after_move = _latest_draft()
    assert after_move.pk != after_cancel.pk
    after_cancel.refresh_from_db()
    assert (after_cancel.status, after_cancel.superseded_by_id) == ("superseded", after_move.pk)
    moved = next(b for b in after_move.inputs["bookings"] if b["booking_id"] == other)
    assert moved["injection_at"] == at("15:00").isoformat()
    assert checked(after_move) == []


def test_moving_a_booking_to_another_planned_day_recomputes_both_days(
    scheduler, generator, accepted, celery_eager, django_capture_on_commit_callbacks
):
    tomorrow = DAY + timedelta(days=1)
    services_plans.plan_compute(actor=scheduler, date=tomorrow, generator_id=generator.pk)
    booking = accepted.inputs["bookings"][0]["booking_id"]
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reschedule(
            actor=scheduler, booking_id=booking, injection_at=at("10:00", tomorrow), reason="moved"
        )
    today_draft = ProductionPlan.objects.filter(date=DAY, status="draft").get()
    tomorrow_draft = ProductionPlan.objects.filter(date=tomorrow, status="draft").get()
    assert booking not in {b["booking_id"] for b in today_draft.inputs["bookings"]}
    assert booking in {b["booking_id"] for b in tomorrow_draft.inputs["bookings"]}
    assert today_draft.trigger and tomorrow_draft.trigger


def test_a_booking_change_on_a_day_without_plans_queues_nothing(
    scheduler, generator, early, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_create(
            actor=scheduler, patient_ref="P-78", weight_kg=80, injection_at=at("11:00")
        )
    assert not OutboxJob.objects.filter(task_name="scheduling.recompute_plan").exists()
    assert not ProductionPlan.objects.exists()


def test_the_recompute_task_run_twice_makes_one_plan(scheduler, generator, accepted):
    book("11:00")  # a change the task has to plan for
    kwargs = {"date": DAY.isoformat(), "generator_id": generator.pk, "trigger": "k:1"}
    first = recompute_plan_task.apply(kwargs=kwargs).get()
    second = recompute_plan_task.apply(kwargs=kwargs).get()
    assert first == second
    assert ProductionPlan.objects.filter(trigger="k:1").count() == 1
    assert ProductionPlan.objects.get(pk=first).created_by is None


def test_plan_recompute_for_date_recomputes_each_planned_generator(scheduler, accepted):
    other = GeneratorFactory()
    services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=other.pk)
    book("11:00")
    plans = services_plans.plan_recompute_for_date(DAY, actor=scheduler)
    assert sorted(p.generator_id for p in plans) == sorted([accepted.generator_id, other.pk])
    assert all(p.status == "draft" for p in plans)


def test_the_explanation_dates_an_elution_of_another_day(scheduler, generator, early):
    ElutionFactory(generator=generator, eluted_at=at("13:45", DAY - timedelta(days=1)))
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)
    lines = services_plans.plan_explanation(plan)
    assert "regrown since the elution at 13:45 CET on 23 Nov" in lines[0]
    assert "mean of the last 1 elution)" in lines[1]
