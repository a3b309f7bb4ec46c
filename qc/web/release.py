"""Release pages: awaiting release, the release page (sign) and released today (SPEC §2.5, §4;
UI.md "Qualified person").

Every role may look at release pages; only a qualified person sees the sign form, and a POST
from anyone else is a 403 (and logged) through RoleRequiredMixin.
"""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from qc.guards import generators_breakthrough_passed, release_blockers, release_warnings
from qc.models import BatchSignature, Certificate, Deviation, QcResult
from qc.record import qc_rows
from qc.selectors import prime_specs_in_force
from qc.services.certificates import release_signature
from qc.services.recall import lift_hold_blockers
from qc.services.release import DISPOSITION_DECISIONS, batch_record, batch_release
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, can
from radiopharmacy.core.signing import otp_required
from radiopharmacy.core.sitetime import site_day_bounds, site_today
from radiopharmacy.models import Batch, Elution, SiteSettings


def _batches_with_qc():
    return Batch.objects.select_related("product", "operator").prefetch_related(
        Prefetch("qc_results", queryset=QcResult.objects.order_by("id")),
        Prefetch("deviations", queryset=Deviation.objects.order_by("id")),
        Prefetch(
            "elutions",
            queryset=Elution.objects.select_related("generator", "superseded_by").order_by("id"),
        ),
    )


class AwaitingReleaseView(RoleRequiredMixin, View):
    """Batches waiting for a decision, each with what still blocks its release."""

    permission_resource = "release"

    def get(self, request):
        now = timezone.now()
        batches = list(_batches_with_qc().filter(status=BatchStatus.QC_PENDING).order_by("eos_at"))
        prime_specs_in_force(batches)
        site = SiteSettings.current()
        tested = generators_breakthrough_passed(batches)
        rows = [
            {
                "batch": b,
                "blocking": release_blockers(b, at=now),
                "warnings": release_warnings(b, site=site, breakthrough_passed=tested),
            }
            for b in batches
        ]
        return render(
            request,
            "qc/awaiting_release.html",
            {"rows": rows, "can_sign": can(request.user, CHANGE, "release")},
        )


class ReleaseView(RoleRequiredMixin, View):
    """The whole batch record on one screen, its blockers and the signature form."""

    permission_resource = "release"

    def get(self, request, pk: int):
        return self._page(request, pk)

    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        decision = request.POST.get("decision", "")
        comment = request.POST.get("comment", "")
        try:
            batch = batch_release(
                batch_id=pk,
                actor=request.user,
                password=request.POST.get("password", ""),
                decision=decision,
                comment=comment,
                otp_token=request.POST.get("otp_token", ""),
                request=request,
            )
        except ApplicationError as exc:
            # Nothing changed: show why, keep what was typed (never the password).
            return self._page(
                request,
                pk,
                error=exc,
                form={"decision": decision, "comment": comment},
                status=exc.status_code,
            )
        signature = release_signature(batch)
        messages.success(
            request,
            f"{batch.batch_number}: {signature.meaning}, signed by {signature.printed_name}.",
        )
        return redirect("qc-release", pk=batch.pk)

    def _page(self, request, pk, *, error=None, form=None, recall_form=None, status=200):
        batch = get_object_or_404(_batches_with_qc(), pk=pk)
        signature = release_signature(batch)
        record = batch_record(batch)
        blocking = release_blockers(batch) if batch.status == BatchStatus.QC_PENDING else []
        certificate = (
            Certificate.objects.filter(signature=signature).only("id", "sha256").first()
            if signature
            else None
        )
        context = {
            "batch": batch,
            "record": record,
            "qc": qc_rows(record),
            "blocking": blocking,
            "warnings": release_warnings(batch) if batch.status == BatchStatus.QC_PENDING else [],
            "signature": signature,
            "certificate": certificate,
            "can_sign": can(request.user, CHANGE, "release")
            and signature is None
            and batch.status == BatchStatus.QC_PENDING,
            "is_operator": batch.operator_id == request.user.pk,
            "error": error,
            # No meaning is preselected: the signer states it (21 CFR 11.50).
            "form": form or {"decision": "", "comment": ""},
            "decisions": DISPOSITION_DECISIONS,
            "otp_required": otp_required(request.user),
            # a released or held batch: the recall and hold-lifting signatures (SPEC §2.4a)
            "can_recall": can(request.user, CHANGE, "recall")
            and batch.status in (BatchStatus.RELEASED, BatchStatus.ON_HOLD),
            "lift_blockers": lift_hold_blockers(batch)
            if batch.status == BatchStatus.ON_HOLD
            else [],
            "recall_form": recall_form or {"decision": "", "reason": ""},
            # a held batch waits for the decision: its forms are open; a released one is
            # recalled in two steps (the link opens the form)
            "show_recall_form": batch.status == BatchStatus.ON_HOLD
            or request.GET.get("recall") == "1"
            or bool(recall_form),
        }
        return render(request, "qc/release.html", context, status=status)


class ReleasedTodayView(RoleRequiredMixin, View):
    """Today's decisions (in the site's zone): released and rejected batches with signatures."""

    permission_resource = "release"

    def get(self, request):
        start, end = site_day_bounds(site_today())
        signatures = (
            BatchSignature.objects.filter(
                decision__in=DISPOSITION_DECISIONS, signed_at__gte=start, signed_at__lt=end
            )
            .select_related("batch", "batch__certificate")
            .order_by("signed_at", "id")
        )
        return render(
            request,
            "qc/released_today.html",
            {"signatures": signatures, "today": start},
        )
