"""Booking assistant (SPEC §2.7, `plans/slots/`): every time offered as "no extra synthesis"
serves the new booking, once booked, with as many syntheses and nobody unserved."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from scheduling.planner import BookingRequest, plan_day, slots_for_new_booking
from tests.bench.planner import random_day
from tests.factories import BookingFactory, GeneratorFactory

AMS = ZoneInfo("Europe/Amsterdam")
URL = "/api/v1/plans/slots/"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.requirement("PLN-07")
def test_every_slot_without_extra_synthesis_really_serves_the_new_booking(seed):
    state, bookings, prm = random_day(
        seed=900 + seed, bookings=4 + seed % 4, first_injection_hour=8, last_injection_hour=14
    )
    base = plan_day(generator_state=state, bookings=bookings, params=prm)
    assert base.optimal
    same, more = slots_for_new_booking(
        generator_state=state, bookings=bookings, params=prm, prescribed_activity_mbq=150.0
    )
    assert same, "a day with room offers times"
    assert not set(same) & set(more)
    for when in same[::3]:
        new = BookingRequest(booking_id=999, injection_at=when, prescribed_activity_mbq=150.0)
        plan = plan_day(generator_state=state, bookings=[*bookings, new], params=prm)
        assert plan.served_count == base.served_count + 1, when
        assert len(plan.runs) == len(base.runs), when
        assert 999 not in {u.booking_id for u in plan.unserved}
    for when in more[::4]:
        new = BookingRequest(booking_id=999, injection_at=when, prescribed_activity_mbq=150.0)
        plan = plan_day(generator_state=state, bookings=[*bookings, new], params=prm)
        assert plan.served_count == base.served_count + 1, when
        assert len(plan.runs) <= len(base.runs) + 1


@pytest.mark.django_db
@pytest.mark.requirement("PLN-07")
def test_slots_endpoint_lists_times_for_a_weight_or_an_activity(api_as, scheduler, time_machine):
    time_machine.move_to(datetime(2026, 11, 24, 5, 30, tzinfo=AMS), tick=False)
    generator = GeneratorFactory()
    BookingFactory(injection_at=datetime(2026, 11, 24, 9, 0, tzinfo=AMS))
    client = api_as(scheduler)
    by_weight = client.get(URL, {"date": "2026-11-24", "generator": generator.pk, "weight_kg": 75})
    assert by_weight.status_code == 200, by_weight.content
    body = by_weight.json()
    assert set(body) == {"no_extra_synthesis", "one_more_synthesis"}
    assert body["no_extra_synthesis"]
    assert all(
        datetime.fromisoformat(t).utcoffset() is not None for t in body["no_extra_synthesis"]
    )
    by_activity = client.get(
        URL, {"date": "2026-11-24", "generator": generator.pk, "prescribed_activity_mbq": 150}
    )
    assert by_activity.json() == body  # 75 kg × 2 MBq/kg = 150 MBq


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"date": "2026-11-24", "generator": 1},
        {"date": "2026-11-24", "weight_kg": 70},
        {"date": "x", "generator": 1, "weight_kg": 70},
        {"date": "2026-11-24", "generator": 1, "weight_kg": -3},
        {"date": "2026-11-24", "generator": 999999, "weight_kg": 70},
    ],
)
def test_slots_endpoint_refuses_bad_queries_with_a_400(api_as, scheduler, query):
    assert api_as(scheduler).get(URL, query).status_code == 400


@pytest.mark.django_db
@pytest.mark.requirement("PLN-07")
def test_the_booking_form_shows_the_free_times_as_the_scheduler_types(
    client, scheduler, time_machine
):
    time_machine.move_to(datetime(2026, 11, 24, 5, 30, tzinfo=AMS), tick=False)
    GeneratorFactory()
    client.force_login(scheduler)
    form = client.get("/bookings/new/").content.decode()
    assert 'hx-get="/plan/slots/"' in form and 'id="plan-slots"' in form
    html = client.get("/plan/slots/", {"injection_at": "2026-11-24T09:00", "weight_kg": "80"})
    assert html.status_code == 200
    text = html.content.decode()
    assert "No extra synthesis" in text and "CET" in text
    empty = client.get("/plan/slots/", {"injection_at": "", "weight_kg": "abc"}).content.decode()
    assert "Type the weight" in empty
