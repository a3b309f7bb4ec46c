"""The Ge-68 breakthrough page of an elution (a QC test of the generator's eluate)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.urls import reverse

from qc.services.breakthrough import breakthrough_record
from qc.web.forms import BreakthroughForm
from radiopharmacy import physics
from radiopharmacy.models import Elution
from radiopharmacy.web.base import ServiceFormView


class BreakthroughCreateView(ServiceFormView):
    permission_resource = "elutions"
    template_name = "radiopharmacy/elution_breakthrough_form.html"
    form_class = BreakthroughForm

    def dispatch(self, request, *args, **kwargs):
        self.elution = get_object_or_404(
            Elution.objects.select_related("generator"), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            elution=self.elution,
            earliest=self.elution.eluted_at + physics.BREAKTHROUGH_MIN_DELAY,
            limit=physics.BREAKTHROUGH_LIMIT_PERCENT,
            **kwargs,
        )

    def perform(self, data):
        test = breakthrough_record(actor=self.request.user, elution_id=self.elution.pk, **data)
        if test.passed:
            messages.success(
                self.request,
                f"Breakthrough {test.breakthrough_percent:.5f} % — within the "
                f"{test.limit_percent:g} % limit.",
            )
        else:
            messages.error(
                self.request,
                f"Breakthrough {test.breakthrough_percent:.5f} % is over the "
                f"{test.limit_percent:g} % limit: the generator is in quarantine and the "
                "batches made from this elution are blocked.",
            )
        return test

    def get_success_url(self):
        return reverse("generator-detail", args=[self.elution.generator_id])
