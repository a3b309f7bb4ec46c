"""Auditor pages: audit search, and OOS and recalls (UI.md "Auditor"). Read only."""

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.views.generic import TemplateView

from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.permissions import RoleRequiredMixin
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
    """Every deviation (OOS, breakthrough, other) and every recalled batch with its doses."""

    permission_resource = "audit"
    template_name = "radiopharmacy/oos_recalls.html"

    def get_context_data(self, **kwargs):
        from qc.models import Deviation
        from scheduling.models import Dose

        deviations = Deviation.objects.select_related(
            "batch", "opened_by", "closed_by", "qc_result"
        ).order_by("-opened_at", "-id")[:200]
        recalled = (
            Batch.objects.filter(status=BatchStatus.RECALLED)
            .select_related("product")
            .prefetch_related(
                Prefetch(
                    "doses",
                    queryset=Dose.objects.select_related("booking").order_by("draw_at", "id"),
                )
            )
            .order_by("-eos_at")
        )
        return super().get_context_data(deviations=deviations, recalled=recalled, **kwargs)
