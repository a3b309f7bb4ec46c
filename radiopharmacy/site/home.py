"""Web pages of the foundation: the role-aware home dashboard and the unit switch."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from radiopharmacy import physics
from radiopharmacy.core.roles import CHANGE, can, user_roles
from radiopharmacy.models.preferences import ACTIVITY_UNITS, activity_unit_set
from radiopharmacy.site.dashboards import alerts_for, dashboards_for


@login_required
def home(request):
    """The start page: each of the user's roles sees its dashboard for today."""
    unit = request.session.get("activity_unit", "MBq")

    def in_unit(mbq):
        return physics.mbq_to_mci(mbq) if unit == "mCi" and mbq is not None else mbq

    now = timezone.now()
    return render(
        request,
        "home.html",
        {
            "roles": user_roles(request.user),
            "now": now,
            "unit": unit,
            "panels": dashboards_for(request.user, now=now, unit_factor=in_unit),
            "dashboard_alerts": alerts_for(request.user),
            "can_write_qc": can(request.user, CHANGE, "qc_results"),
            "plan_url": _plan_url() if can(request.user, CHANGE, "plans") else None,
        },
    )


def _plan_url() -> str | None:
    """The scheduling area's plan page, when it exists."""
    for name in ("plan-day", "plan-list", "plan"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


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
