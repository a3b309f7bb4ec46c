"""Accounts: who changed a user or a group, in the audit chain; tokens revoked; no deletion.

User, group and role changes are regulated (Annex 11 §12: who may do what is itself a record), so
every one of them, wherever it is made (the admin, a management command, the shell), appends an
entry to the hash-chained trail in the transaction of the change:

- a user created, changed (name, e-mail, staff, superuser), activated or deactivated;
- a password changed (never its hash), which also deletes every API token of the user;
- group membership and direct permissions added, removed or cleared (from either side);
- a group created or renamed, or its permissions changed.

The actor is the person of the request being served (`CurrentRequestMiddleware`), or "system"
outside a request. Users are deactivated, never deleted: a deletion raises `UserDeletionRefused`.
An account locked by django-axes (failed log-ins or signatures) is written to the trail too, and
its API tokens and the session of the request that locked it end.
"""

import contextvars
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction

security_log = logging.getLogger("gallium.security")

_current_request: contextvars.ContextVar = contextvars.ContextVar("gallium_request", default=None)

# The fields of a user the trail records (the password only as "changed", last_login never).
USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff")
USER_FIELDS_ALL = (*USER_FIELDS, "is_superuser")


class UserDeletionRefused(Exception):
    """Users are deactivated, never deleted: their name stays on what they signed."""


class CurrentRequestMiddleware:
    """Remembers the request being served, so signal receivers know who acts (and signatures
    have a request for the lockout even where a caller passes none)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_request():
    return _current_request.get()


def current_actor():
    request = current_request()
    user = getattr(request, "user", None) if request is not None else None
    return user if getattr(user, "is_authenticated", False) else None


def revoke_tokens(user) -> int:
    """Delete every API token of `user`; returns how many."""
    from knox.models import get_token_model

    deleted, _ = get_token_model().objects.filter(user=user).delete()
    return deleted


def _user_state(user) -> dict:
    return {name: getattr(user, name) for name in USER_FIELDS_ALL}


def _on_user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a log-in: not a change of the account
    old = sender.objects.filter(pk=instance.pk).values("password", *USER_FIELDS_ALL).first()
    if old is not None:
        # Django upgrading the hash of the same password at a log-in saves only the password,
        # with no new raw password pending (`set_password` leaves one until the save).
        old["rehash"] = (
            update_fields is not None
            and set(update_fields) == {"password"}
            and getattr(instance, "_password", None) is None
        )
    instance._gallium_before = old


def _on_user_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    actor = current_actor()
    if created:
        audit.record(
            actor=actor,
            action=AuditAction.USER_CREATED,
            obj=instance,
            changes=audit.diff({}, _user_state(instance)),
        )
        return
    before = instance.__dict__.pop("_gallium_before", None)
    if before is None:
        return
    after = _user_state(instance)
    if before["is_active"] != after["is_active"]:
        audit.record(
            actor=actor,
            action=AuditAction.USER_ACTIVATED
            if after["is_active"]
            else AuditAction.USER_DEACTIVATED,
            obj=instance,
            changes={"is_active": {"old": before["is_active"], "new": after["is_active"]}},
        )
        if not after["is_active"]:
            revoke_tokens(instance)
    changes = audit.diff(
        {k: before[k] for k in USER_FIELDS_ALL if k != "is_active"},
        {k: after[k] for k in USER_FIELDS_ALL if k != "is_active"},
    )
    if changes:
        audit.record(actor=actor, action=AuditAction.USER_CHANGED, obj=instance, changes=changes)
    if before["password"] != instance.password and not before["rehash"]:
        revoked = revoke_tokens(instance)
        audit.record(
            actor=actor,
            action=AuditAction.USER_PASSWORD_CHANGED,
            obj=instance,
            changes={"password": {"old": "(set)", "new": "(changed)"}},
            reason=f"{revoked} API token(s) revoked" if revoked else "",
        )


def _on_user_pre_delete(sender, instance, **kwargs):
    security_log.warning("refused to delete user %s", instance.get_username())
    raise UserDeletionRefused(
        f"User {instance.get_username()} cannot be deleted: deactivate the account instead."
    )


def record_refused_deletion(*, actor, user) -> None:
    """An audit entry of its own (committed now) for a refused deletion of `user`."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.USER_DELETE_REFUSED,
            obj=user,
            reason="users are deactivated, never deleted",
        )
    security_log.warning(
        "refused deletion of user %s by %s", user.get_username(), actor.get_username()
    )


# --- m2m: a user's groups and permissions, a group's permissions -----------------------------


def _names(manager_values) -> list[str]:
    return sorted(str(v) for v in manager_values)


def _user_roles_state(user) -> dict:
    return {
        "groups": _names(user.groups.values_list("name", flat=True)),
        "user_permissions": _names(
            user.user_permissions.values_list("content_type__app_label", "codename")
        ),
    }


_PRE = {"pre_add", "pre_remove", "pre_clear"}
_POST = {"post_add", "post_remove", "post_clear"}


def _on_user_m2m(sender, instance, action, reverse, model, pk_set, **kwargs):
    """`user.groups.add(g)` (forward) or `group.user_set.add(u)` (reverse) and the like: one
    entry per user whose groups or permissions changed, with the lists before and after."""
    if action not in _PRE | _POST:
        return
    User = get_user_model()
    if action in _PRE:
        if reverse:
            users = (
                User.objects.filter(pk__in=pk_set)
                if pk_set is not None
                else instance.user_set.all()
            )
        else:
            users = [instance]
        instance._gallium_roles_before = {user.pk: _user_roles_state(user) for user in users}
        return
    before_by_user = instance.__dict__.pop("_gallium_roles_before", {})
    users = User.objects.in_bulk(list(before_by_user)) if reverse else {instance.pk: instance}
    for pk, before in before_by_user.items():
        user = users.get(pk)
        if user is None:
            continue
        user.__dict__.pop("_gallium_roles", None)  # the roles cached for the request are stale
        changes = audit.diff(before, _user_roles_state(user))
        if changes:
            audit.record(
                actor=current_actor(),
                action=AuditAction.USER_ROLES_CHANGED,
                obj=user,
                changes=changes,
            )


def _group_permissions(group) -> list[str]:
    return _names(group.permissions.values_list("content_type__app_label", "codename"))


def _on_group_pre_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    instance._gallium_name_before = (
        sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    )


def _on_group_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    old = None if created else instance.__dict__.pop("_gallium_name_before", instance.name)
    if created or old != instance.name:
        audit.record(
            actor=current_actor(),
            action=AuditAction.GROUP_CHANGED,
            obj=instance,
            changes={"name": {"old": old, "new": instance.name}},
            reason="group created" if created else "group renamed",
        )


def _on_group_permissions(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in _PRE | _POST:
        return
    if action in _PRE:
        if reverse:  # instance is a permission
            groups = (
                Group.objects.filter(pk__in=pk_set)
                if pk_set is not None
                else instance.group_set.all()
            )
        else:
            groups = [instance]
        instance._gallium_perms_before = {g.pk: _group_permissions(g) for g in groups}
        return
    before_by_group = instance.__dict__.pop("_gallium_perms_before", {})
    groups = Group.objects.in_bulk(list(before_by_group)) if reverse else {instance.pk: instance}
    for pk, before in before_by_group.items():
        group = groups.get(pk)
        if group is None:
            continue
        changes = audit.diff({"permissions": before}, {"permissions": _group_permissions(group)})
        if changes:
            audit.record(
                actor=current_actor(), action=AuditAction.GROUP_CHANGED, obj=group, changes=changes
            )


# --- django-axes: an account locked -----------------------------------------------------------


def _on_user_locked_out(sender, request, username, ip_address=None, **kwargs):
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    http_request = getattr(request, "_request", request)
    failures = getattr(request, "axes_failures_since_start", None)
    just_locked = failures is None or failures <= settings.AXES_FAILURE_LIMIT
    if user is not None and just_locked:  # once, not for every refused attempt while locked
        with transaction.atomic():
            revoked = revoke_tokens(user)
            audit.record(
                actor=current_actor(),
                action=AuditAction.ACCOUNT_LOCKED,
                obj=user,
                reason="too many failed log-ins or signatures"
                + (f"; {revoked} API token(s) revoked" if revoked else ""),
            )
    security_log.warning("account %s locked out (address %s)", username, ip_address)
    session = getattr(http_request, "session", None)
    signed_in = getattr(getattr(http_request, "user", None), "pk", None)
    if session is not None and user is not None and signed_in == user.pk:
        session.flush()  # the workstation where the guessing happened is signed out


def connect() -> None:
    """Connect the receivers (radiopharmacy's AppConfig.ready)."""
    from axes.signals import user_locked_out

    User = get_user_model()
    pre_save.connect(_on_user_pre_save, sender=User, dispatch_uid="gallium-user-pre-save")
    post_save.connect(_on_user_post_save, sender=User, dispatch_uid="gallium-user-post-save")
    pre_delete.connect(_on_user_pre_delete, sender=User, dispatch_uid="gallium-user-pre-delete")
    m2m_changed.connect(
        _on_user_m2m, sender=User.groups.through, dispatch_uid="gallium-user-groups"
    )
    m2m_changed.connect(
        _on_user_m2m, sender=User.user_permissions.through, dispatch_uid="gallium-user-perms"
    )
    pre_save.connect(_on_group_pre_save, sender=Group, dispatch_uid="gallium-group-pre-save")
    post_save.connect(_on_group_post_save, sender=Group, dispatch_uid="gallium-group-save")
    m2m_changed.connect(
        _on_group_permissions, sender=Group.permissions.through, dispatch_uid="gallium-group-perms"
    )
    user_locked_out.connect(_on_user_locked_out, dispatch_uid="gallium-user-locked-out")


# --- Authenticator (TOTP) enrolment -----------------------------------------------------------


def otp_pending_device(user):
    """The user's authenticator being enrolled (unconfirmed), created on first call."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def otp_device_confirm(*, actor, device, token: str) -> bool:
    """Confirm an enrolment with a first code from the app; audited. False for a wrong code."""
    token = (token or "").strip().replace(" ", "")
    if device.user_id != actor.pk or not (token.isdigit() and len(token) <= 8):
        return False
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(
        actor=actor,
        action=AuditAction.OTP_DEVICE_ENROLLED,
        object_type=audit.object_type_of(actor),
        object_id=actor.pk,
        changes={"authenticator": {"old": None, "new": device.name}},
    )
    return True
