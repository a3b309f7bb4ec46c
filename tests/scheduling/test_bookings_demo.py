"""The bookings demo loader: today's patients, doses where a released batch allows, idempotent."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radiopharmacy.core.audit import verify_chain
from radiopharmacy.demo import LOADERS
from radiopharmacy.demo.users import load_users
from scheduling.demo.bookings import load_bookings
from scheduling.models import Booking, Dose
from tests.factories import ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=AMS)


def _load():
    out = io.StringIO()
    load_bookings(stdout=out)
    return out.getvalue()


def test_loader_runs_after_the_batch_and_release_loaders():
    mine = LOADERS.index("scheduling.demo.bookings.load_bookings")
    producers = [i for i, name in enumerate(LOADERS) if "batch" in name or "release" in name]
    assert all(i < mine for i in producers)


def _local_times(bookings):
    return sorted(b.injection_at.astimezone(AMS).strftime("%m-%d %H:%M") for b in bookings)


def test_without_a_released_batch_today_only_later_bookings_are_made(db):
    load_users(stdout=io.StringIO())
    with time_machine.travel(NOON, tick=False):
        assert "no released batch today" in _load()
        assert "unchanged" in _load()
    bookings = list(Booking.objects.all())
    assert all(55 <= b.weight_kg <= 110 for b in bookings)
    # Two hours from now at the earliest: time to elute, synthesise and test for them.
    assert _local_times(bookings) == ["11-24 14:00", "11-24 14:30", "11-24 15:00"]
    assert not Dose.objects.exists()


def test_patients_are_booked_around_a_released_batch_and_past_ones_administered(db):
    load_users(stdout=io.StringIO())
    ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 8, 5, tzinfo=AMS))
    with time_machine.travel(NOON, tick=False):
        _load()
        counts = (Booking.objects.count(), Dose.objects.count())
        _load()
        assert (Booking.objects.count(), Dose.objects.count()) == counts
    assert _local_times(Booking.objects.all()) == [
        "11-24 08:50",
        "11-24 09:20",
        "11-24 14:00",
        "11-24 14:30",
        "11-24 15:00",
    ]
    doses = list(Dose.objects.select_related("booking"))
    assert len(doses) == 2
    assert all(d.status == "administered" and d.administered_activity_mbq > 0 for d in doses)
    assert verify_chain().ok


def test_late_in_the_day_the_later_patients_are_booked_for_tomorrow(db):
    load_users(stdout=io.StringIO())
    with time_machine.travel(datetime(2026, 11, 24, 16, 30, tzinfo=AMS), tick=False):
        assert "later tomorrow" in _load()
    assert _local_times(Booking.objects.all()) == ["11-25 09:00", "11-25 09:30", "11-25 10:00"]
