"""Generator pages: list, detail with the expected-eluate curve, and the write forms.

Every form calls the same service as the API; a refusal is shown next to its field and the form
keeps what was typed.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import keyset
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import Elution, Generator, SiteSettings
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.services import elutions as elution_services
from radiopharmacy.services import generators as services
from radiopharmacy.units import activity_unit, in_unit
from radiopharmacy.web.base import ServiceFormView
from radiopharmacy.web.forms.generators import (
    ElutionCorrectionForm,
    ElutionForm,
    GeneratorAcceptForm,
    GeneratorForm,
    GeneratorStatusForm,
)


class GeneratorListView(RoleRequiredMixin, TemplateView):
    permission_resource = "generators"
    template_name = "radiopharmacy/generator_list.html"

    def get_context_data(self, **kwargs):
        now = timezone.now()
        site = SiteSettings.current()
        unit = activity_unit(self.request)
        rows = []
        for generator in selectors.generator_list(status=self.request.GET.get("status") or None):
            prediction, no_prediction = selectors.shown_prediction(generator, at=now)
            rows.append(
                {
                    "generator": generator,
                    "warnings": selectors.generator_warnings(generator, now=now, site=site),
                    "expected_now": prediction and in_unit(prediction.expected_eluate_mbq, unit),
                    "no_prediction": no_prediction,
                    "efficiency": selectors.efficiency_percent(generator),
                    "elution_count": selectors.elution_count(generator),
                }
            )
        return super().get_context_data(
            rows=rows,
            now=now,
            unit=unit,
            statuses=GeneratorStatus.choices,
            status_filter=self.request.GET.get("status", ""),
            can_write=can(self.request.user, CHANGE, "generators"),
            **kwargs,
        )


# The generator page shows a page of its elutions, newest first (older ones a page at a time:
# about a week and a half at three a day), and the efficiency of the latest ones on its chart.
HISTORY_ROWS = 25
EFFICIENCY_CHART_POINTS = 60


class GeneratorDetailView(RoleRequiredMixin, TemplateView):
    permission_resource = "generators"
    template_name = "radiopharmacy/generator_detail.html"

    def get_context_data(self, **kwargs):
        try:
            generator = selectors.generator_get(generator_id=self.kwargs["pk"])
        except Generator.DoesNotExist:
            raise Http404("No such generator") from None
        now = timezone.now()
        unit = activity_unit(self.request)
        awaiting_acceptance = (
            generator.status == GeneratorStatus.QUARANTINE and generator.accepted_at is None
        )
        prediction, no_prediction = selectors.shown_prediction(generator, at=now)
        curve = (
            []
            if prediction is None
            else selectors.expected_eluate_curve(
                generator, start=now, hours=8, step_min=10, prediction_at_start=prediction
            )
        )
        # The latest elutions only: the page costs the same after a year of them.
        current = selectors.recent_elutions(generator, limit=EFFICIENCY_CHART_POINTS)
        chart = {
            "unit": unit,
            "labels": [timezone.localtime(at).strftime("%H:%M") for at, _ in curve],
            "expected": [round(in_unit(mbq, unit), 2) for _, mbq in curve],
            "efficiency_labels": [
                timezone.localtime(e.eluted_at).strftime("%d %b %H:%M") for e in current
            ],
            "efficiency": [round(e.efficiency_percent, 1) for e in current],
        }
        minimum = SiteSettings.current().min_efficiency_percent
        page = selectors.elution_history_page(
            generator,
            before=keyset.cursor(self.request.GET.get("before")),
            after=keyset.cursor(self.request.GET.get("after")),
            size=HISTORY_ROWS,
        )
        history = [
            {
                "elution": e,
                # as the dose calibrator read it, beside the decay-corrected value
                "measured": in_unit(e.activity_mbq, unit),
                "low_efficiency": e.efficiency_percent < minimum,
                "activity": in_unit(e.activity_at_elution_mbq, unit),
                "predicted": in_unit(e.predicted_on_column_mbq, unit),
                "breakthrough": next(iter(e.breakthrough_tests.all()), None),
                "superseded": hasattr(e, "superseded_by"),
                "breakthrough_due": e.eluted_at + physics.BREAKTHROUGH_MIN_DELAY <= now,
            }
            for e in page.entries
        ]
        return super().get_context_data(
            generator=generator,
            warnings=selectors.generator_warnings(generator, now=now),
            prediction=prediction,
            no_prediction=no_prediction,
            efficiency_percent=selectors.efficiency_percent(generator)
            if prediction is None
            else prediction.efficiency_percent,
            expected_now=prediction and in_unit(prediction.expected_eluate_mbq, unit),
            on_column_now=prediction and in_unit(prediction.ga68_on_column_mbq, unit),
            ge68_now=prediction and in_unit(prediction.ge68_activity_mbq, unit),
            efficiency_trend=[e.efficiency_percent for e in current[-10:]],
            history=history,
            history_page=page,
            min_efficiency_percent=minimum,
            chart=chart,
            unit=unit,
            now=now,
            can_write=can(self.request.user, CHANGE, "generators"),
            can_elute=can(self.request.user, CHANGE, "elutions")
            and (generator.status == GeneratorStatus.IN_USE or awaiting_acceptance),
            awaiting_acceptance=awaiting_acceptance,
            can_record_elution_results=can(self.request.user, CHANGE, "elutions"),
            **kwargs,
        )


class GeneratorCreateView(ServiceFormView):
    permission_resource = "generators"
    template_name = "radiopharmacy/generator_form.html"
    form_class = GeneratorForm

    def perform(self, data):
        values = {k: v for k, v in data.items() if v not in (None, "")}
        values.setdefault("model", "")
        generator = services.generator_register(actor=self.request.user, **values)
        messages.success(self.request, f"Generator {generator.serial_number} registered.")
        return generator

    def get_success_url(self):
        return reverse("generator-detail", args=[self.result.pk])


class GeneratorStatusView(ServiceFormView):
    permission_resource = "generators"
    template_name = "radiopharmacy/generator_status_form.html"
    form_class = GeneratorStatusForm

    def dispatch(self, request, *args, **kwargs):
        self.generator = get_object_or_404(Generator, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(generator=self.generator, **kwargs)

    def perform(self, data):
        generator = services.generator_set_status(
            actor=self.request.user, generator_id=self.generator.pk, **data
        )
        messages.success(self.request, f"Status is now {generator.get_status_display()}.")
        return generator

    def get_success_url(self):
        return reverse("generator-detail", args=[self.generator.pk])


class GeneratorAcceptView(ServiceFormView):
    """The receipt check of a generator in quarantine: accept it into use (SPEC §2.2)."""

    permission_resource = "generators"
    template_name = "radiopharmacy/generator_accept_form.html"
    form_class = GeneratorAcceptForm

    def dispatch(self, request, *args, **kwargs):
        self.generator = get_object_or_404(Generator, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        elutions = selectors.elutions_of(self.generator)
        return super().get_context_data(
            generator=self.generator, first_elution=elutions[0] if elutions else None, **kwargs
        )

    def perform(self, data):
        generator = services.generator_accept(
            actor=self.request.user, generator_id=self.generator.pk, **data
        )
        messages.success(self.request, f"Generator {generator.serial_number} accepted into use.")
        return generator

    def get_success_url(self):
        return reverse("generator-detail", args=[self.generator.pk])


class ElutionCreateView(ServiceFormView):
    permission_resource = "elutions"
    template_name = "radiopharmacy/elution_form.html"
    form_class = ElutionForm

    def dispatch(self, request, *args, **kwargs):
        self.generator = get_object_or_404(Generator, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        last = (
            selectors.current_elutions_queryset()
            .filter(generator=self.generator)
            .order_by("-eluted_at", "-id")
            .first()
        )
        return {"eluent_lot": last.eluent_lot if last else "", "volume_ml": 5.0}

    def get_context_data(self, **kwargs):
        now = timezone.now()
        prediction, no_prediction = selectors.shown_prediction(self.generator, at=now)
        return super().get_context_data(
            generator=self.generator,
            expected_now=prediction
            and in_unit(prediction.expected_eluate_mbq, activity_unit(self.request)),
            no_prediction=no_prediction,
            unit=activity_unit(self.request),
            now=now,
            **kwargs,
        )

    def perform(self, data):
        elution = elution_services.elution_record(
            actor=self.request.user, generator_id=self.generator.pk, **data
        )
        messages.success(
            self.request,
            f"Elution recorded: {elution.activity_at_elution_mbq:.0f} MBq at elution, "
            f"efficiency {elution.efficiency_percent:.1f} %.",
        )
        warning = elution_services.elution_efficiency_warning(
            elution, min_efficiency_percent=SiteSettings.current().min_efficiency_percent
        )
        if warning:
            messages.warning(self.request, warning)
        return elution

    def get_success_url(self):
        return reverse("generator-detail", args=[self.generator.pk])


class ElutionCorrectionView(ServiceFormView):
    permission_resource = "elutions"
    template_name = "radiopharmacy/elution_correction_form.html"
    form_class = ElutionCorrectionForm

    def dispatch(self, request, *args, **kwargs):
        self.elution = get_object_or_404(
            Elution.objects.select_related("generator"), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        e = self.elution
        activity = in_unit(e.activity_mbq, activity_unit(self.request))
        return {
            "eluted_at": timezone.localtime(e.eluted_at),
            "activity_mbq": round(activity, 4),
            "measured_at": timezone.localtime(e.measured_at),
            "volume_ml": e.volume_ml,
            "eluent_lot": e.eluent_lot,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(elution=self.elution, **kwargs)

    def perform(self, data):
        new = elution_services.elution_correct(
            actor=self.request.user, elution_id=self.elution.pk, **data
        )
        messages.success(self.request, "Elution corrected; the original stays on record.")
        return new

    def get_success_url(self):
        return reverse("generator-detail", args=[self.elution.generator_id])
