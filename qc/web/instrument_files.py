"""Radio-TLC import page of a batch: upload the scanner's report, review the peaks and the RCP
and colloid they give (nothing is saved), confirm to record them as QC results with the raw
file attached; download an attached report.

The reviewed file travels back with the confirmation (base64, with its SHA-256), so what is
recorded is byte for byte what was reviewed.
"""

import base64
import binascii

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from qc.instruments.radio_tlc import read_report, result_values
from qc.models import RadioTlcFile
from qc.services.instrument_files import radio_tlc_import
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.instrument_api import raw_file_response
from radiopharmacy.core.instrument_csv import MAX_FILE_BYTES, sha256
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from radiopharmacy.models import Batch
from radiopharmacy.web.forms.common import long_text, when

TEMPLATE = "qc/instruments/radio_tlc.html"


class RadioTlcForm(forms.Form):
    performed_at = when("Scanned at")
    instrument = forms.CharField(label="Scanner", required=False, max_length=120)
    reason = long_text("Reason (when the tests have results already)", required=False)
    file = forms.FileField(label="Radio-TLC report (CSV)", required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // 1000} kB.")
        return upload


class RadioTlcView(RoleRequiredMixin, View):
    """GET: the form. POST step=review: read the upload and show the review. POST
    step=confirm: record the reviewed file's results."""

    permission_resource = "qc_results"
    permission_action = CHANGE

    def dispatch(self, request, *args, **kwargs):
        self.batch = get_object_or_404(Batch, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def page(self, request, form, *, status=200, **context):
        context = {"batch": self.batch, "form": form, "step": "upload", **context}
        return render(request, TEMPLATE, context, status=status)

    def get(self, request, pk: int):
        now = timezone.localtime().replace(second=0, microsecond=0)
        return self.page(request, RadioTlcForm(initial={"performed_at": now}))

    def post(self, request, pk: int):
        form = RadioTlcForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(request, form, status=400)
        if request.POST.get("step") == "confirm":
            return self.confirm(request, form)
        upload = form.cleaned_data.get("file")
        if upload is None:
            form.add_error("file", "Upload the report.")
            return self.page(request, form, status=400)
        content = upload.read()
        try:
            return self.review(request, form, filename=upload.name, content=content)
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            return self.page(request, form, status=400)

    def review(self, request, form, *, filename, content, error="", status=200):
        report = read_report(content)
        return self.page(
            request,
            form,
            status=status,
            step="review",
            report=report,
            results=result_values(report),
            filename=filename,
            sha256=sha256(content),
            encoded=base64.b64encode(content).decode("ascii"),
            error=error,
        )

    def confirm(self, request, form):
        try:
            content = base64.b64decode(request.POST.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        if not content or sha256(content) != request.POST.get("sha256"):
            form.add_error("file", "The reviewed file did not come back intact: upload it again.")
            return self.page(request, form, status=400)
        filename = request.POST.get("filename", "")[:200]
        data = form.cleaned_data
        try:
            file, results = radio_tlc_import(
                actor=request.user,
                batch_id=self.batch.pk,
                filename=filename,
                content=content,
                performed_at=data["performed_at"],
                instrument=data["instrument"],
                reason=data["reason"],
            )
        except ApplicationError as exc:
            messages_text = exc.message + "".join(
                f" {', '.join(v)}" for v in exc.fields.values() if isinstance(v, list)
            )
            return self.review(
                request, form, filename=filename, content=content, error=messages_text, status=400
            )
        messages.success(
            request,
            "Recorded from the radio-TLC report: "
            + ", ".join(f"{r.test_code} {r.value_number:.2f} %" for r in results)
            + f" (SHA-256 {file.sha256[:12]}…).",
        )
        return HttpResponseRedirect(reverse("qc-entry", args=[self.batch.pk]))


class RadioTlcFileView(RoleRequiredMixin, View):
    """An attached radio-TLC report, as uploaded."""

    permission_resource = "qc_results"

    def get(self, request, pk: int):
        file = RadioTlcFile.objects.filter(pk=pk).first()
        if file is None:
            raise Http404("No such file")
        return raw_file_response(bytes(file.content), file.filename, file.sha256)
