"""Demo: the Ge-68 breakthrough result of the demo generator's first elution, measured 50 h
after it (a typical 0.0002 %, well within the 0.001 % limit). Idempotent."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from qc.services.breakthrough import breakthrough_record
from radiopharmacy import physics
from radiopharmacy.demo.generators import DEMO_SERIAL
from radiopharmacy.models import BreakthroughTest, Elution


@transaction.atomic
def load_breakthrough(*, stdout) -> None:
    if BreakthroughTest.objects.filter(elution__generator__serial_number=DEMO_SERIAL).exists():
        stdout.write("Demo breakthrough result already loaded.")
        return
    actor = get_user_model().objects.get(username="radiopharmacist")
    now = timezone.now()
    elution = (
        Elution.objects.filter(
            generator__serial_number=DEMO_SERIAL,
            superseded_by__isnull=True,
            eluted_at__lte=now - timedelta(hours=50),
        )
        .order_by("eluted_at", "id")
        .first()
    )
    if elution is None:
        stdout.write("Demo breakthrough: no elution is 50 h old yet.")
        return
    ge68_kbq = elution.activity_at_elution_mbq * physics.KBQ_PER_MBQ * 0.0002 / 100
    breakthrough_record(
        actor=actor,
        elution_id=elution.pk,
        ge68_activity_kbq=round(ge68_kbq, 4),
        measured_at=elution.eluted_at + timedelta(hours=50),
    )
    stdout.write(f"Demo breakthrough tested on the elution of {elution.eluted_at:%Y-%m-%d}.")
