"""Dose pages: the radiopharmacist's doses to draw, assignment from a batch, measure, administer,
cancel, and the syringe label.

Every form calls the same service as the API; a refusal is shown with its reasons and the form
keeps what was typed. Auditors (and other read-only roles) see no write control.
"""

from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.core.sitetime import site_day_bounds
from radiopharmacy.models import SiteSettings
from radiopharmacy.qr import qr_svg
from radiopharmacy.units import activity_unit
from radiopharmacy.web.forms.common import apply_service_error
from scheduling import selectors
from scheduling.choices import BookingStatus, DoseStatus
from scheduling.models import Booking, Dose
from scheduling.services import doses as services
from scheduling.web.common import chosen_day, dose_figures
from scheduling.web.forms import AdministerForm, DoseAssignForm, MeasureForm, ReasonForm


def _dose_or_404(pk: int) -> Dose:
    dose = (
        Dose.objects.select_related("booking", "booking__product", "batch", "batch__product")
        .filter(pk=pk)
        .first()
    )
    if dose is None:
        raise Http404("No such dose")
    return dose


class DoseListView(RoleRequiredMixin, TemplateView):
    """Doses to draw for a day: draw time, activity and volume to draw in big type."""

    permission_resource = "doses"
    template_name = "scheduling/dose_list.html"

    def get_context_data(self, **kwargs):
        day = chosen_day(self.request)
        unit = activity_unit(self.request)
        doses = [d for d in selectors.dose_list(day=day) if d.status != DoseStatus.CANCELLED]
        unassigned = list(selectors.booking_list(day=day, status=BookingStatus.BOOKED))
        return super().get_context_data(
            day=day,
            previous_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            to_draw=[dose_figures(d, unit) for d in doses if d.status == DoseStatus.ASSIGNED],
            done=[dose_figures(d, unit) for d in doses if d.status != DoseStatus.ASSIGNED],
            unassigned=unassigned,
            unit=unit,
            can_write=can(self.request.user, CHANGE, "doses"),
            **kwargs,
        )


def _assign_choices(day: date):
    bookings = [
        (
            b.pk,
            f"{b.patient_ref} · {timezone.localtime(b.injection_at):%H:%M %Z} · "
            f"{b.prescribed_activity_mbq:.0f} MBq",
        )
        for b in selectors.booking_list(day=day, status=BookingStatus.BOOKED)
    ]
    batches = [
        (
            b.pk,
            f"{b.batch_number} · EOS {timezone.localtime(b.eos_at):%H:%M} · "
            f"expires {timezone.localtime(b.expires_at):%H:%M %Z}",
        )
        for b in selectors.dispensable_batches(at=site_day_bounds(day)[0])
    ]
    return bookings, batches


class DoseAssignView(RoleRequiredMixin, View):
    permission_resource = "doses"
    permission_action = CHANGE
    template_name = "scheduling/dose_form.html"

    def _form(self, request, data=None):
        day = chosen_day(request)
        bookings, batches = _assign_choices(day)
        initial = {}
        booking_id = request.GET.get("booking")
        if booking_id and booking_id.isdigit():
            booking = Booking.objects.filter(pk=int(booking_id)).first()
            if booking is not None:
                lead = timedelta(minutes=SiteSettings.current().draw_lead_time_min)
                initial = {
                    "booking": booking.pk,
                    # Lead time subtracted in UTC, then shown in the site's zone.
                    "draw_at": timezone.localtime(booking.injection_at - lead),
                }
                if all(pk != booking.pk for pk, _ in bookings):
                    bookings.append((booking.pk, str(booking)))
        return DoseAssignForm(data, bookings=bookings, batches=batches, initial=initial), day

    def get(self, request):
        form, day = self._form(request)
        return render(request, self.template_name, {"form": form, "day": day})

    def post(self, request):
        form, day = self._form(request, request.POST)
        blocking = []
        if form.is_valid():
            try:
                dose = services.dose_assign(
                    actor=request.user,
                    booking_id=form.cleaned_data["booking"],
                    batch_id=form.cleaned_data["batch"],
                    draw_at=form.cleaned_data["draw_at"],
                )
            except ApplicationError as exc:
                blocking = getattr(exc, "blocking", [])
                if blocking:
                    form.add_error(None, exc.message)
                else:
                    apply_service_error(form, exc)
            else:
                messages.success(request, "Dose assigned.")
                return HttpResponseRedirect(reverse("dose-detail", args=[dose.pk]))
        return render(
            request,
            self.template_name,
            {"form": form, "day": day, "blocking": blocking},
            status=400 if blocking or form.errors else 200,
        )


class DoseAssignPreviewView(DoseAssignView):
    """The assignment form's preview (htmx, as the radiopharmacist types): the activity and the
    volume to draw, from `services.dose_preview` (the same numbers `dose_assign` would store),
    or why the dose cannot be drawn. Saves nothing."""

    template_name = "scheduling/_dose_preview.html"

    def get(self, request):
        form, _ = self._form(request, request.GET)
        context = {"unit": activity_unit(request), "preview": None, "blocking": []}
        if form.is_valid():
            try:
                preview = services.dose_preview(
                    booking_id=form.cleaned_data["booking"],
                    batch_id=form.cleaned_data["batch"],
                    draw_at=form.cleaned_data["draw_at"],
                )
            except ApplicationError as exc:
                context["blocking"] = getattr(exc, "blocking", None) or [exc.message]
            else:
                context.update(preview=preview["draw"], blocking=preview["blocking"])
                context["draw_at"] = form.cleaned_data["draw_at"]
        return render(request, self.template_name, context)


class DoseDetailView(RoleRequiredMixin, View):
    permission_resource = "doses"
    template_name = "scheduling/dose_detail.html"

    def render_page(self, request, dose, *, forms=None, status=200):
        unit = activity_unit(request)
        forms = forms or {}
        booking = dose.booking
        lead_initial = {"measured_at": timezone.localtime(), "injected_at": None}
        return render(
            request,
            self.template_name,
            {
                **dose_figures(dose, unit),
                "booking": booking,
                "unit": unit,
                "can_write": can(request.user, CHANGE, "doses"),
                "measure_form": forms.get("measure")
                or MeasureForm(unit=unit, initial={"measured_at": lead_initial["measured_at"]}),
                "administer_form": forms.get("administer")
                or AdministerForm(
                    unit=unit,
                    initial={
                        "injected_at": timezone.localtime(booking.injection_at),
                        "residual_measured_at": timezone.localtime(),
                    },
                ),
                "cancel_form": forms.get("cancel") or ReasonForm(),
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self.render_page(request, _dose_or_404(pk))


class DoseMeasureView(DoseDetailView):
    def post(self, request, pk: int):
        dose = _dose_or_404(pk)
        form = MeasureForm(request.POST, unit=activity_unit(request))
        if form.is_valid():
            try:
                dose = services.dose_measure(
                    actor=request.user,
                    dose_id=pk,
                    activity_mbq=form.cleaned_data["activity_mbq"],
                    measured_at=form.cleaned_data["measured_at"],
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                verdict = "within" if dose.within_tolerance else "OUTSIDE"
                level = messages.SUCCESS if dose.within_tolerance else messages.ERROR
                messages.add_message(
                    request,
                    level,
                    f"Syringe measured: {dose.activity_at_injection_mbq:.1f} MBq at injection "
                    f"({dose.deviation_percent:+.1f} %, {verdict} tolerance).",
                )
                return HttpResponseRedirect(reverse("dose-detail", args=[pk]))
        return self.render_page(request, dose, forms={"measure": form}, status=400)


class DoseAdministerView(DoseDetailView):
    def post(self, request, pk: int):
        dose = _dose_or_404(pk)
        form = AdministerForm(request.POST, unit=activity_unit(request))
        if form.is_valid():
            try:
                dose = services.dose_administer(
                    actor=request.user,
                    dose_id=pk,
                    injected_at=form.cleaned_data["injected_at"],
                    residual_activity_mbq=form.cleaned_data["residual_activity_mbq"],
                    residual_measured_at=form.cleaned_data["residual_measured_at"],
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Administered {dose.administered_activity_mbq:.1f} MBq.")
                return HttpResponseRedirect(reverse("dose-detail", args=[pk]))
        return self.render_page(request, dose, forms={"administer": form}, status=400)


class DoseCancelView(DoseDetailView):
    def post(self, request, pk: int):
        dose = _dose_or_404(pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.dose_cancel(
                    actor=request.user, dose_id=pk, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, "Dose cancelled; the booking can be given a new dose.")
                return HttpResponseRedirect(reverse("dose-detail", args=[pk]))
        return self.render_page(request, dose, forms={"cancel": form}, status=400)


class DoseLabelView(RoleRequiredMixin, TemplateView):
    """The printable syringe label."""

    permission_resource = "doses"
    template_name = "scheduling/label.html"

    def get_context_data(self, **kwargs):
        dose = _dose_or_404(self.kwargs["pk"])
        unit = activity_unit(self.request)
        return super().get_context_data(
            **dose_figures(dose, unit), unit=unit, label=label_figures(dose), **kwargs
        )


def dose_code(dose: Dose) -> str:
    """What the label's QR code holds: the dose id, prefixed so a scanner tells it apart."""
    return f"dose:{dose.pk}"


def label_figures(dose: Dose) -> dict:
    """The activity a syringe label prints (SPEC §2.6): the measured activity at its measurement
    time, or before measurement the calculated activity to draw at the draw time, marked so; in
    MBq always (the template adds mCi beside it when the user chose mCi). With the QR code."""
    measured = dose.measured_activity_mbq is not None
    return {
        "activity_mbq": dose.measured_activity_mbq if measured else dose.activity_to_draw_mbq,
        "reference_at": dose.measured_at if measured else dose.draw_at,
        "calculated": not measured,
        "site_name": settings.SITE_NAME,
        # markup of our own: numbers and an escaped label
        "qr": mark_safe(qr_svg(dose_code(dose), label=f"QR code of dose {dose.pk}")),
    }
