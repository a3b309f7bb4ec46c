"""Electronic signatures: who signs, re-authentication and its failures (21 CFR 11.50/11.200).

Every signature of the product (a batch released, rejected, recalled or its hold lifted, a
quality event closed) re-authenticates the signer here, so a wrong password is counted and
logged the same way whatever is being signed.
"""

import logging

from django.contrib.auth.models import User
from django.db import transaction

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import NotAllowed

logger = logging.getLogger("gallium")


def printed_name(user) -> str:
    """The name printed with a signature: the full name, or the username when there is none."""
    return (user.get_full_name() or "").strip() or user.get_username()


def reauthenticate(actor: User, password: str) -> bool:
    """Both components again (21 CFR 11.200): the signer's own account, active, and password."""
    return bool(password) and actor.is_active and actor.check_password(password)


def log_failed_reauthentication(
    *, actor: User, object_type: str, object_id: int, what: str, changes: dict | None = None
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
            reason=f"wrong password when signing {what}; nothing was signed",
        )
    logger.warning(
        "failed re-authentication by %s signing %s %s", actor.get_username(), object_type, object_id
    )


def require_signature(
    *, actor: User, password: str, object_type: str, object_id: int, what: str, changes=None
) -> None:
    """Re-authenticate `actor` or raise NotAllowed (403) after logging the failure."""
    if not reauthenticate(actor, password):
        log_failed_reauthentication(
            actor=actor, object_type=object_type, object_id=object_id, what=what, changes=changes
        )
        raise NotAllowed(
            "The password is not correct: nothing was signed.",
            fields={"password": ["The password is not correct."]},
        )
