from django.conf import settings

from .navigation import menu_for
from .roles import ROLE_LABELS, user_roles


def gallium(request):
    user = getattr(request, "user", None)
    roles = sorted(user_roles(user)) if user is not None else []
    session = getattr(request, "session", None)
    return {
        "site_time_zone": settings.SITE_TIME_ZONE,
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in roles],
        "menu": menu_for(user) if user is not None and user.is_authenticated else [],
        "activity_unit": session.get("activity_unit", "MBq") if session is not None else "MBq",
    }
