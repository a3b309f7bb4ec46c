"""Web pages of the foundation: the role-aware home page and the unit switch."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .roles import user_roles


@login_required
def home(request):
    """The start page: what each of the user's roles does today."""
    return render(request, "home.html", {"roles": user_roles(request.user)})


@login_required
@require_POST
def set_activity_unit(request):
    """Remember MBq or mCi for this user's session; values are always stored in MBq."""
    unit = request.POST.get("unit")
    if unit in ("MBq", "mCi"):
        request.session["activity_unit"] = unit
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)
