"""factory_boy factories shared by the suite. Areas append their own below, one per model."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


# A fixed, realistic reference time for tests that need one (a Tuesday morning, UTC).
REFERENCE_TIME = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --- Generators and elutions (issue 3) -------------------------------------------------------
# Plain rows for tests that need a generator or elution to exist. Tests of the numbers record
# elutions through radiopharmacy.services.elutions so the derived fields are computed.


class GeneratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "radiopharmacy.Generator"

    manufacturer = "Eckert & Ziegler"
    model = "GalliaPharm"
    serial_number = factory.Sequence(lambda n: f"GP-{n:05d}")
    nominal_activity_mbq = 1850.0
    calibrated_at = REFERENCE_TIME - timedelta(days=90)
    received_at = factory.LazyAttribute(lambda o: o.calibrated_at + timedelta(days=3))
    expires_at = factory.LazyAttribute(lambda o: o.calibrated_at + timedelta(days=365))
    max_elutions = None
    nominal_efficiency_percent = 65.0
    status = "in_use"
    registered_by = factory.SubFactory(UserFactory, role="radiopharmacist")


class ElutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "radiopharmacy.Elution"

    generator = factory.SubFactory(GeneratorFactory)
    eluted_at = REFERENCE_TIME - timedelta(hours=1)
    activity_mbq = 1000.0
    measured_at = factory.LazyAttribute(lambda o: o.eluted_at)
    volume_ml = 5.0
    eluent_lot = "HCl-0.1M-2611"
    activity_at_elution_mbq = factory.LazyAttribute(lambda o: o.activity_mbq)
    predicted_on_column_mbq = 1500.0
    efficiency_percent = factory.LazyAttribute(
        lambda o: 100.0 * o.activity_at_elution_mbq / o.predicted_on_column_mbq
    )
    performed_by = factory.SubFactory(UserFactory, role="radiopharmacist")


# --- Bookings and doses (issue 5) ------------------------------------------------------------
# Plain rows; tests of the numbers go through scheduling.services so derived fields are computed.


def _site_product():
    from radiopharmacy.models import Product

    return Product.objects.order_by("id").first()


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Booking"

    patient_ref = factory.Sequence(lambda n: f"P-{n:05d}")
    product = factory.LazyFunction(_site_product)
    weight_kg = 75.0
    injection_at = REFERENCE_TIME + timedelta(hours=3)
    prescribed_activity_mbq = factory.LazyAttribute(lambda o: min(2.0 * o.weight_kg, 200.0))
    tolerance_percent = 10.0
    status = "booked"
    created_by = factory.SubFactory(UserFactory, role="scheduler")


class DoseFactory(factory.django.DjangoModelFactory):
    """An assigned dose row (numbers not computed: use the dose_assign service for that)."""

    class Meta:
        model = "scheduling.Dose"

    booking = factory.SubFactory(BookingFactory, status="dose_assigned")
    batch = factory.SubFactory("tests.scheduling.factories.ReleasedBatchFactory")
    draw_at = factory.LazyAttribute(lambda o: o.booking.injection_at - timedelta(minutes=10))
    activity_at_injection_planned_mbq = factory.LazyAttribute(
        lambda o: o.booking.prescribed_activity_mbq
    )
    activity_to_draw_mbq = factory.LazyAttribute(lambda o: o.booking.prescribed_activity_mbq)
    concentration_at_draw_mbq_per_ml = 100.0
    volume_to_draw_ml = factory.LazyAttribute(lambda o: o.activity_to_draw_mbq / 100.0)
    allocated_volume_ul = 0
    status = "assigned"
    assigned_by = factory.SubFactory(UserFactory, role="radiopharmacist")


# --- Synthesis batches (issue 4) -------------------------------------------------------------
# Recorded through radiopharmacy.services.batches.batch_create, so the batch number and the
# derived numbers are the service's.


def batch_inputs(**overrides) -> dict:
    """Keyword arguments for batch_create: a synthesis 10 min after the reference time,
    700 MBq in 10 mL at EOS 25 min later (elutions are added by the caller)."""
    started = overrides.pop("started_at", REFERENCE_TIME + timedelta(minutes=10))
    eos = overrides.pop("eos_at", started + timedelta(minutes=25))
    data = {
        "method": "automated",
        "module_name": "Modular-Lab eazy",
        "module_serial": "MLE-042",
        "precursor_lot": "DOTATATE-2611",
        "precursor_mass_ug": 25.0,
        "reagent_lots": [{"name": "HEPES buffer", "lot": "HB-77"}],
        "started_at": started,
        "eos_at": eos,
        "activity_mbq": 700.0,
        "measured_at": eos,
        "volume_ml": 10.0,
    }
    data.update(overrides)
    return data


class BatchFactory(factory.django.DjangoModelFactory):
    """A batch recorded through batch_create, with one 1000 MBq elution 10 min before the start
    unless `elutions=[...]` is given. `status=` forces a status afterwards (tests only)."""

    class Meta:
        model = "radiopharmacy.Batch"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from radiopharmacy.services.batches import batch_create

        actor = kwargs.pop("operator", None) or UserFactory(role="radiopharmacist")
        status = kwargs.pop("status", None)
        data = batch_inputs(**kwargs)
        if not data.get("elutions"):
            data["elutions"] = [
                ElutionFactory(
                    eluted_at=data["started_at"] - timedelta(minutes=10), activity_mbq=1000.0
                )
            ]
        batch = batch_create(actor=actor, **data)
        if status:
            model_class.objects.filter(pk=batch.pk).update(status=status)
            batch.refresh_from_db()
        return batch
