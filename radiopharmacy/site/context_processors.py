"""Template context of every page: roles, menu, activity unit, the alert strip."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from radiopharmacy.core.alerts import QUALIFIED_PERSON_ACKNOWLEDGES
from radiopharmacy.core.roles import CHANGE, ROLE_LABELS, can, user_roles
from radiopharmacy.models.preferences import activity_unit_of
from radiopharmacy.site.dashboards import alerts_for
from radiopharmacy.site.navigation import menu_for


def gallium(request):
    user = getattr(request, "user", None)
    roles = sorted(user_roles(user)) if user is not None else []
    session = getattr(request, "session", None)
    unit = session.get("activity_unit") if session is not None else None
    if unit is None and user is not None and user.is_authenticated:
        # Per user, not per session: the stored choice (copied into the session at login).
        unit = activity_unit_of(user)
        if session is not None:
            session["activity_unit"] = unit
    return {
        "site_time_zone": settings.SITE_TIME_ZONE,
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in roles],
        "menu": menu_for(user) if user is not None and user.is_authenticated else [],
        "activity_unit": unit or "MBq",
        # Lazy: the query runs only when a page renders the alert strip.
        "strip_alerts": SimpleLazyObject(lambda: _alerts(user)),
        "can_acknowledge_alerts": SimpleLazyObject(lambda: _can_acknowledge(user)),
        # a held or recalled batch's alert: only a qualified person acknowledges it
        "qp_acknowledged_alert_kinds": QUALIFIED_PERSON_ACKNOWLEDGES,
    }


def _alerts(user) -> list:
    if user is None or not user.is_authenticated:
        return []
    return alerts_for(user)


def _can_acknowledge(user) -> bool:
    return bool(user is not None and user.is_authenticated and can(user, CHANGE, "alerts"))
