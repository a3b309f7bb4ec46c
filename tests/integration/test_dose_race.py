"""Two-or-more users assigning doses from one batch at once never over-allocate it (SPEC §2.6).

On PostgreSQL a read-then-save double-dispenses every time (DEPENDENCIES.md); this fires 24
concurrent assignments, each in its own thread and database connection, at a batch that can
serve only a few of them.
"""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from radiopharmacy.core.errors import StateConflict
from radiopharmacy.models import Batch
from scheduling.models import BatchAllocation, Dose
from scheduling.services import doses as services
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AMS = ZoneInfo("Europe/Amsterdam")
REQUESTS = 24


class _WithoutRowLock:
    """Stands in for Batch in scheduling.services with select_for_update() doing nothing, so the
    test shows the conditional UPDATE on BatchAllocation holds on its own."""

    DoesNotExist = Batch.DoesNotExist

    class objects:  # noqa: N801 - mimics a model manager
        @staticmethod
        def select_for_update(*args, **kwargs):
            return Batch.objects.all()

        def __getattr__(self, name):  # pragma: no cover - not used by dose_assign
            return getattr(Batch.objects, name)

        @staticmethod
        def filter(*args, **kwargs):
            return Batch.objects.filter(*args, **kwargs)


@pytest.mark.parametrize("row_lock", [True, False], ids=["with-row-lock", "guard-only"])
@pytest.mark.requirement("DOS-06")
def test_concurrent_assignments_never_over_allocate_the_batch(make_user, monkeypatch, row_lock):
    if not row_lock:
        monkeypatch.setattr(services, "Batch", _WithoutRowLock)
    rp = make_user("radiopharmacist")
    # 6 mL at 200 MBq/mL at 09:40; each dose (150 MBq at 10:30, drawn 10:10) needs 1.252 mL:
    # exactly 4 fit (5.008 mL), a fifth would need 6.26 mL.
    batch = ReleasedBatchFactory(eos_at=datetime(2026, 11, 24, 9, 40, tzinfo=AMS), volume_ml=6.0)
    bookings = [
        BookingFactory(
            injection_at=datetime(2026, 11, 24, 10, 30, tzinfo=AMS), prescribed_activity_mbq=150
        )
        for _ in range(REQUESTS)
    ]
    draw_at = datetime(2026, 11, 24, 10, 10, tzinfo=AMS)
    barrier = threading.Barrier(REQUESTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(booking_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            services.dose_assign(
                actor=rp, booking_id=booking_id, batch_id=batch.pk, draw_at=draw_at
            )
            result = "ok"
        except StateConflict:
            result = "refused"
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(b.pk,)) for b in bookings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(outcomes) == REQUESTS
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    allocation = BatchAllocation.objects.get(batch=batch)
    doses = list(Dose.objects.filter(batch=batch))
    per_dose_ul = doses[0].allocated_volume_ul
    fits = allocation.total_volume_ul // per_dose_ul
    assert fits == 4
    assert outcomes.count("ok") == fits == len(doses)
    assert outcomes.count("refused") == REQUESTS - fits
    assert allocation.allocated_volume_ul == sum(d.allocated_volume_ul for d in doses)
    assert allocation.allocated_volume_ul <= allocation.total_volume_ul
    assert sum(d.volume_to_draw_ml for d in doses) <= batch.volume_ml
