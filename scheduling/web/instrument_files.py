"""Dose calibrator import pages: upload the CSV export, review the measurement each line would
record (nothing is saved), confirm the ticked ones; download a confirmed file.

The reviewed file travels back with the confirmation (base64, with its SHA-256), so what is
saved is byte for byte what was reviewed; the service reads and matches it again.
"""

import base64
import binascii

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.instrument_api import raw_file_response
from radiopharmacy.core.instrument_csv import MAX_FILE_BYTES, sha256
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from scheduling.instruments.dose_calibrator import propose, read_readings
from scheduling.models import DoseCalibratorFile
from scheduling.services.instrument_files import dose_calibrator_import

TEMPLATE = "scheduling/dose_calibrator_import.html"


class UploadForm(forms.Form):
    file = forms.FileField(label="Dose calibrator export (CSV)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // 1000} kB.")
        return upload


def _review(request, *, filename: str, content: bytes, error: str = "", status: int = 200):
    proposals = propose(read_readings(content))
    return render(
        request,
        TEMPLATE,
        {
            "step": "review",
            "filename": filename,
            "sha256": sha256(content),
            "encoded": base64.b64encode(content).decode("ascii"),
            "proposals": proposals,
            "proposed": [p for p in proposals if p.target],
            "error": error,
        },
        status=status,
    )


class DoseCalibratorImportView(RoleRequiredMixin, View):
    """Step 1 (upload) and step 2 (review) of a dose calibrator import."""

    permission_resource = "doses"
    permission_action = CHANGE  # only those who measure syringes see the upload form

    def get(self, request):
        return render(request, TEMPLATE, {"step": "upload", "form": UploadForm()})

    def post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, TEMPLATE, {"step": "upload", "form": form}, status=400)
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            return _review(request, filename=upload.name, content=content)
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            return render(request, TEMPLATE, {"step": "upload", "form": form}, status=400)


class DoseCalibratorConfirmView(RoleRequiredMixin, View):
    """Step 3: save the ticked measurements of the reviewed file."""

    permission_resource = "doses"

    def post(self, request):
        try:
            content = base64.b64decode(request.POST.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        if not content or sha256(content) != request.POST.get("sha256"):
            messages.error(request, "The reviewed file did not come back intact: upload it again.")
            return HttpResponseRedirect(reverse("dose-calibrator-import"))
        filename = request.POST.get("filename", "")[:200]
        accept = {}
        for value in request.POST.getlist("accept"):
            line, _, target = value.partition("|")
            if line.isdigit():
                accept[int(line)] = target
        try:
            file = dose_calibrator_import(
                actor=request.user, filename=filename, content=content, accept=accept
            )
        except ApplicationError as exc:
            try:
                return _review(
                    request, filename=filename, content=content, error=exc.message, status=400
                )
            except ApplicationError:  # the file itself no longer reads: start again
                messages.error(request, exc.message)
                return HttpResponseRedirect(reverse("dose-calibrator-import"))
        count = file.readings.count()
        messages.success(
            request,
            f"{count} measurement{'s' if count != 1 else ''} recorded from {file.filename} "
            f"(SHA-256 {file.sha256[:12]}…).",
        )
        return HttpResponseRedirect(reverse("dose-list"))


class DoseCalibratorFileView(RoleRequiredMixin, View):
    """A confirmed dose calibrator file, as uploaded."""

    permission_resource = "doses"

    def get(self, request, pk: int):
        file = DoseCalibratorFile.objects.filter(pk=pk).first()
        if file is None:
            raise Http404("No such file")
        return raw_file_response(bytes(file.content), file.filename, file.sha256)
