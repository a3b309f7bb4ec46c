"""factory_boy factories and builders for the whole suite: users, generators and elutions,
synthesis batches with their QC results, bookings and doses."""

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import factory
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from radiopharmacy.core.sitetime import site_date

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
# The day of BatchFactory's default batch: EOS at REFERENCE_TIME + 35 min (08:35 CET), QC entered
# 20 min later, the qualified person signs at 09:00 CET.
QC_TIME = REFERENCE_TIME + timedelta(minutes=55)
RELEASE_TIME = REFERENCE_TIME + timedelta(minutes=60)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _site_product():
    from radiopharmacy.models import Product

    return Product.objects.order_by("id").first()


# --- Generators and elutions ---------------------------------------------------------------
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
    # Accepted into use on receipt (SPEC §2.2); pass accepted_at=None for one awaiting it.
    accepted_at = factory.LazyAttribute(lambda o: o.received_at)
    accepted_by = factory.LazyAttribute(lambda o: o.registered_by)
    acceptance_note = "Receipt check: documents, certificate activity and first eluate checked."


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

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The stored column state follows the history, as when the service records it: derive
        # it for this elution and the ones after it (placeholders until then).
        from radiopharmacy.services.elutions import STATE_FIELDS, elution_states_refresh

        derive = not any(field in kwargs for field in STATE_FIELDS)
        kwargs.setdefault("column_residual_mbq", 0.0)
        kwargs.setdefault("efficiency_estimate_percent", 0.0)
        kwargs.setdefault("elution_number", 0)
        elution = super()._create(model_class, *args, **kwargs)
        if derive:
            since = elution.eluted_at
            if elution.supersedes_id is not None:
                since = min(since, elution.supersedes.eluted_at)
            elution_states_refresh(generator=elution.generator, since=since)
            elution.refresh_from_db(fields=STATE_FIELDS)
        return elution


# --- QC results ------------------------------------------------------------------------------

# A passing result for every release test of the default specification v1 (REFERENCE §3) for an
# automated synthesis; a kit preparation has no ethanol test and its own pH range.
PASSING_RELEASE_VALUES = {
    "appearance": "pass",
    "ph": 6.5,
    "rcp_itlc": 98.2,
    "colloid_itlc": 0.8,
    "free_ga68": 0.4,
    "half_life": 67.9,
    "gamma_spectrum": "pass",
    "filter_integrity": 3600,
    "endotoxin": 2.0,
    "ethanol": 5.1,
    "hepes": 10,
    "peptide_mass": 2.5,
}


def as_of(moment: datetime):
    """The clock at `moment` while a record is made, when the clock is earlier: records are
    made when they happen (nothing is measured in the future), and the suite runs at any clock
    while its fixed-time batches live on REFERENCE_TIME's day. A later clock is left alone."""
    from django.utils import timezone

    if moment.tzinfo is None or timezone.now() >= moment:  # a naive time is refused anyway
        return nullcontext()
    return time_machine.travel(moment, tick=False)


def record_qc_results(batch, values="passing", *, actor=None, skip=(), performed_at=None):
    """Record QC results on `batch` through qc_result_record; returns them in order.

    `values` is "passing" (every release test passing, for the batch's method) or a dict
    {test code: value} recorded as given. `skip` leaves those tests out. The analyst is `actor`,
    by default the batch's operator; `performed_at` defaults to 15 min after EOS.
    """
    from qc.services.results import qc_result_record

    if values == "passing":
        values = dict(PASSING_RELEASE_VALUES)
        if batch.method == "kit":
            del values["ethanol"]  # not a test of a kit preparation
            values["ph"] = 3.5  # within the kit's pH range
    actor = actor or batch.operator
    performed_at = performed_at or batch.eos_at + timedelta(minutes=15)
    with as_of(performed_at + timedelta(minutes=1)):
        return [
            qc_result_record(
                actor=actor,
                batch_id=batch.pk,
                test=code,
                value=value,
                performed_at=performed_at,
                instrument="ITLC scanner" if code.endswith("_itlc") else "",
            )
            for code, value in values.items()
            if code not in skip
        ]


# --- Synthesis batches -----------------------------------------------------------------------


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
    """A QC-pending batch recorded through batch_create (so the batch number and the derived
    numbers are the service's), with one 1000 MBq elution 10 min before the start unless
    `elutions=[...]` is given. Any other batch_create argument may be given (see batch_inputs).

    Options:
    - `operator=`: who records the batch (and its QC results); by default a new radiopharmacist.
    - `qc=`: QC results to record through qc_result_record: "passing" or {test code: value}
      (see record_qc_results); `skip=` leaves tests out; `qc_at=` is when they were performed
      (default EOS + 15 min).
    - `recorded_at=`: freeze the clock there while the batch and its results are recorded (the
      release tests record them at QC_TIME); by default the clock is left alone, unless the
      batch would end in the future (nothing is recorded before it happens): then it is recorded
      a minute after its last time, with the clock ticking from there.
    - `status=`: force a status afterwards, bypassing the services (tests only).
    """

    class Meta:
        model = "radiopharmacy.Batch"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from radiopharmacy.services.batches import batch_create

        operator = kwargs.pop("operator", None) or UserFactory(role="radiopharmacist")
        status = kwargs.pop("status", None)
        qc = kwargs.pop("qc", None)
        skip = kwargs.pop("skip", ())
        qc_at = kwargs.pop("qc_at", None)
        recorded_at = kwargs.pop("recorded_at", None)
        data = batch_inputs(**kwargs)
        latest = max(data["started_at"], data["eos_at"], data["measured_at"])
        if qc:
            latest = max(latest, qc_at or data["eos_at"] + timedelta(minutes=15))
        if recorded_at:
            clock = time_machine.travel(recorded_at, tick=False)
        elif latest > timezone.now():
            clock = time_machine.travel(latest + timedelta(minutes=1), tick=True)
        else:
            clock = nullcontext()
        with clock:
            if not data.get("elutions"):
                data["elutions"] = [
                    ElutionFactory(
                        eluted_at=data["started_at"] - timedelta(minutes=10), activity_mbq=1000.0
                    )
                ]
            batch = batch_create(actor=operator, **data)
            if qc:
                record_qc_results(batch, qc, actor=operator, skip=skip, performed_at=qc_at)
        if status:
            model_class.objects.filter(pk=batch.pk).update(status=status)
        batch.refresh_from_db()
        return batch


class ReleasedBatchFactory(factory.django.DjangoModelFactory):
    """A released batch row holding `concentration_at_eos_mbq_per_ml` × `volume_ml` at `eos_at`.

    Dose and plan tests need an exact concentration at an exact EOS, which batch_create would
    derive from an elution; so this one writes the row directly (no elution, no QC results, no
    audit entry). Anything about the batch record itself uses BatchFactory.
    """

    class Meta:
        model = "radiopharmacy.Batch"

    product = factory.LazyFunction(_site_product)
    sequence = factory.Sequence(lambda n: n + 1)
    production_date = factory.LazyAttribute(lambda o: site_date(o.eos_at))
    batch_number = factory.LazyAttribute(
        lambda o: f"{o.product.code}-{o.production_date:%Y%m%d}-{o.sequence:02d}"
    )
    method = "automated"
    operator = factory.SubFactory(UserFactory, role="radiopharmacist")
    eos_at = REFERENCE_TIME
    started_at = factory.LazyAttribute(lambda o: o.eos_at - timedelta(minutes=25))
    volume_ml = 10.0
    concentration_at_eos_mbq_per_ml = 200.0
    activity_at_eos_mbq = factory.LazyAttribute(
        lambda o: o.concentration_at_eos_mbq_per_ml * o.volume_ml
    )
    activity_mbq = factory.LazyAttribute(lambda o: o.activity_at_eos_mbq)
    measured_at = factory.LazyAttribute(lambda o: o.eos_at)
    expires_at = factory.LazyAttribute(
        lambda o: o.eos_at + timedelta(minutes=o.product.shelf_life_min)
    )
    status = "released"


# --- Bookings and doses ----------------------------------------------------------------------
# Plain rows; tests of the numbers go through scheduling.services so derived fields are computed.


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
    """An assigned dose row holding `volume_to_draw_ml` of its batch (numbers not computed: use
    the dose_assign service for that)."""

    class Meta:
        model = "scheduling.Dose"

    booking = factory.SubFactory(BookingFactory, status="dose_assigned")
    batch = factory.SubFactory(ReleasedBatchFactory)
    draw_at = factory.LazyAttribute(lambda o: o.booking.injection_at - timedelta(minutes=10))
    activity_at_injection_planned_mbq = factory.LazyAttribute(
        lambda o: o.booking.prescribed_activity_mbq
    )
    activity_to_draw_mbq = factory.LazyAttribute(lambda o: o.booking.prescribed_activity_mbq)
    concentration_at_draw_mbq_per_ml = 100.0
    volume_to_draw_ml = factory.LazyAttribute(
        lambda o: o.activity_to_draw_mbq / o.concentration_at_draw_mbq_per_ml
    )
    allocated_volume_ul = factory.LazyAttribute(lambda o: round(o.volume_to_draw_ml * 1000))
    status = "assigned"
    assigned_by = factory.SubFactory(UserFactory, role="radiopharmacist")


def released_batch(*, operator, qualified_person, comment: str = ""):
    """A batch with passing QC released by `qualified_person` (through the release service, at
    the clock's time: see the `at_release_time` fixture); its release signature."""
    from qc.models import BatchSignature
    from qc.services.release import batch_release

    batch = BatchFactory(operator=operator, qc="passing", recorded_at=QC_TIME)
    batch_release(
        batch_id=batch.pk,
        actor=qualified_person,
        password=TEST_PASSWORD,
        decision="release",
        comment=comment,
    )
    return BatchSignature.objects.select_related("batch").get(batch=batch)


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, each run of whitespace read as one space."""
    import io

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(bytes(data))).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())
