"""Auditor pages: audit search, and OOS and recalls (UI.md "Auditor"), the register of quality
events that radiopharmacists and qualified persons use too. Read only."""

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.generic import TemplateView

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core import keyset
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import AuditEvent, Batch
from radiopharmacy.site import audit_trail
from radiopharmacy.web.forms.common import when

PAGE_SIZE = 50


class AuditSearchForm(forms.Form):
    """Filters of the audit trail (SPEC §2.8); times are read in the site's zone."""

    batch = forms.CharField(
        required=False,
        max_length=40,
        label="Batch number",
        help_text="The batch and every record linked to it.",
    )
    object_type = forms.ChoiceField(required=False, label="Record type")
    object_id = forms.CharField(required=False, max_length=64, label="Record id")
    user = forms.CharField(required=False, max_length=150, label="User (username)")
    action = forms.ChoiceField(
        required=False, label="Action", choices=[("", "Any"), *AuditAction.choices]
    )
    since = when("From", required=False)
    until = when("Until", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The vocabulary of record types, never the distinct values of the table.
        self.fields["object_type"].choices = [("", "Any")] + [
            (t.short, t.label) for t in audit_trail.record_types().values()
        ]

    def clean_batch(self):
        number = self.cleaned_data["batch"].strip()
        if not number:
            return None
        batch = audit_trail.find_batch(number)
        if batch is None:
            raise forms.ValidationError("No batch has this number.")
        return batch

    def clean_object_type(self):
        short = self.cleaned_data["object_type"]
        return audit_trail.record_types()[short].stored if short else ""

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Must be after the start.")
        return data

    def criteria(self) -> audit_trail.Criteria:
        return audit_trail.Criteria(**self.cleaned_data)


class AuditSearchView(RoleRequiredMixin, TemplateView):
    """Audit entries, newest first, filtered by batch, record, user, action and time; 50 a page
    by keyset (`before`/`after` an entry id); `export=csv`: every matching entry as CSV."""

    permission_resource = "audit"
    template_name = "radiopharmacy/audit_search.html"

    def _search(self):
        form = AuditSearchForm(self.request.GET or None)
        if not form.is_bound:
            return form, audit_trail.search(audit_trail.Criteria())
        if form.is_valid():
            return form, audit_trail.search(form.criteria())
        return form, AuditEvent.objects.none()

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            _, events = self._search()
            response = StreamingHttpResponse(
                audit_trail.csv_rows(events), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        form, events = self._search()
        page = audit_trail.keyset_page(
            events,
            before=keyset.cursor(self.request.GET.get("before")),
            after=keyset.cursor(self.request.GET.get("after")),
        )
        query = self.request.GET.copy()
        for key in ("before", "after", "export"):
            query.pop(key, None)
        batch = form.cleaned_data.get("batch") if form.is_bound and form.is_valid() else None
        return super().get_context_data(
            form=form,
            page=page,
            entries=audit_trail.present(page.entries),
            batch=batch,
            query=query.urlencode(),
            **kwargs,
        )


class OosRecallsView(RoleRequiredMixin, TemplateView):
    """The OOS and deviation register (SPEC §2.4a): the quality events not closed by default,
    every one (closed included) by the status filter, filtered by kind, batch number and age,
    newest first; and the batches on hold or recalled with the doses to follow up."""

    permission_resource = "deviations"
    template_name = "radiopharmacy/oos_recalls.html"

    def get_context_data(self, **kwargs):
        from qc.models import Deviation
        from qc.web.forms import QualityEventFilterForm
        from scheduling.models import Dose

        form = QualityEventFilterForm(
            self.request.GET or None,
            statuses=Deviation.Status.choices,
            kinds=Deviation.Kind.choices,
        )
        events = Deviation.objects.select_related("batch", "opened_by").order_by(
            "-opened_at", "-id"
        )
        if not form.is_bound:
            events = events.exclude(status=Deviation.Status.CLOSED)
        elif form.is_valid():
            data = form.cleaned_data
            if not data["status"]:
                events = events.exclude(status=Deviation.Status.CLOSED)
            elif data["status"] != form.ANY_STATUS:
                events = events.filter(status=data["status"])
            if data["kind"]:
                events = events.filter(kind=data["kind"])
            if data["batch"]:
                events = events.filter(batch__batch_number__icontains=data["batch"].strip())
            if data["older_than_days"] is not None:
                since = timezone.now() - timedelta(days=data["older_than_days"])
                events = events.filter(opened_at__lt=since)
        else:
            events = events.none()
        page = Paginator(events, PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        held = (
            Batch.objects.filter(status__in=[BatchStatus.ON_HOLD, BatchStatus.RECALLED])
            .select_related("product")
            .prefetch_related(
                Prefetch(
                    "doses",
                    queryset=Dose.objects.select_related("booking").order_by("draw_at", "id"),
                )
            )
            .order_by("-eos_at")
        )
        return super().get_context_data(
            form=form,
            page=page,
            query=query.urlencode(),
            now=timezone.now(),
            held=held,
            can_open=can(self.request.user, CHANGE, "deviations"),
            **kwargs,
        )
