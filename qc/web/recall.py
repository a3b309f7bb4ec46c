"""A released or held batch: the qualified person's recall or hold-lifting signature (on the
release page) and the printable look-back list with its CSV (SPEC §2.4a; UI.md "Holds and
recalls")."""

from datetime import datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from qc.api.recall import lookback_csv
from qc.models import Deviation
from qc.models.release import SIGNATURE_MEANINGS
from qc.services.recall import batch_recall, lift_hold_blockers, lookback
from qc.web.forms import RecallForm
from qc.web.release import ReleaseView
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.models import Batch

TIME_FIELDS = ("planned_injection_at", "draw_at", "drawn_at", "administered_at")


def _when(value):
    return datetime.fromisoformat(value) if value else None


class RecallView(ReleaseView):
    """POST: recall the batch or lift its hold, with password and reason; a refusal is shown
    on the release page with nothing signed."""

    permission_resource = "recall"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        form = RecallForm(request.POST)
        typed = {
            "decision": request.POST.get("decision", ""),
            "reason": request.POST.get("reason", ""),
        }
        try:
            if not form.is_valid():
                raise ApplicationError(
                    "Nothing was signed: give the reason and your password.",
                    fields={k: list(v) for k, v in form.errors.items()},
                )
            data = form.cleaned_data
            batch = batch_recall(
                batch_id=pk,
                actor=request.user,
                decision=data["decision"],
                reason=data["reason"],
                password=data["password"],
                otp_token=data["otp_token"],
                request=request,
            )
        except ApplicationError as exc:
            return self._page(request, pk, error=exc, recall_form=typed, status=exc.status_code)
        meaning = SIGNATURE_MEANINGS[data["decision"]]
        messages.success(
            request, f"{batch.batch_number}: {meaning}. The batch is {batch.get_status_display()}."
        )
        return redirect("qc-release", pk=pk)


class LookbackView(RoleRequiredMixin, View):
    """Every dose of the batch: patient reference, where it went, what was drawn and given."""

    permission_resource = "lookback"

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch.objects.select_related("product"), pk=pk)
        rows = []
        for row in lookback(batch):
            shown = dict(row)
            for field in TIME_FIELDS:
                shown[field] = _when(row[field])
            rows.append(shown)
        events = Deviation.objects.filter(batch=batch).order_by("id")
        return render(
            request,
            "qc/lookback.html",
            {
                "batch": batch,
                "rows": rows,
                "events": events,
                "signatures": batch.signatures.order_by("signed_at", "id"),
                "lift_blockers": lift_hold_blockers(batch) if batch.status == "on_hold" else [],
            },
        )


class LookbackCsvView(RoleRequiredMixin, View):
    """The look-back list as CSV, the same columns as the API's `?format=csv`."""

    permission_resource = "lookback"

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch, pk=pk)
        return lookback_csv(batch, lookback(batch))
