"""Certificate pages: the PDF download, and the public verification page that the address on a
certificate and its QR code open (SPEC §2.5)."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from qc.api.certificates import certificate_response
from qc.models import Certificate, SignatureDecision
from qc.services.certificates import SHA256_MESSAGE, is_sha256, verification_data
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.core.permissions import RoleRequiredMixin


class CertificateDownloadView(RoleRequiredMixin, View):
    permission_resource = "certificates"

    def get(self, request, pk: int):
        certificate = Certificate.objects.filter(batch_id=pk).first()
        if certificate is None:
            raise Http404("No certificate (yet) for this batch.")
        try:
            return certificate_response(certificate, attachment=True)
        except StateConflict as exc:  # its file is missing or changed: refused, never served
            return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")


def verify(request, code: str = ""):
    """Public: anyone with the SHA-256 on a certificate (or in its QR code) can check it, no
    login needed. It shows what a patient-facing check needs, and no one's name."""
    code = (code or request.GET.get("code", "")).strip()[:200]
    if not code:
        return render(request, "qc/verify.html", {"code": "", "result": None})
    if not is_sha256(code):
        return render(
            request, "qc/verify.html", {"code": code, "error": SHA256_MESSAGE}, status=400
        )
    if not request.resolver_match.kwargs.get("code"):
        return redirect(reverse("verify", kwargs={"code": code.lower()}))
    result = verification_data(code)
    return render(
        request,
        "qc/verify.html",
        {
            "code": code,
            "result": result,
            "release": SignatureDecision.RELEASE,
            "recalled": result["batch_status"] == BatchStatus.RECALLED,
            "on_hold": result["batch_status"] == BatchStatus.ON_HOLD,
        },
        status=200 if result["valid"] else 404,
    )
