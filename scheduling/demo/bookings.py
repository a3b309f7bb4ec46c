"""Demo: today's bookings and, where a released batch allows, their doses (radiopharmacy.demo).

Today's patients are booked around today's batches, as a scheduler would: two patients after
each released batch (their doses assigned from it; those whose injection time has passed are
measured and administered), two after a batch still awaiting release (to be dosed once the QP
releases it), and three more later in the working day for the plan to serve (tomorrow morning
when the day is nearly over). The latest earlier day with a released batch gets a few patients
served from it, all administered, so the dose history is not empty.
Idempotent: a day that already has its demo bookings is left alone.
"""

import random
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_at, site_date, site_local
from radiopharmacy.models import Batch, SiteSettings
from scheduling.models import Booking
from scheduling.services.bookings import booking_create
from scheduling.services.doses import dose_administer, dose_assign, dose_measure

PAST_PATIENTS = 4
PER_BATCH_MINUTES = (45, 75)  # injections after a batch's end of synthesis
LATER_PATIENTS = 3
LATER_SPACING = timedelta(minutes=30)


def _ref(day: date, n: int) -> str:
    return f"P-{day:%Y%m%d}-{n:02d}"


def _round5(moment: datetime) -> datetime:
    """The moment in the site's zone, rounded down to 5 minutes (a plain replace, no arithmetic)."""
    local = site_local(moment)
    return local.replace(minute=local.minute - local.minute % 5, second=0, microsecond=0)


def _users():
    User = get_user_model()
    return (
        User.objects.filter(username="scheduler").first(),
        User.objects.filter(username="radiopharmacist").first(),
    )


def _released_batches(day: date) -> list[Batch]:
    return list(
        Batch.objects.filter(status=BatchStatus.RELEASED, production_date=day).order_by("eos_at")
    )


def _serve(booking: Booking, batches: list[Batch], *, rp, lead: timedelta, now, rng) -> bool:
    """Assign the booking to the first batch that can serve it; measure and administer it when
    its injection time has passed. Returns whether a dose was assigned."""
    draw_at = booking.injection_at - lead  # UTC arithmetic: both are aware UTC datetimes
    for batch in batches:
        try:
            dose = dose_assign(actor=rp, booking_id=booking.pk, batch_id=batch.pk, draw_at=draw_at)
        except ApplicationError:
            continue
        if booking.injection_at <= now:
            measured_at = draw_at + timedelta(minutes=2)
            syringe = physics.decay_activity(
                dose.activity_to_draw_mbq, from_time=draw_at, to_time=measured_at
            ) * rng.uniform(0.95, 1.05)
            dose_measure(
                actor=rp, dose_id=dose.pk, activity_mbq=round(syringe, 1), measured_at=measured_at
            )
            dose_administer(
                actor=rp,
                dose_id=dose.pk,
                injected_at=booking.injection_at + timedelta(minutes=rng.choice([0, 2, 4])),
                residual_activity_mbq=round(syringe * rng.uniform(0.01, 0.04), 1),
                residual_measured_at=booking.injection_at + timedelta(minutes=10),
            )
        return True
    return False


@transaction.atomic
def load_bookings(*, stdout) -> None:
    scheduler, rp = _users()
    if scheduler is None or rp is None:
        stdout.write("Bookings: demo scheduler or radiopharmacist missing, skipped.")
        return
    now = timezone.now()
    today = site_date(now)
    settings_row = SiteSettings.current()
    lead = timedelta(minutes=settings_row.draw_lead_time_min)
    rng = random.Random(today.toordinal())

    if Booking.objects.filter(patient_ref__startswith=_ref(today, 0)[:-2]).exists():
        stdout.write("Bookings: today's demo bookings exist, unchanged.")
        return

    day_end = site_at(today, settings_row.working_day_end)
    batches = _released_batches(today)
    awaiting = list(
        Batch.objects.filter(status=BatchStatus.QC_PENDING, production_date=today).order_by(
            "eos_at"
        )
    )
    times = [
        (_round5(batch.eos_at + timedelta(minutes=m)), batch)
        for batch in [*batches, *awaiting]
        for m in PER_BATCH_MINUTES
    ]
    # Later patients for the plan: from 2 h from now (time to elute, synthesise and test).
    start = settings_row.working_day_start
    first_of_day = site_at(today, start.replace(hour=start.hour + 2))
    first_later = max(_round5(now + timedelta(hours=2)), first_of_day)
    later_day = today
    if first_later + (LATER_PATIENTS - 1) * LATER_SPACING > day_end:
        later_day = today + timedelta(days=1)
        first_later = site_at(later_day, start.replace(hour=start.hour + 2))
    times += [(first_later + n * LATER_SPACING, None) for n in range(LATER_PATIENTS)]

    booked = served = 0
    for n, (injection_at, batch) in enumerate(sorted(times, key=lambda t: t[0]), start=1):
        booking = booking_create(
            actor=scheduler,
            patient_ref=_ref(today, n),
            weight_kg=float(rng.randint(55, 110)),
            injection_at=injection_at,
        )
        booked += 1
        if batch is not None and batch in batches:
            served += _serve(booking, [batch], rp=rp, lead=lead, now=now, rng=rng)
    later = "today" if later_day == today else "tomorrow"
    if not batches:
        stdout.write(
            f"Bookings: {booked} ({LATER_PATIENTS} later {later}); no released batch today, "
            "so no doses yet."
        )
    else:
        stdout.write(f"Bookings: {booked} ({LATER_PATIENTS} later {later}), {served} with a dose.")

    # The latest earlier day with a released batch: a few patients served from its first batch.
    past = (
        Batch.objects.filter(status=BatchStatus.RELEASED, production_date__lt=today)
        .order_by("-production_date")
        .values_list("production_date", flat=True)
        .first()
    )
    if past is None or Booking.objects.filter(patient_ref__startswith=_ref(past, 0)[:-2]).exists():
        return
    past_batches = _released_batches(past)
    first = past_batches[0]
    done = 0
    for n in range(1, PAST_PATIENTS + 1):
        injection_at = first.eos_at + timedelta(minutes=30 * n)
        if injection_at >= first.expires_at:
            break
        injection_at = _round5(injection_at)
        booking = booking_create(
            actor=scheduler,
            patient_ref=_ref(past, n),
            weight_kg=float(rng.randint(55, 110)),
            injection_at=injection_at,
        )
        if _serve(booking, past_batches, rp=rp, lead=lead, now=now, rng=rng):
            done += 1
    stdout.write(f"Bookings: {done} patient(s) served on {past:%Y-%m-%d} from {first}.")
