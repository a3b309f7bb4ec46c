"""Demo: the production plan for the demo generator, computed and accepted as the scheduler.

Runs after the bookings loader and plans the day of its "later" patients (today, or tomorrow
when today's working day is nearly over). Idempotent: a day that already has an accepted plan
for the generator is left alone.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core.sitetime import site_date, site_today
from radiopharmacy.demo.generators import DEMO_SERIAL
from radiopharmacy.models import Generator
from scheduling.choices import PlanStatus
from scheduling.models import Booking, ProductionPlan
from scheduling.services.plans import plan_accept, plan_compute


@transaction.atomic
def load_plan(*, stdout) -> None:
    scheduler = get_user_model().objects.filter(username="scheduler").first()
    generator = Generator.objects.filter(
        serial_number=DEMO_SERIAL, status=GeneratorStatus.IN_USE
    ).first()
    if scheduler is None or generator is None:
        stdout.write("Plan: demo scheduler or generator missing, skipped.")
        return
    today = site_today()
    last = Booking.objects.filter(injection_at__date__gte=today).order_by("-injection_at").first()
    day = site_date(last.injection_at) if last else today
    label = "today" if day == today else f"{day:%a %d %b}"
    if ProductionPlan.objects.filter(
        date=day, generator=generator, status=PlanStatus.ACCEPTED
    ).exists():
        stdout.write(f"Plan: the plan for {label} is accepted already, unchanged.")
        return
    plan = plan_compute(actor=scheduler, date=day, generator_id=generator.pk)
    plan_accept(actor=scheduler, plan_id=plan.pk)
    result = plan.result
    stdout.write(
        f"Plan: {len(result['runs'])} run(s) for {label} serve {result['objective']['served']} "
        f"of {len(plan.inputs['bookings'])} booking(s); accepted (plan {plan.pk})."
    )
