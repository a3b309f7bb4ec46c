"""The home page: each of the user's roles sees its dashboard for today."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from radiopharmacy.core.roles import CHANGE, can, user_roles
from radiopharmacy.site.dashboards import alerts_for, dashboards_for
from radiopharmacy.units import activity_unit, in_unit


@login_required
def home(request):
    """The start page: each of the user's roles sees its dashboard for today."""
    unit = activity_unit(request)

    now = timezone.now()
    return render(
        request,
        "home.html",
        {
            "roles": user_roles(request.user),
            "now": now,
            "unit": unit,
            "panels": dashboards_for(
                request.user, now=now, unit_factor=lambda mbq: in_unit(mbq, unit)
            ),
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
