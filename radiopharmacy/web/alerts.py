"""Small writes started from a dashboard: acknowledging an alert."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from radiopharmacy.core.alerts import alert_acknowledge
from radiopharmacy.core.errors import NotAllowed
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE
from radiopharmacy.models import Alert


class AlertAcknowledgeView(RoleRequiredMixin, View):
    """POST only: mark an alert seen by this user; it leaves the dashboards."""

    permission_resource = "alerts"
    permission_action = CHANGE
    http_method_names = ["post"]

    def post(self, request, pk: int):
        try:
            alert = alert_acknowledge(alert_id=pk, actor=request.user)
        except Alert.DoesNotExist:
            raise Http404("No such alert") from None
        except NotAllowed as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Alert acknowledged: {alert.message.splitlines()[0]}")
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        return HttpResponseRedirect(target)
