"""The one permission layer for both edges: a DRF permission class and a view mixin."""

import logging

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from rest_framework import permissions

from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.roles import CHANGE, VIEW, can

security_log = logging.getLogger("gallium.security")


def log_denial(user, *, resource: str, action: str, method: str, path: str) -> None:
    """Log a refused access and, for a write, leave an audit entry auditors can find."""
    security_log.warning(
        "denied %s %s to %s (%s %s)", action, resource, user.get_username(), method, path
    )
    if action == CHANGE:
        from radiopharmacy.core import audit

        audit.record(
            actor=user,
            action=AuditAction.ACCESS_DENIED,
            object_type=resource,
            object_id="",
            changes={"request": {"old": None, "new": f"{method} {path}"}},
            reason="write outside the user's role",
        )


def action_for_method(method: str) -> str:
    return VIEW if method in permissions.SAFE_METHODS else CHANGE


class RolePermission(permissions.BasePermission):
    """Allows a request when the user's roles grant the view's resource for that method.

    A view names its resource with `permission_resource`; `permission_resources_by_method`
    may name another one for some methods (the release endpoint is a write of "release").
    """

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        resource = getattr(view, "permission_resources_by_method", {}).get(
            request.method, getattr(view, "permission_resource", None)
        )
        if resource is None:
            raise RuntimeError(f"{type(view).__name__} names no permission_resource")
        action = action_for_method(request.method)
        if can(user, action, resource):
            return True
        log_denial(user, resource=resource, action=action, method=request.method, path=request.path)
        return False


class RoleRequiredMixin(LoginRequiredMixin):
    """Web views: the same rules as the API. GET needs `view`, POST needs `change`."""

    permission_resource: str = ""
    permission_action: str | None = None  # force an action whatever the method

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        action = self.permission_action or action_for_method(request.method)
        if not can(request.user, action, self.permission_resource):
            log_denial(
                request.user,
                resource=self.permission_resource,
                action=action,
                method=request.method,
                path=request.path,
            )
            raise PermissionDenied("Your role does not allow this.")
        return super().dispatch(request, *args, **kwargs)
