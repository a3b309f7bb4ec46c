"""A day's records built through the services, relative to now (for page tests)."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from qc.models import BatchSignature
from qc.services.certificates import certificate_render
from qc.services.release import batch_release
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.services.elutions import elution_record
from radiopharmacy.services.generators import generator_accept, generator_register
from scheduling.services.bookings import booking_create
from scheduling.services.doses import dose_assign
from tests.factories import TEST_PASSWORD, BatchFactory


@dataclass
class World:
    generator: object
    elution: object
    released: object
    pending: object
    booking: object
    dose: object
    alert: object


def build_world(*, radiopharmacist, qualified_person, scheduler) -> World:
    """A generator eluted 1 h ago, a released batch (certificate rendered) with a dose, a batch
    awaiting QC, a booking and an open alert; every write through its service."""
    now = timezone.now()
    generator = generator_register(
        actor=radiopharmacist,
        manufacturer="Eckert & Ziegler",
        model="GalliaPharm",
        serial_number="GP-WORLD-1",
        nominal_activity_mbq=3700.0,
        calibrated_at=now - timedelta(days=60),
        received_at=now - timedelta(days=58),
    )
    generator = generator_accept(  # a new generator starts in quarantine (SPEC §2.2)
        actor=radiopharmacist,
        generator_id=generator.pk,
        note="Receipt check done.",
        documents_checked=True,
        certificate_activity_checked=True,
        first_eluate_checked=True,
    )
    elution = elution_record(
        actor=radiopharmacist,
        generator_id=generator.pk,
        eluted_at=now - timedelta(minutes=70),
        activity_mbq=3000.0,
        measured_at=now - timedelta(minutes=70),
        volume_ml=5.0,
    )
    # One eluate split between the day's batches, each stating the volume it used.
    started = now - timedelta(minutes=60)
    released = BatchFactory(
        operator=radiopharmacist,
        started_at=started,
        elutions=[elution],
        elution_volumes=[{"elution": elution.pk, "volume_ml": 3.0}],
        activity_mbq=1200.0,
        qc="passing",
        qc_at=started + timedelta(minutes=35),  # 10 min after EOS
    )
    batch_release(batch_id=released.pk, actor=qualified_person, password=TEST_PASSWORD)
    certificate_render(signature_id=BatchSignature.objects.get(batch=released).pk)
    pending = BatchFactory(
        operator=radiopharmacist,
        started_at=now - timedelta(minutes=30),
        elutions=[elution],
        elution_volumes=[{"elution": elution.pk, "volume_ml": 1.0}],
        activity_mbq=200.0,
    )
    booking = booking_create(
        actor=scheduler,
        patient_ref="PT-0001",
        weight_kg=80.0,
        injection_at=now + timedelta(minutes=40),
    )
    dose = dose_assign(
        actor=radiopharmacist,
        booking_id=booking.pk,
        batch_id=released.pk,
        draw_at=now + timedelta(minutes=30),
    )
    alert, _ = alert_raise(key="world:expiring", kind="batch_expiring", message="Batch expiring")
    released.refresh_from_db()
    return World(generator, elution, released, pending, booking, dose, alert)
