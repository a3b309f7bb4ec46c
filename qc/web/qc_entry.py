"""QC entry page: one row per test, live pass/fail as each value is typed (htmx)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from qc.guards import release_blockers
from qc.models.specs import QcStage
from qc.selectors import applicable_tests, latest_results, limit_for, spec_for_batch
from qc.services.results import qc_result_record
from qc.specs import evaluate, failure_text, limit_text, parse_value
from qc.web.forms import QcResultForm
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from radiopharmacy.models import Batch
from radiopharmacy.web.forms.common import apply_service_error


class QcEntryView(RoleRequiredMixin, TemplateView):
    permission_resource = "qc_results"
    permission_action = CHANGE
    template_name = "qc/qc_entry.html"

    def dispatch(self, request, *args, **kwargs):
        self.batch = get_object_or_404(Batch.objects.select_related("product"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def rows(self, bound: QcResultForm | None = None):
        batch = self.batch
        latest = latest_results(batch)
        now = timezone.localtime().replace(second=0, microsecond=0)
        rows = []
        for test in applicable_tests(spec_for_batch(batch), batch.method):
            if batch.status == BatchStatus.RELEASED and test.stage != QcStage.POST_RELEASE:
                continue
            if bound is not None and bound.data.get("test") == test.code:
                form = bound
            else:
                form = QcResultForm(initial={"test": test.code, "performed_at": now}, prefix=None)
            rows.append(
                {
                    "test": test,
                    "limit": limit_for(test, batch.product),
                    "latest": latest.get(test.code),
                    "form": form,
                }
            )
        return rows

    def get_context_data(self, bound=None, **kwargs):
        rows = self.rows(bound)
        for row in rows:
            row["limit_text"] = limit_text(row["limit"])
        return super().get_context_data(
            batch=self.batch,
            rows=rows,
            blockers=release_blockers(self.batch),
            accepting=self.batch.status
            in (BatchStatus.QC_PENDING, BatchStatus.RELEASED, BatchStatus.ON_HOLD),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = QcResultForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = qc_result_record(
                    actor=request.user,
                    batch_id=self.batch.pk,
                    test=data["test"],
                    value=data["value"],
                    performed_at=data["performed_at"],
                    # blank on a correction: keep the instrument and method of the result
                    instrument=data["instrument"] or None,
                    method_details=data["method_details"] or None,
                    reason=data["reason"],
                )
            except ApplicationError as error:
                apply_service_error(form, error)
            else:
                verdict = "passes" if result.passed else "FAILS"
                text = f"{result.spec_test.name}: {result.value_display} {result.unit} {verdict}"
                (messages.success if result.passed else messages.error)(
                    request, f"{text} ({result.limit_text})."
                )
                if result.hold_doses is not None:
                    messages.error(
                        request,
                        f"Batch {self.batch.batch_number} is on hold; "
                        f"{len(result.hold_doses)} dose(s) in its look-back list. "
                        "The qualified person decides.",
                    )
                return HttpResponseRedirect(reverse("qc-entry", args=[self.batch.pk]))
        return self.render_to_response(self.get_context_data(bound=form), status=400)


class QcEvaluateView(RoleRequiredMixin, TemplateView):
    """htmx: judge a typed value against the test's limit and answer a pass/fail chip."""

    permission_resource = "qc_results"

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch.objects.select_related("product"), pk=pk)
        code = request.GET.get("test", "")
        raw = request.GET.get("value", "").strip()
        test = next(
            (t for t in applicable_tests(spec_for_batch(batch), batch.method) if t.code == code),
            None,
        )
        context = {"state": "empty", "message": ""}
        if test is not None and raw:
            limit = limit_for(test, batch.product)
            try:
                evaluation = evaluate(limit, raw)
            except ValueError as exc:
                context = {"state": "invalid", "message": str(exc)}
            else:
                context = {
                    "state": "pass" if evaluation.passed else "fail",
                    "message": evaluation.limit_text
                    if evaluation.passed
                    else failure_text(test.name, limit, parse_value(limit, raw)),
                }
        elif test is None:
            context = {"state": "invalid", "message": "Unknown test."}
        return TemplateResponse(request, "qc/_qc_chip.html", context)
