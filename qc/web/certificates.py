"""Certificate pages: the PDF download, and the public verification page that the address on a
certificate and its QR code open (SPEC §2.5)."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from qc.api.certificates import certificate_response
from qc.models import Certificate, SignatureDecision
from qc.services.certificates import verification_data
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.permissions import RoleRequiredMixin


class CertificateDownloadView(RoleRequiredMixin, View):
    permission_resource = "certificates"

    def get(self, request, pk: int):
        certificate = Certificate.objects.filter(batch_id=pk).first()
        if certificate is None:
            raise Http404("No certificate (yet) for this batch.")
        return certificate_response(certificate, attachment=True)


def verify(request, code: str = ""):
    """Public: anyone with the code on a certificate can check it, no login needed."""
    code = (code or request.GET.get("code", "")).strip()
    if not code:
        return render(request, "qc/verify.html", {"code": "", "result": None})
    if not request.resolver_match.kwargs.get("code"):
        return redirect(reverse("verify", kwargs={"code": code}))
    result = verification_data(code)
    return render(
        request,
        "qc/verify.html",
        {
            "code": code,
            "result": result,
            "release": SignatureDecision.RELEASE,
            "recalled": result["batch_status"] == BatchStatus.RECALLED,
        },
        status=200 if result["valid"] else 404,
    )
