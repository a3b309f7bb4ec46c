"""Auditor pages: audit search, and OOS and recalls (UI.md "Auditor"), the register of quality
events that radiopharmacists and qualified persons use too. Read only."""

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.utils import timezone
from django.views.generic import TemplateView

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.models import AuditEvent, Batch
from radiopharmacy.web.forms.common import when

PAGE_SIZE = 50


class AuditSearchForm(forms.Form):
    """Filters of the audit trail; times are read in the site's zone."""

    object_type = forms.ChoiceField(required=False, label="Record type")
    object_id = forms.CharField(required=False, max_length=64, label="Record id")
    user = forms.CharField(required=False, max_length=150, label="User (username)")
    action = forms.ChoiceField(
        required=False, label="Action", choices=[("", "Any"), *AuditAction.choices]
    )
    since = when("From", required=False)
    until = when("Until", required=False)

    def __init__(self, *args, object_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "Any")] + [(t, t) for t in object_types]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Must be after the start.")
        return data


class AuditSearchView(RoleRequiredMixin, TemplateView):
    """Audit entries, newest first, filtered by record, user, action and time; 50 a page."""

    permission_resource = "audit"
    template_name = "radiopharmacy/audit_search.html"

    def get_context_data(self, **kwargs):
        object_types = (
            AuditEvent.objects.order_by("object_type")
            .values_list("object_type", flat=True)
            .distinct()
        )
        form = AuditSearchForm(self.request.GET or None, object_types=list(object_types))
        events = AuditEvent.objects.select_related("user").order_by("-id")
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if data["object_type"]:
                events = events.filter(object_type=data["object_type"])
            if data["object_id"]:
                events = events.filter(object_id=data["object_id"].strip())
            if data["user"]:
                events = events.filter(username=data["user"].strip())
            if data["action"]:
                events = events.filter(action=data["action"])
            if data["since"]:
                events = events.filter(occurred_at__gte=data["since"])
            if data["until"]:
                events = events.filter(occurred_at__lt=data["until"])
        elif form.is_bound:
            events = events.none()
        page = Paginator(events, PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(form=form, page=page, query=query.urlencode(), **kwargs)


class OosRecallsView(RoleRequiredMixin, TemplateView):
    """The OOS and deviation register (SPEC §2.4a): every quality event, filtered by status,
    kind, batch number and age, newest first; and the batches on hold or recalled with the
    doses to follow up."""

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
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if data["status"]:
                events = events.filter(status=data["status"])
            if data["kind"]:
                events = events.filter(kind=data["kind"])
            if data["batch"]:
                events = events.filter(batch__batch_number__icontains=data["batch"].strip())
            if data["older_than_days"] is not None:
                since = timezone.now() - timedelta(days=data["older_than_days"])
                events = events.filter(opened_at__lt=since)
        elif form.is_bound:
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
