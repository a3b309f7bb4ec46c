"""The scheduler's Plan page: the day's runs as a timeline, their numbers, the unserved bookings,
and the compute / accept buttons (schedulers only; every other role reads).

The buttons call the same services as the API. The timeline is plain HTML/CSS: each bar is
positioned by its minutes since the start of the working day (no script, CSP-safe).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import Generator
from radiopharmacy.selectors.products import default_product
from radiopharmacy.units import activity_unit, in_unit
from scheduling.choices import PlanStatus
from scheduling.models import MAX_WEIGHT_KG, MIN_WEIGHT_KG, Booking, ProductionPlan
from scheduling.plan_inputs import parse_time, working_day
from scheduling.services import plans as services
from scheduling.services.bookings import prescribed_activity_for
from scheduling.web.common import chosen_day


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _page_url(day: date, generator_id: int | None, plan_id: int | None = None) -> str:
    query = {"date": day.isoformat()}
    if generator_id:
        query["generator"] = generator_id
    if plan_id:
        query["plan"] = plan_id
    return f"{reverse('plan-day')}?{urlencode(query)}"


class _Scale:
    """Positions on the working day's timeline, as percentages of its length."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.total = max(1.0, physics.elapsed_minutes(start, end))

    def pct(self, moment: datetime) -> float:
        value = 100.0 * physics.elapsed_minutes(self.start, moment) / self.total
        return round(min(100.0, max(0.0, value)), 3)

    def span(self, start: datetime, end: datetime) -> dict:
        left = self.pct(start)
        return {"left": left, "width": round(max(0.0, self.pct(end) - left), 3)}


def _timeline(day: date, plan: ProductionPlan | None, bookings: dict[int, Booking]) -> dict:
    start, end = working_day(day)
    scale = _Scale(start, end)
    zone = start.tzinfo
    ticks = []
    for hour in range(start.hour, end.hour + 1):
        moment = datetime.combine(day, time(hour), tzinfo=zone)
        if start <= moment <= end:
            ticks.append({"label": f"{hour:02d}:00", "left": scale.pct(moment)})
    rows = []
    unserved = []
    if plan is not None:
        for n, run in enumerate(plan.result["runs"], start=1):
            elution = parse_time(run["elution_at"])
            eos = parse_time(run["eos_at"])
            release = parse_time(run["release_at"])
            expiry = parse_time(run["expiry_at"])
            markers = []
            for dose in run["doses"]:
                booking = bookings.get(dose["booking"])
                ref = booking.patient_ref if booking else f"booking {dose['booking']}"
                draw = parse_time(dose["draw_at"])
                injection = parse_time(dose["injection_at"])
                markers.append(
                    {"kind": "draw", "left": scale.pct(draw), "title": f"{ref}: draw", "at": draw}
                )
                markers.append(
                    {
                        "kind": "injection",
                        "left": scale.pct(injection),
                        "title": f"{ref}: injection",
                        "at": injection,
                    }
                )
            rows.append(
                {
                    "label": f"Run {n}",
                    "synthesis": scale.span(elution, eos),
                    "qc": scale.span(eos, release),
                    "shelf": scale.span(release, expiry),
                    "elution": elution,
                    "eos": eos,
                    "release": release,
                    "expiry": expiry,
                    "markers": markers,
                }
            )
        for item in plan.result["unserved"]:
            booking = bookings.get(item["booking"])
            if booking is not None:
                unserved.append(
                    {
                        "left": scale.pct(booking.injection_at),
                        "title": f"{booking.patient_ref}: not served",
                        "at": booking.injection_at,
                    }
                )
    return {"start": start, "end": end, "ticks": ticks, "rows": rows, "unserved": unserved}


class PlanDayView(RoleRequiredMixin, TemplateView):
    """The day's production plan for one generator: timeline, runs, unserved bookings."""

    permission_resource = "plans"
    template_name = "scheduling/plan_day.html"

    def get_context_data(self, **kwargs):
        request = self.request
        day = chosen_day(request)
        unit = activity_unit(request)
        generators = list(
            Generator.objects.filter(status=GeneratorStatus.IN_USE).order_by("-calibrated_at", "id")
        )
        generator_id = _int(request.GET.get("generator"))
        generator = next((g for g in generators if g.pk == generator_id), None)
        if generator is None and generator_id:
            generator = Generator.objects.filter(pk=generator_id).first()
        if generator is None and generators:
            # Open on the generator that has the day's accepted plan, else any plan of the day.
            open_plans = ProductionPlan.objects.filter(date=day, what_if=False).exclude(
                status=PlanStatus.SUPERSEDED
            )
            accepted_ids = set(
                open_plans.filter(status=PlanStatus.ACCEPTED).values_list("generator_id", flat=True)
            )
            planned_ids = set(open_plans.values_list("generator_id", flat=True))
            chosen = next((g for g in generators if g.pk in accepted_ids), None) or next(
                (g for g in generators if g.pk in planned_ids), None
            )
            generator = chosen or generators[0]
        plans = (
            list(
                ProductionPlan.objects.filter(date=day, generator=generator)
                .select_related("created_by", "accepted_by")
                .order_by("-id")
            )
            if generator
            else []
        )
        accepted = next((p for p in plans if p.status == PlanStatus.ACCEPTED), None)
        draft = next((p for p in plans if p.status == PlanStatus.DRAFT), None)
        wanted = _int(request.GET.get("plan"))
        plan = next((p for p in plans if p.pk == wanted), None) or draft or accepted
        planned_runs = {}
        if plan is not None and plan.status == PlanStatus.ACCEPTED:
            planned_runs = {
                r.sequence: r for r in plan.runs.select_related("batch").order_by("sequence")
            }
        booking_ids = set()
        if plan is not None:
            booking_ids = {b["booking_id"] for b in plan.inputs["bookings"]}
        bookings = Booking.objects.in_bulk(booking_ids)
        runs = []
        unserved = []
        if plan is not None:
            for n, run in enumerate(plan.result["runs"], start=1):
                doses = [
                    {
                        "booking": bookings.get(d["booking"]),
                        "booking_id": d["booking"],
                        "injection_at": parse_time(d["injection_at"]),
                        "draw_at": parse_time(d["draw_at"]),
                        "to_draw": in_unit(d["activity_to_draw_mbq"], unit),
                        "needed_at_eos": in_unit(d["activity_needed_at_eos_mbq"], unit),
                    }
                    for d in run["doses"]
                ]
                runs.append(
                    {
                        "n": n,
                        "elution_at": parse_time(run["elution_at"]),
                        "eos_at": parse_time(run["eos_at"]),
                        "release_at": parse_time(run["release_at"]),
                        "expiry_at": parse_time(run["expiry_at"]),
                        "at_eos": in_unit(run["expected_activity_at_eos_mbq"], unit),
                        "eluate": in_unit(run["expected_eluate_mbq"], unit),
                        "wasted": in_unit(run["wasted_activity_mbq"], unit),
                        "module": run.get("module", 1),
                        "margin": in_unit(run.get("margin_mbq", run["wasted_activity_mbq"]), unit),
                        "margin_percent": run.get("margin_percent"),
                        "probability": run.get("probability_all_served"),
                        "planned_run": planned_runs.get(n),
                        "doses": doses,
                        "explanation": run["explanation"],
                    }
                )
            for item in plan.result["unserved"]:
                suggested = item["suggested_injection_at"]
                unserved.append(
                    {
                        "booking": bookings.get(item["booking"]),
                        "booking_id": item["booking"],
                        "reason": item["reason"],
                        "suggested": parse_time(suggested) if suggested else None,
                    }
                )
        can_write = can(request.user, CHANGE, "plans")
        return super().get_context_data(
            day=day,
            previous_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            generators=generators,
            generator=generator,
            plans=plans,
            plan=plan,
            accepted=accepted,
            draft=draft,
            explanation=services.plan_explanation(plan) if plan else [],
            changes=services.plan_changes(plan, accepted) if plan else None,
            stock=[
                {
                    **use,
                    "available": parse_time(use["available_at"]),
                    "expires": parse_time(use["expires_at"]),
                    "doses": [
                        {
                            **d,
                            "booking_obj": bookings.get(d["booking"]),
                            "injection": parse_time(d["injection_at"]),
                        }
                        for d in use["doses"]
                    ],
                }
                for use in (plan.result.get("stock", []) if plan else [])
            ],
            runs=runs,
            unserved=unserved,
            timeline=_timeline(day, plan, bookings),
            unit=unit,
            can_write=can_write,
            can_accept=can_write
            and plan is not None
            and plan.status == PlanStatus.DRAFT
            and not plan.what_if,
            **kwargs,
        )


class PlanComputeView(RoleRequiredMixin, View):
    """POST: compute a draft plan for `date` and `generator`, then show it."""

    permission_resource = "plans"

    def post(self, request):
        raw_day = request.POST.get("date", "")
        generator_id = _int(request.POST.get("generator"))
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            messages.error(request, f"{raw_day or 'No date'} is not a date (YYYY-MM-DD).")
            return HttpResponseRedirect(reverse("plan-day"))
        try:
            plan = services.plan_compute(actor=request.user, date=day, generator_id=generator_id)
        except ApplicationError as exc:
            details = [m for msgs in exc.fields.values() for m in msgs] + getattr(
                exc, "blocking", []
            )
            messages.error(request, " ".join([exc.message, *details]))
            return HttpResponseRedirect(_page_url(day, generator_id))
        served = plan.result["objective"]["served"]
        kind = "Plan unchanged" if plan.status != PlanStatus.DRAFT else "Draft plan computed"
        messages.success(
            request,
            f"{kind}: {len(plan.result['runs'])} run(s) serve {served} of "
            f"{len(plan.inputs['bookings'])} booking(s).",
        )
        return HttpResponseRedirect(_page_url(day, plan.generator_id, plan.pk))


class PlanAcceptView(RoleRequiredMixin, View):
    """POST: accept a draft plan (its runs become planned batches)."""

    permission_resource = "plans"

    def post(self, request, pk: int):
        plan = ProductionPlan.objects.filter(pk=pk).first()
        try:
            plan = services.plan_accept(actor=request.user, plan_id=pk)
        except ApplicationError as exc:
            messages.error(request, " ".join([exc.message, *getattr(exc, "blocking", [])]))
            if plan is None:
                return HttpResponseRedirect(reverse("plan-day"))
            return HttpResponseRedirect(_page_url(plan.date, plan.generator_id, plan.pk))
        messages.success(
            request, f"Plan accepted: {len(plan.result['runs'])} planned batch(es) for the day."
        )
        return HttpResponseRedirect(_page_url(plan.date, plan.generator_id, plan.pk))


class PlanSlotsFragmentView(RoleRequiredMixin, View):
    """GET (htmx, the booking form): the injection times of the day typed in at which a new
    booking is served with no extra synthesis, and those that need one more (SPEC §2.7)."""

    permission_resource = "plans"
    template_name = "scheduling/plan_slots.html"

    def get(self, request):
        context = {"same": [], "more": [], "why": ""}
        raw = request.GET.get("injection_at", "")
        try:
            day = datetime.fromisoformat(raw).date() if raw else None
        except ValueError:
            day = None
        unit = activity_unit(request)
        prescribed = _float(request.GET.get("prescribed_activity_mbq"))
        if prescribed is not None and unit == "mCi":
            prescribed = physics.mci_to_mbq(prescribed)
        weight = _float(request.GET.get("weight_kg"))
        if prescribed is None and weight is not None and MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
            prescribed = prescribed_activity_for(default_product(), weight)
        generator = _generator_of_day(day) if day else None
        if day is None or prescribed is None or not 0 < prescribed <= 10000:
            context["why"] = "Type the weight (or the activity) and the day to see free times."
        elif generator is None:
            context["why"] = "No generator in use."
        else:
            try:
                result = services.plan_slots(
                    date=day, generator_id=generator.pk, prescribed_activity_mbq=prescribed
                )
            except ApplicationError as exc:
                context["why"] = exc.message
            else:
                context.update(
                    same=result["no_extra_synthesis"],
                    more=result["one_more_synthesis"],
                    generator=generator,
                    day=day,
                    prescribed=prescribed,
                )
        return render(request, self.template_name, context)


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _generator_of_day(day: date) -> Generator | None:
    """The generator with the day's accepted plan, else the newest in use."""
    accepted = (
        ProductionPlan.objects.filter(date=day, status=PlanStatus.ACCEPTED, what_if=False)
        .select_related("generator")
        .order_by("-id")
        .first()
    )
    if accepted is not None and accepted.generator.status == GeneratorStatus.IN_USE:
        return accepted.generator
    return (
        Generator.objects.filter(status=GeneratorStatus.IN_USE)
        .order_by("-calibrated_at", "id")
        .first()
    )
