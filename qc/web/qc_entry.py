"""QC entry page: the whole batch on one keyboard-first form (UI.md "QC of a batch on one
keyboard-first form"): Tab through the values, Enter saves every value typed in one POST, each
through `qc_result_record`. Live pass/fail per row in the browser (static/js/qc-entry.js) from
the limits of `qc.specs`; the htmx check (`QcEvaluateView`) and the one-result POST stay for
other clients.
"""

from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from qc.guards import release_blockers, release_warnings
from qc.models import QcResult
from qc.models.specs import QcStage
from qc.selectors import applicable_tests, latest_results, limit_for, spec_for_batch
from qc.services.results import analyst_last_methods, qc_result_record
from qc.specs import PASS_FAIL, evaluate, failure_text, fmt_number, limit_text, parse_value
from qc.web.forms import QcEntryRowForm, QcResultForm
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from radiopharmacy.models import Batch
from radiopharmacy.web.forms.common import apply_service_error

# The outcome of the last save, shown beside the form on the page the save redirects to.
SAVED_SESSION_KEY = "qc_entry_saved"
ACCEPTING = (BatchStatus.QC_PENDING, BatchStatus.RELEASED, BatchStatus.ON_HOLD)


def _shown(result: QcResult) -> str:
    return f"{result.value_display} {result.unit}".strip()


def result_message(result: QcResult) -> tuple[str, str]:
    """One sentence per saved result, and its level: "Appearance: pass — within
    specification", "RCP (ITLC): 94.0 % — out of specification: RCP 94.0 % is below the 95 %
    limit"; a correction shows the old and the new value and its reason."""
    name = result.spec_test.name
    shown = _shown(result)
    if result.supersedes_id:
        shown = f"{_shown(result.supersedes)} → {shown} (corrected: {result.reason})"
    if result.passed:
        limit = "" if result.spec_test.kind == PASS_FAIL else f" ({result.limit_text})"
        return "success", f"{name}: {shown} — within specification{limit}"
    return "error", f"{name}: {shown} — out of specification ({result.limit_text})"


def _limit_data(limit) -> dict:
    """What the live check in the browser needs to judge a typed value like qc.specs does."""
    return {
        "kind": limit.kind,
        "low": "" if limit.low is None else fmt_number(limit.low),
        "high": "" if limit.high is None else fmt_number(limit.high),
        "strict": "1" if limit.strict else "",
        "unit": limit.unit,
        "text": limit_text(limit),
    }


class QcEntryView(RoleRequiredMixin, TemplateView):
    permission_resource = "qc_results"
    permission_action = CHANGE
    template_name = "qc/qc_entry.html"

    def dispatch(self, request, *args, **kwargs):
        self.batch = get_object_or_404(Batch.objects.select_related("product"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def entry_tests(self):
        """The tests that can be entered now: post-release ones only once released."""
        batch = self.batch
        return [
            test
            for test in applicable_tests(spec_for_batch(batch), batch.method)
            if batch.status == BatchStatus.QC_PENDING or test.stage == QcStage.POST_RELEASE
        ]

    def rows(self, forms: dict | None = None):
        batch = self.batch
        latest = latest_results(batch)
        tests = self.entry_tests()
        remembered = analyst_last_methods(
            analyst=self.request.user, test_codes=[t.code for t in tests]
        )
        now = timezone.localtime().replace(second=0, microsecond=0)
        rows = []
        for test in tests:
            current = latest.get(test.code)
            form = (forms or {}).get(test.code)
            if form is None:
                # A correction keeps how the result was measured; a new result starts from what
                # this analyst last used for the test.
                how = (
                    {"instrument": current.instrument, "method_details": current.method_details}
                    if current
                    else remembered.get(test.code, {})
                )
                form = QcEntryRowForm(prefix=test.code, initial={"performed_at": now, **how})
            limit = limit_for(test, batch.product)
            rows.append(
                {
                    "test": test,
                    "limit": _limit_data(limit),
                    "limit_text": limit_text(limit),
                    "latest": current,
                    "form": form,
                }
            )
        return rows

    def get_context_data(self, forms=None, form_error="", **kwargs):
        saved = self.request.session.pop(f"{SAVED_SESSION_KEY}:{self.batch.pk}", None)
        return super().get_context_data(
            batch=self.batch,
            rows=self.rows(forms),
            saved=saved or [],
            form_error=form_error,
            blockers=release_blockers(self.batch),
            warnings=release_warnings(self.batch),
            accepting=self.batch.status in ACCEPTING,
            **kwargs,
        )

    def _saved(self, results) -> HttpResponseRedirect:
        """Remember what was saved for the next page and go back to the form, not the top."""
        lines = []
        for result in results:
            level, text = result_message(result)
            lines.append({"level": level, "text": text})
            if result.hold_doses is not None:
                lines.append(
                    {
                        "level": "error",
                        "text": f"Batch {self.batch.batch_number} is on hold; "
                        f"{len(result.hold_doses)} dose(s) in its look-back list. "
                        "The qualified person decides.",
                    }
                )
        self.request.session[f"{SAVED_SESSION_KEY}:{self.batch.pk}"] = lines
        return HttpResponseRedirect(reverse("qc-entry", args=[self.batch.pk]) + "#qc-saved")

    def _record(self, form, code: str) -> QcResult:
        data = form.cleaned_data
        return qc_result_record(
            actor=self.request.user,
            batch_id=self.batch.pk,
            test=code,
            value=data["value"],
            performed_at=data["performed_at"],
            # blank on a correction: keep the instrument and method of the result
            instrument=data["instrument"] or None,
            method_details=data["method_details"] or None,
            reason=data["reason"],
        )

    def post(self, request, *args, **kwargs):
        if "test" in request.POST:
            return self.post_one(request)
        tests = self.entry_tests()
        forms = {t.code: QcEntryRowForm(request.POST, prefix=t.code) for t in tests}
        typed = [code for code, form in forms.items() if form.data.get(f"{code}-value", "").strip()]
        if not typed:
            return self.render_to_response(
                self.get_context_data(forms=forms, form_error="Type at least one result."),
                status=400,
            )
        valid = all([forms[code].is_valid() for code in typed])  # every row's errors at once
        results = []
        if valid:
            # All or nothing: each result through the service (its own savepoint), and when one
            # is refused none is kept, so the form comes back with every value as typed.
            with transaction.atomic():
                for code in typed:
                    try:
                        results.append(self._record(forms[code], code))
                    except ApplicationError as error:
                        apply_service_error(forms[code], error)
                        valid = False
                if not valid:
                    transaction.set_rollback(True)
        if not valid:
            # rows left empty are shown again as they were, without errors
            for code in set(forms) - set(typed):
                forms[code] = QcEntryRowForm(
                    prefix=code,
                    initial={
                        name: request.POST.get(f"{code}-{name}", "")
                        for name in QcEntryRowForm.base_fields
                    },
                )
            return self.render_to_response(
                self.get_context_data(
                    forms=forms, form_error="Nothing was saved: correct the rows marked below."
                ),
                status=400,
            )
        return self._saved(results)

    def post_one(self, request):
        """One result (`test`, `value`, ...), as before the batch form: kept for scripts."""
        form = QcResultForm(request.POST)
        if form.is_valid():
            try:
                result = self._record(form, form.cleaned_data["test"])
            except ApplicationError as error:
                apply_service_error(form, error)
            else:
                return self._saved([result])
        code = request.POST.get("test", "")
        row = QcEntryRowForm(
            {f"{code}-{name}": request.POST.get(name, "") for name in QcEntryRowForm.base_fields},
            prefix=code,
        )
        row.full_clean()
        row._errors = form.errors  # the service's messages, shown beside the test's row
        detail = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return self.render_to_response(
            self.get_context_data(forms={code: row}, form_error=f"Nothing was saved. {detail}"),
            status=400,
        )


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
