"""The display unit switch: MBq or mCi, remembered per user (values are always stored in MBq)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from radiopharmacy.models.preferences import ACTIVITY_UNITS, activity_unit_set


@login_required
@require_POST
def set_activity_unit(request):
    """Remember MBq or mCi for this user (and this session); values are always stored in MBq."""
    unit = request.POST.get("unit")
    if unit in ACTIVITY_UNITS:
        activity_unit_set(user=request.user, unit=unit)
        request.session["activity_unit"] = unit
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)
