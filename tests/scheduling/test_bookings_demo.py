"""The bookings demo loader: today's patients, doses where a released batch allows, idempotent."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from radiopharmacy.audit import verify_chain
from radiopharmacy.demo import LOADERS, load_users
from scheduling.demo import load_bookings
from scheduling.models import Booking, Dose
from tests.scheduling.factories import ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=AMS)


def _load():
    out = io.StringIO()
    load_bookings(stdout=out)
    return out.getvalue()


def test_loader_runs_after_the_batch_and_release_loaders():
    mine = LOADERS.index("scheduling.demo.load_bookings")
    producers = [i for i, name in enumerate(LOADERS) if "batch" in name or "release" in name]
    assert all(i < mine for i in producers)


def test_without_a_released_batch_today_only_bookings_are_made(db):
    load_users(stdout=io.StringIO())
    with time_machine.travel(NOON, tick=False):
        assert "no released batch today" in _load()
        assert "unchanged" in _load()
    bookings = list(Booking.objects.all())
    assert 6 <= len(bookings) <= 10
    assert all(55 <= b.weight_kg <= 110 for b in bookings)
    local = [b.injection_at.astimezone(AMS) for b in bookings]
    assert min(local).strftime("%H:%M") == "09:00" and max(local).strftime("%H:%M") == "15:30"
    assert not Dose.objects.exists()


def test_with_a_released_batch_today_doses_are_assigned_and_past_ones_administered(db):
    load_users(stdout=io.StringIO())
    ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 8, 5, tzinfo=AMS))
    with time_machine.travel(NOON, tick=False):
        _load()
        counts = (Booking.objects.count(), Dose.objects.count())
        _load()
        assert (Booking.objects.count(), Dose.objects.count()) == counts
    doses = list(Dose.objects.select_related("booking"))
    assert doses, "some doses are assigned"
    administered = [d for d in doses if d.status == "administered"]
    assert administered and all(d.booking.injection_at <= NOON for d in administered)
    assert all(d.administered_activity_mbq > 0 for d in administered)
    assert verify_chain().ok
