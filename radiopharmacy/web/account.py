"""The person's own account: enrolling an authenticator app for signatures (SPEC §2.8).

A qualified person signs with a one-time code besides the password where the site requires it
(GALLIUM_SIGNATURE_OTP). Here they enrol an app: scan the QR code (or type the key), then give
its first code. A lost authenticator is removed by an administrator; then a new one is enrolled.
"""

import base64

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views import View
from django_otp import devices_for_user
from reportlab.graphics import renderSVG
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing

from radiopharmacy.core import accounts
from radiopharmacy.core.roles import QUALIFIED_PERSON, has_role
from radiopharmacy.core.signing import otp_required


def qr_svg_data_uri(text: str, size: int = 220) -> str:
    """A QR code of `text` as an SVG data URI (served inline: no request, no CDN)."""
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    svg = renderSVG.drawToString(drawing)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


class TwoFactorView(LoginRequiredMixin, View):
    """Enrol (or see) the authenticator the person's signatures use."""

    template_name = "registration/two_factor.html"

    def _check(self, request):
        if not has_role(request.user, QUALIFIED_PERSON):
            raise PermissionDenied("Only qualified persons sign with a one-time code.")

    def get(self, request):
        self._check(request)
        return self._page(request)

    def post(self, request):
        self._check(request)
        if any(True for _ in devices_for_user(request.user, confirmed=True)):
            return redirect("two-factor")
        device = accounts.otp_pending_device(request.user)
        if accounts.otp_device_confirm(
            actor=request.user, device=device, token=request.POST.get("otp_token", "")
        ):
            messages.success(request, "Authenticator enrolled: your signatures now use its codes.")
            return redirect("two-factor")
        return self._page(request, error="The code is not correct: try the next one.", status=400)

    def _page(self, request, *, error="", status=200):
        confirmed = list(devices_for_user(request.user, confirmed=True))
        context = {"confirmed": confirmed, "required": otp_required(request.user), "error": error}
        if not confirmed:
            device = accounts.otp_pending_device(request.user)
            url = device.config_url
            context.update(
                {
                    "otpauth_url": url,
                    "qr": qr_svg_data_uri(url),
                    "secret": base64.b32encode(device.bin_key).decode("ascii"),
                }
            )
        return render(request, self.template_name, context, status=status)
