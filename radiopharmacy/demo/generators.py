"""Demo generator: a GalliaPharm calibrated three months ago with a week of elutions (its Ge-68
breakthrough result is QC's: `qc.demo.breakthrough`).

Recorded through the services as the demo radiopharmacist, so the audit trail is real. The
numbers come from the column model times a realistic efficiency (62-68 %), with a fixed seed so
every fresh demo looks the same. Idempotent: a second run finds the generator and adds nothing.
"""

import random
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.core.sitetime import site_today, site_zone
from radiopharmacy.models import Generator
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.services.elutions import elution_record
from radiopharmacy.services.generators import generator_accept, generator_register

DEMO_SERIAL = "GP-DEMO-1850"
ELUTION_TIMES = (time(7, 30), time(10, 45), time(13, 45))  # site time


@transaction.atomic
def load_generators(*, stdout) -> None:
    if Generator.objects.filter(serial_number=DEMO_SERIAL).exists():
        stdout.write(f"Demo generator {DEMO_SERIAL} already loaded.")
        return
    actor = get_user_model().objects.get(username="radiopharmacist")
    zone = site_zone()
    now = timezone.now()
    today = site_today()
    rng = random.Random(68)

    calibrated_at = datetime.combine(today - timedelta(days=91), time(12, 0), tzinfo=zone)
    generator = generator_register(
        actor=actor,
        manufacturer="Eckert & Ziegler",
        model="GalliaPharm",
        serial_number=DEMO_SERIAL,
        nominal_activity_mbq=1850.0,
        calibrated_at=calibrated_at,
        received_at=datetime.combine(today - timedelta(days=88), time(9, 15), tzinfo=zone),
        nominal_efficiency_percent=65.0,
    )
    # A new generator starts in quarantine (SPEC §2.2): the demo one passed its receipt check.
    generator_accept(
        actor=actor,
        generator_id=generator.pk,
        note="Demo: delivery documents, certificate activity and first eluate checked.",
        documents_checked=True,
        certificate_activity_checked=True,
        first_eluate_checked=True,
    )

    elutions = []
    for days_ago in range(6, -1, -1):
        day = today - timedelta(days=days_ago)
        for slot in ELUTION_TIMES[: rng.randint(1, 3)]:
            eluted_at = datetime.combine(day, slot, tzinfo=zone)
            measured_at = eluted_at.astimezone(UTC) + timedelta(minutes=rng.randint(3, 8))
            if measured_at > now:
                continue
            on_column = selectors.prediction(
                Generator.objects.get(pk=generator.pk), at=eluted_at
            ).ga68_on_column_mbq
            at_elution = on_column * rng.uniform(0.62, 0.68)
            measured = physics.decay_activity(
                at_elution, from_time=eluted_at, to_time=measured_at, nuclide=physics.GA68
            )
            elutions.append(
                elution_record(
                    actor=actor,
                    generator_id=generator.pk,
                    eluted_at=eluted_at,
                    activity_mbq=round(measured, 1),
                    measured_at=measured_at,
                    volume_ml=round(rng.uniform(4.9, 5.1), 2),
                    eluent_lot=f"HCl-0.1M-{day:%y%m}{'AB'[days_ago % 2]}",
                )
            )

    stdout.write(f"Demo generator {DEMO_SERIAL}: {len(elutions)} elutions.")
