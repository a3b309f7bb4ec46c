"""Booking pages: the scheduler's day, booking a patient, and a booking's page with its
reschedule, cancel and missed forms.

Every form calls the same service as the API; a refusal is shown with its reasons and the form
keeps what was typed. Auditors (and other read-only roles) see no write control.
"""

from datetime import datetime, timedelta

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.core.sitetime import site_local
from radiopharmacy.selectors.products import default_product
from radiopharmacy.units import activity_unit, in_unit
from radiopharmacy.web.forms.common import apply_service_error
from scheduling import selectors
from scheduling.choices import BookingStatus
from scheduling.models import Booking
from scheduling.services import bookings as services
from scheduling.web.common import chosen_day, dose_figures
from scheduling.web.forms import BookingForm, ReasonForm, RescheduleForm


def _booking_or_404(pk: int) -> Booking:
    booking = selectors.booking_list().filter(pk=pk).first()
    if booking is None:
        raise Http404("No such booking")
    return booking


class BookingListView(RoleRequiredMixin, TemplateView):
    """The scheduler's day: bookings for one date in the site's zone."""

    permission_resource = "bookings"
    template_name = "scheduling/booking_list.html"

    def get_context_data(self, **kwargs):
        day = chosen_day(self.request)
        unit = activity_unit(self.request)
        bookings = list(selectors.booking_list(day=day))
        return super().get_context_data(
            day=day,
            previous_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            rows=[
                {"booking": b, "prescribed": in_unit(b.prescribed_activity_mbq, unit)}
                for b in bookings
            ],
            unit=unit,
            can_write=can(self.request.user, CHANGE, "bookings"),
            **kwargs,
        )


class BookingCreateView(RoleRequiredMixin, View):
    permission_resource = "bookings"
    permission_action = CHANGE  # the empty form is a write control too
    template_name = "scheduling/booking_form.html"

    def _render(self, request, form):
        product = default_product()
        return render(
            request,
            self.template_name,
            {"form": form, "product": product, "unit": form.unit},
        )

    def get(self, request):
        return self._render(request, BookingForm(unit=activity_unit(request)))

    def post(self, request):
        form = BookingForm(request.POST, unit=activity_unit(request))
        if form.is_valid():
            data = form.cleaned_data
            try:
                booking = services.booking_create(
                    actor=request.user,
                    patient_ref=data["patient_ref"],
                    weight_kg=data["weight_kg"],
                    injection_at=data["injection_at"],
                    prescribed_activity_mbq=data.get("prescribed_activity_mbq"),
                    tolerance_percent=data.get("tolerance_percent"),
                    notes=data.get("notes", ""),
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Booked {booking.patient_ref}: {booking.prescribed_activity_mbq:.1f} MBq.",
                )
                return HttpResponseRedirect(reverse("booking-detail", args=[booking.pk]))
        return self._render(request, form)


def _suggested_time(request) -> dict:
    """The plan page's suggested injection time (`?suggested=ISO`), to prefill a reschedule."""
    try:
        moment = datetime.fromisoformat(request.GET.get("suggested", ""))
    except ValueError:
        return {}
    if moment.tzinfo is None:
        return {}
    return {"injection_at": site_local(moment).replace(tzinfo=None, second=0, microsecond=0)}


class BookingDetailView(RoleRequiredMixin, View):
    permission_resource = "bookings"
    template_name = "scheduling/booking_detail.html"

    def render_page(
        self,
        request,
        booking,
        *,
        reschedule_form=None,
        cancel_form=None,
        missed_form=None,
        status=200,
    ):
        unit = activity_unit(request)
        dose = booking.active_dose
        open_booking = booking.status in (
            BookingStatus.BOOKED,
            BookingStatus.DOSE_ASSIGNED,
            BookingStatus.DISPENSED,
            BookingStatus.MISSED,
        )
        return render(
            request,
            self.template_name,
            {
                "booking": booking,
                "prescribed": in_unit(booking.prescribed_activity_mbq, unit),
                "unit": unit,
                "dose_info": dose_figures(dose, unit) if dose else None,
                "doses": booking.doses.select_related("batch").order_by("id"),
                "can_write": can(request.user, CHANGE, "bookings") and open_booking,
                "reschedule_form": reschedule_form
                or RescheduleForm(initial=_suggested_time(request)),
                "cancel_form": cancel_form or ReasonForm(),
                "missed_form": missed_form or ReasonForm(),
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self.render_page(request, _booking_or_404(pk))


class BookingRescheduleView(BookingDetailView):
    def post(self, request, pk: int):
        booking = _booking_or_404(pk)
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.booking_reschedule(
                    actor=request.user,
                    booking_id=pk,
                    injection_at=form.cleaned_data["injection_at"],
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Booking {booking.patient_ref} rescheduled.")
                return HttpResponseRedirect(reverse("booking-detail", args=[pk]))
        return self.render_page(request, booking, reschedule_form=form, status=400)


class BookingCancelView(BookingDetailView):
    """Cancel a booking with a reason (its undrawn dose gives its volume back)."""

    close = staticmethod(services.booking_cancel)
    done = "cancelled"
    form_name = "cancel_form"

    def post(self, request, pk: int):
        booking = _booking_or_404(pk)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                self.close(actor=request.user, booking_id=pk, reason=form.cleaned_data["reason"])
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, f"Booking {booking.patient_ref} {self.done}.")
                return HttpResponseRedirect(reverse("booking-detail", args=[pk]))
        return self.render_page(request, booking, status=400, **{self.form_name: form})


class BookingMissedView(BookingCancelView):
    """The patient did not attend: the booking is missed, with a reason."""

    close = staticmethod(services.booking_mark_missed)
    done = "marked as missed"
    form_name = "missed_form"
