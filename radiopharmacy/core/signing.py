"""Electronic signatures: who signs, re-authentication and its failures (21 CFR 11.50/11.200).

Every signature of the product (a batch released, rejected, recalled or its hold lifted, a
quality event closed) re-authenticates the signer here, so a wrong password is counted and
logged the same way whatever is being signed:

- the password goes through Django's `authenticate`, so django-axes counts a wrong one like a
  failed log-in (AXES_FAILURE_LIMIT failures, log-ins and signatures together, lock the account
  for AXES_COOLOFF_TIME: that is the rate limit) and refuses a locked account even with the
  right password;
- a qualified person also gives a one-time code of their enrolled authenticator (TOTP,
  django-otp) when GALLIUM_SIGNATURE_OTP is on (SPEC §2.8: on in production, off in the demo); a
  wrong code counts towards the lockout too;
- each refusal is an audit entry of its own that stays, and nothing is signed.

Callers pass the request (`request=`, a Django or DRF request) and the code (`otp_token=`) they
received; without a request the one being served is used.
"""

import logging

from django.conf import settings
from django.contrib.auth import authenticate, user_login_failed
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import NotAllowed
from radiopharmacy.core.roles import QUALIFIED_PERSON, has_role

logger = logging.getLogger("gallium")


def printed_name(user) -> str:
    """The name printed with a signature: the full name, or the username when there is none."""
    return (user.get_full_name() or "").strip() or user.get_username()


def otp_required(actor) -> bool:
    """Whether `actor`'s signatures need a one-time code besides the password."""
    return bool(getattr(settings, "GALLIUM_SIGNATURE_OTP", False)) and has_role(
        actor, QUALIFIED_PERSON
    )


def has_otp_device(actor) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(actor, confirmed=True))


def _http_request(request) -> HttpRequest:
    """The Django request under a DRF one; the request being served, or a bare one (a service
    called from a command) so that the lockout still counts by username."""
    if request is None:
        from radiopharmacy.core.accounts import current_request

        request = current_request()
    if request is None:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
    return getattr(request, "_request", request)


def _locked_out(http_request, actor) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return bool(getattr(http_request, "axes_locked_out", False)) or AxesProxyHandler.is_locked(
        http_request, {"username": actor.get_username()}
    )


def reauthenticate(actor: User, password: str, *, request=None) -> bool:
    """Both components again (21 CFR 11.200): the signer's own account, active, and password.

    Through `authenticate`, so a failure counts towards the lockout and a locked account fails.
    """
    user = authenticate(
        _http_request(request), username=actor.get_username(), password=password or ""
    )
    return user is not None and user.pk == actor.pk


def verify_otp(actor: User, otp_token: str, *, request=None) -> bool:
    """The one-time code of one of `actor`'s confirmed devices (each code once; django-otp's
    throttling applies). A wrong code counts towards the lockout."""
    from django_otp import devices_for_user

    token = (otp_token or "").strip().replace(" ", "")
    if token.isdigit() and len(token) <= 8:
        with transaction.atomic():
            for device in devices_for_user(actor, confirmed=True, for_verify=True):
                if device.verify_token(token):
                    return True
    user_login_failed.send(
        sender=__name__,
        credentials={"username": actor.get_username()},
        request=_http_request(request),
    )
    return False


def log_failed_reauthentication(
    *,
    actor: User,
    object_type: str,
    object_id: int,
    what: str,
    changes: dict | None = None,
    cause: str = "wrong password",
) -> None:
    """Log a refused signature in an audit entry of its own that stays.

    Its own transaction, committed now: the refused signature rolls back, its log must not.
    Call it outside the signing transaction.
    """
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.SIGNATURE_REAUTH_FAILED,
            object_type=object_type,
            object_id=object_id,
            changes=changes or {},
            reason=f"{cause} when signing {what}; nothing was signed",
        )
    logger.warning(
        "failed re-authentication (%s) by %s signing %s %s",
        cause,
        actor.get_username(),
        object_type,
        object_id,
    )


LOCKED = (
    "The account is locked after too many failed log-ins or signatures: nothing was signed. "
    "Try again later or ask an administrator to unlock it."
)


def require_signature(
    *,
    actor: User,
    password: str,
    object_type: str,
    object_id: int,
    what: str,
    changes=None,
    otp_token: str = "",
    request=None,
) -> None:
    """Re-authenticate `actor` (password, and a one-time code where required) or raise
    NotAllowed (403) after logging the failure. Call it outside a transaction."""
    http_request = _http_request(request)
    failure = dict(actor=actor, object_type=object_type, object_id=object_id, what=what)
    was_locked = _locked_out(http_request, actor)
    if not reauthenticate(actor, password, request=http_request):
        locked = _locked_out(http_request, actor)
        cause = "locked account" if was_locked else "wrong password"
        if locked and not was_locked:
            cause += " (the account is now locked)"
        log_failed_reauthentication(**failure, changes=changes, cause=cause)
        if locked:
            raise NotAllowed(LOCKED, fields={"password": [LOCKED]})
        raise NotAllowed(
            "The password is not correct: nothing was signed.",
            fields={"password": ["The password is not correct."]},
        )
    if not otp_required(actor):
        return
    if not has_otp_device(actor):
        raise NotAllowed(
            "Your signature needs a one-time code: enrol an authenticator app first "
            "(Two-factor sign-in, /account/two-factor/). Nothing was signed.",
            fields={"otp_token": ["No authenticator is enrolled for your account."]},
        )
    if not verify_otp(actor, otp_token, request=http_request):
        locked = _locked_out(http_request, actor)
        cause = "wrong one-time code" + (" (the account is now locked)" if locked else "")
        log_failed_reauthentication(**failure, changes=changes, cause=cause)
        if locked:
            raise NotAllowed(LOCKED, fields={"otp_token": [LOCKED]})
        raise NotAllowed(
            "The one-time code is not correct: nothing was signed.",
            fields={"otp_token": ["The one-time code is not correct."]},
        )
