"""Batch pages: list, record a synthesis, the batch record, corrections, activity now.

Forms call the same services as the API; a refusal is shown next to its field and the form
keeps what was typed. No write control is shown to a role that cannot write.
"""

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import AuditEvent, Batch
from radiopharmacy.selectors import batches as selectors
from radiopharmacy.services import batches as services
from radiopharmacy.units import activity_unit, in_unit
from radiopharmacy.web.forms.batches import BatchCorrectionForm, BatchForm
from radiopharmacy.web.forms.generators import apply_service_error


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
        return super().get_context_data(
            batches=batches[:200],
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


def batch_audit_events(batch: Batch):
    """Audit entries of the batch and of everything linked to it, oldest first: its elutions,
    QC results, deviations, signatures, certificate, doses and their bookings."""
    from qc.models import BatchSignature, Certificate
    from scheduling.models import Dose

    def ids(queryset, field="pk"):
        return [str(pk) for pk in queryset.values_list(field, flat=True)]

    doses = Dose.objects.filter(batch=batch)
    return AuditEvent.objects.filter(
        Q(object_type="radiopharmacy.batch", object_id=str(batch.pk))
        | Q(object_type="radiopharmacy.elution", object_id__in=ids(batch.elutions.all()))
        | Q(object_type="qc.qcresult", object_id__in=ids(batch.qc_results.all()))
        | Q(object_type="qc.deviation", object_id__in=ids(batch.deviations.all()))
        | Q(
            object_type="qc.batchsignature",
            object_id__in=ids(BatchSignature.objects.filter(batch=batch)),
        )
        | Q(
            object_type="qc.certificate", object_id__in=ids(Certificate.objects.filter(batch=batch))
        )
        | Q(object_type="scheduling.dose", object_id__in=ids(doses))
        | Q(object_type="scheduling.booking", object_id__in=ids(doses, "booking_id"))
    ).order_by("id")


class BatchDetailView(RoleRequiredMixin, TemplateView):
    """The batch record: every field, derived numbers, QC, corrections, deviations, audit."""

    permission_resource = "batches"
    template_name = "radiopharmacy/batch_detail.html"

    def get_context_data(self, **kwargs):
        from qc.guards import release_blockers
        from qc.selectors import (
            applicable_tests,
            batch_qc_results,
            latest_results,
            limit_for,
            spec_for_batch,
        )
        from qc.specs import limit_text

        batch = get_object_or_404(selectors.batches_for_list(), pk=self.kwargs["pk"])
        now = timezone.now()
        spec = spec_for_batch(batch)
        results = list(batch_qc_results(batch))
        latest = latest_results(batch)
        qc_rows = [
            {
                "test": test,
                "result": latest.get(test.code),
                "limit_text": limit_text(limit_for(test, batch.product)),
            }
            for test in applicable_tests(spec, batch.method)
        ]
        events = list(batch_audit_events(batch))
        corrections = [e for e in events if e.action == "corrected"]
        user = self.request.user
        return super().get_context_data(
            batch=batch,
            now=now,
            unit=activity_unit(self.request),
            activity=selectors.batch_activity(batch, now),
            spec=spec,
            qc_rows=qc_rows,
            results=results,
            deviations=batch.deviations.select_related("opened_by", "closed_by").all(),
            corrections=corrections,
            events=events,
            blockers=release_blockers(batch, at=now),
            expired=now >= batch.expires_at,
            frozen=batch.status in services.FROZEN_STATUSES,
            can_write=can(user, CHANGE, "batches"),
            can_write_qc=can(user, CHANGE, "qc_results"),
            **kwargs,
        )


class BatchActivityNowView(RoleRequiredMixin, TemplateView):
    """htmx fragment: activity and concentration now, refreshed every 30 s on the record."""

    permission_resource = "batches"
    template_name = "radiopharmacy/batch_activity_now.html"

    def get_context_data(self, **kwargs):
        batch = get_object_or_404(Batch, pk=self.kwargs["pk"])
        now = timezone.now()
        return super().get_context_data(
            batch=batch,
            now=now,
            unit=activity_unit(self.request),
            activity=selectors.batch_activity(batch, now),
            **kwargs,
        )
