"""Pages for auditors and qualified persons: the inspector export of a batch (SPEC §2.10) and the
signed review of the audit trail (SPEC §2.8), with the list of reviews."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from radiopharmacy.core import audit_review as reviews
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.models import AuditReview
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.core.signing import otp_required
from radiopharmacy.models import Batch
from radiopharmacy.site.audit_trail import present
from radiopharmacy.site.inspector_export import inspector_export
from radiopharmacy.web.forms.common import long_text, signature_otp, signature_password, when

# A review lists at most this many entries on its page; a longer period is split by the
# reviewer (the page says so), so a page never grows without bound.
MAX_LISTED = 2000
PAGE_SIZE = 50


def zip_response(name: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class BatchInspectorExportView(RoleRequiredMixin, View):
    """GET: the batch's inspector export ZIP; a batch without a signed record goes back to its
    page with the reason."""

    permission_resource = "inspector_export"

    def get(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        try:
            name, data = inspector_export(batch_id=pk, actor=request.user)
        except StateConflict as exc:
            messages.error(request, exc.message)
            return redirect("batch-detail", pk=pk)
        return zip_response(name, data)


class PeriodForm(forms.Form):
    since = when("From")
    until = when("Until")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Must be after the start.")
        return data


class ReviewSignForm(forms.Form):
    note = long_text("Comment", required=False, rows=3)
    last_entry_id = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    password = signature_password()
    otp_token = signature_otp()


class AuditReviewView(RoleRequiredMixin, View):
    """GET ?since=&until=: the period's entries to review (changes, corrections, refusals and
    signatures); POST: sign the review with password (and one-time code where required)."""

    permission_resource = "audit_reviews"
    template_name = "radiopharmacy/audit_review.html"

    def get(self, request):
        return self._page(request, PeriodForm(request.GET or None))

    def post(self, request):
        period = PeriodForm(request.POST)
        sign = ReviewSignForm(request.POST)
        if not (period.is_valid() and sign.is_valid()):
            return self._page(request, period, sign, status=400)
        data = {**period.cleaned_data, **sign.cleaned_data}
        try:
            review = reviews.audit_review_sign(
                actor=request.user,
                password=data["password"],
                period_start=data["since"],
                period_end=data["until"],
                note=data["note"],
                expected_last_entry_id=data["last_entry_id"],
                otp_token=data["otp_token"],
                request=request,
            )
        except ApplicationError as exc:
            for field, errors in (exc.fields or {}).items():
                target = period if field in ("period_start", "period_end") else sign
                name = {"period_start": "since", "period_end": "until"}.get(field, field)
                for error in errors:
                    target.add_error(name if name in target.fields else None, error)
            messages.error(request, exc.message)
            if isinstance(exc, StateConflict):
                # The period changed under the page: show it again as it is now, to sign anew.
                sign, note = None, data["note"]
            else:
                note = ""
            return self._page(request, period, sign, note=note, status=exc.status_code)
        messages.success(
            request,
            f"Audit trail reviewed: {review.entry_count} entries, signed by {review.printed_name}.",
        )
        return redirect("audit-reviews")

    def _page(self, request, period, sign=None, *, note: str = "", status=200):
        context = {"form": period, "sign": sign, "otp_required": otp_required(request.user)}
        if period.is_bound and period.is_valid():
            start, end = period.cleaned_data["since"], period.cleaned_data["until"]
            try:
                reviews.review_period(start, end)
            except ApplicationError as exc:
                period.add_error("until", exc.fields.get("period_end", [exc.message])[0])
            else:
                count, last_id, _ = reviews.review_summary(start, end)
                context.update(
                    entries=present(reviews.review_entries(start, end)[:MAX_LISTED]),
                    count=count,
                    too_many=count > MAX_LISTED,
                    last_entry_id=last_id or 0,
                    can_sign=can(request.user, CHANGE, "audit_reviews") and count <= MAX_LISTED,
                    sign=sign
                    or ReviewSignForm(initial={"last_entry_id": last_id or 0, "note": note}),
                )
        return render(request, self.template_name, context, status=status)


class AuditReviewListView(RoleRequiredMixin, View):
    """The signed reviews, latest period first, with their coverage; and whether one is due."""

    permission_resource = "audit_reviews"

    def get(self, request):
        page = Paginator(
            AuditReview.objects.select_related("reviewer").order_by("-period_end", "-id"),
            PAGE_SIZE,
        ).get_page(request.GET.get("page"))
        return render(
            request,
            "radiopharmacy/audit_reviews.html",
            {
                "page": page,
                "overdue_since": reviews.overdue_since(),
                "reviewed_until": reviews.reviewed_until(),
                "gaps": reviews.gaps(),
                "interval_days": reviews.review_interval().days,
                "can_sign": can(request.user, CHANGE, "audit_reviews"),
            },
        )
