"""Batch pages: list, record a synthesis, correct a record (the batch record page is the site's).

Forms call the same services as the API; a refusal is shown next to its field and the form
keeps what was typed. No write control is shown to a role that cannot write.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import keyset
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import Batch, SiteSettings
from radiopharmacy.selectors import batches as selectors
from radiopharmacy.services import batches as services
from radiopharmacy.services.elutions import batch_eluate_flags
from radiopharmacy.units import activity_unit, in_unit
from radiopharmacy.web.forms.batches import BatchCorrectionForm, BatchForm
from radiopharmacy.web.forms.common import apply_service_error

# Rows a page of the batch list shows: a screenful, about a week and a half at three a day; the
# older ones a page at a time (the rows' rendering is most of the page's cost).
PAGE_SIZE = 25


class BatchListView(RoleRequiredMixin, TemplateView):
    permission_resource = "batches"
    template_name = "radiopharmacy/batch_list.html"

    def get_context_data(self, **kwargs):
        batches = selectors.batches_for_list()
        status = self.request.GET.get("status", "")
        date = self.request.GET.get("date", "")
        number = self.request.GET.get("q", "").strip()
        if status in BatchStatus.values:
            batches = batches.filter(status=status)
        if date:
            try:
                batches = batches.filter(production_date=date)
            except Exception:  # noqa: BLE001 - a malformed date filters nothing
                date = ""
        if number:
            batches = batches.filter(batch_number__icontains=number)
        # Newest first on EOS, a page at a time by keyset (never OFFSET, nothing counts the table).
        page = keyset.keyset_page(
            batches,
            before=keyset.cursor(self.request.GET.get("before")),
            after=keyset.cursor(self.request.GET.get("after")),
            size=PAGE_SIZE,
            field="eos_at",
        )
        batches = page.entries
        query = self.request.GET.copy()
        for key in ("before", "after"):
            query.pop(key, None)
        minimum = SiteSettings.current().min_efficiency_percent
        for batch in batches:  # a flag in the row (SPEC §2.2): low efficiency, corrected eluate
            batch.eluate_flags = batch_eluate_flags(batch, min_efficiency_percent=minimum)
        return super().get_context_data(
            batches=batches,
            page=page,
            query=query.urlencode(),
            statuses=BatchStatus.choices,
            status_filter=status,
            date_filter=date,
            q=number,
            can_write=can(self.request.user, CHANGE, "batches"),
            **kwargs,
        )


class _BatchFormView(RoleRequiredMixin, FormView):
    permission_action = CHANGE
    permission_resource = "batches"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "unit": activity_unit(self.request)}

    def form_valid(self, form):
        try:
            self.result = self.perform(form)
        except ApplicationError as error:
            apply_service_error(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(reverse("batch-detail", args=[self.result.pk]))


class BatchCreateView(_BatchFormView):
    template_name = "radiopharmacy/batch_form.html"
    form_class = BatchForm

    def get_initial(self):
        now = timezone.localtime().replace(second=0, microsecond=0)
        return {"method": "automated", "eos_at": now, "measured_at": now}

    def perform(self, form):
        batch = services.batch_create(actor=self.request.user, **form.service_kwargs())
        messages.success(
            self.request,
            f"Batch {batch.batch_number} recorded: {batch.activity_at_eos_mbq:.0f} MBq at EOS, "
            "QC pending.",
        )
        return batch


class BatchCorrectionView(_BatchFormView):
    template_name = "radiopharmacy/batch_correction_form.html"
    form_class = BatchCorrectionForm

    def dispatch(self, request, *args, **kwargs):
        self.batch = get_object_or_404(Batch, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        b = self.batch
        return {
            "started_at": timezone.localtime(b.started_at),
            "eos_at": timezone.localtime(b.eos_at),
            "activity_mbq": in_unit(b.activity_mbq, activity_unit(self.request)),
            "measured_at": timezone.localtime(b.measured_at),
            "volume_ml": b.volume_ml,
            "module_name": b.module_name,
            "module_serial": b.module_serial,
            "kit_lot": b.kit_lot,
            "precursor_lot": b.precursor_lot,
            "precursor_mass_ug": b.precursor_mass_ug,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(batch=self.batch, **kwargs)

    def perform(self, form):
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        changes = {
            k: v
            for k, v in data.items()
            if (v if v is not None else None) != getattr(self.batch, k)
        }
        if not changes:
            raise ApplicationError("Change at least one value.")
        batch = services.batch_correct(
            actor=self.request.user, batch_id=self.batch.pk, changes=changes, reason=reason
        )
        messages.success(self.request, f"Batch {batch.batch_number} corrected.")
        return batch
