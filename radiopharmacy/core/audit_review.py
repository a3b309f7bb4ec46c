"""Audit-trail review (SPEC §2.8, EU GMP Annex 11 §9): an auditor or a qualified person reads a
period's entries (changes, corrections, refusals and signatures) and signs that they reviewed
them, with the one re-authentication of every signature (`signing.require_signature`).

The review stores what was seen (how many entries it listed, the id and hash of the last one),
so that an entry that later appears in a reviewed period is told apart. The signing is an
audit entry itself (AUDIT_REVIEWED). A period left unreviewed beyond
settings.AUDIT_REVIEW_INTERVAL_DAYS raises one alert (`audit_review_overdue_alerts`, beat).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from radiopharmacy.core import audit
from radiopharmacy.core.alerts import alert_raise
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.checks import bounded_text, not_future, to_utc
from radiopharmacy.core.errors import ApplicationError, NotAllowed, StateConflict
from radiopharmacy.core.models import Alert, AuditEvent, AuditReview
from radiopharmacy.core.roles import AUDITOR, QUALIFIED_PERSON, has_role
from radiopharmacy.core.signing import printed_name, require_signature
from radiopharmacy.core.sitetime import site_local

REVIEW_MEANING = "Audit trail reviewed"
OVERDUE_KIND = "audit_review_overdue"

# What a review lists (SPEC §2.8 "filtered to changes, corrections, refusals and signatures"):
# a creation or a measurement is the record itself, which its own pages show and sign.
CHANGES = (
    AuditAction.CHANGED,
    AuditAction.STATUS_CHANGED,
    AuditAction.DELETED,
    AuditAction.CANCELLED,
    AuditAction.RESCHEDULED,
    AuditAction.DOSE_CANCELLED,
    AuditAction.MARKED_STALE,
    AuditAction.USER_CHANGED,
    AuditAction.USER_ROLES_CHANGED,
    AuditAction.USER_PASSWORD_CHANGED,
    AuditAction.USER_ACTIVATED,
    AuditAction.USER_DEACTIVATED,
    AuditAction.GROUP_CHANGED,
    AuditAction.OTP_DEVICE_ENROLLED,
    AuditAction.OTP_DEVICE_REMOVED,
)
CORRECTIONS = (AuditAction.CORRECTED, AuditAction.SUPERSEDED)
REFUSALS = (
    AuditAction.SIGNATURE_REAUTH_FAILED,
    AuditAction.ACCESS_DENIED,
    AuditAction.USER_DELETE_REFUSED,
    AuditAction.ACCOUNT_LOCKED,
    AuditAction.OUTBOX_JOB_FAILED,
)
SIGNATURES = (
    AuditAction.SIGNED,
    AuditAction.RELEASED,
    AuditAction.REJECTED,
    AuditAction.RECALLED,
    AuditAction.PUT_ON_HOLD,
    AuditAction.HOLD_LIFTED,
    AuditAction.DEVIATION_CLOSED,
    AuditAction.CAPA_VERIFIED,
    AuditAction.ACCEPTED,
    AuditAction.AUDIT_REVIEWED,
)
REVIEWED_ACTIONS = tuple(str(a) for a in (*CHANGES, *CORRECTIONS, *REFUSALS, *SIGNATURES))


def can_review(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and has_role(
        user, AUDITOR, QUALIFIED_PERSON
    )


def review_entries(period_start: datetime, period_end: datetime) -> QuerySet:
    """The entries a review of [period_start, period_end) lists, oldest first."""
    return (
        AuditEvent.objects.filter(
            occurred_at__gte=period_start,
            occurred_at__lt=period_end,
            action__in=REVIEWED_ACTIONS,
        )
        .select_related("user")
        .order_by("id")
    )


def review_period(period_start, period_end, *, now: datetime | None = None):
    """The period as UTC datetimes, or a 400 naming the field: both aware, the end after the
    start and not in the future (a review covers what already happened)."""
    start = to_utc(period_start, "period_start")
    end = to_utc(period_end, "period_end")
    if end <= start:
        raise ApplicationError(
            "The period ends before it starts.",
            fields={"period_end": ["Must be after the start of the period."]},
        )
    not_future(end, "period_end", "The end of the period", now=now)
    return start, end


def review_summary(period_start: datetime, period_end: datetime) -> tuple[int, int | None, str]:
    """(number of entries listed, id and hash of the last): what a signature attests."""
    entries = review_entries(period_start, period_end)
    last = entries.order_by("-id").values_list("id", "hash").first()
    return entries.count(), (last[0] if last else None), (last[1] if last else "")


def audit_review_sign(
    *,
    actor: User,
    password: str,
    period_start: datetime,
    period_end: datetime,
    note: str = "",
    expected_last_entry_id: int | None = None,
    otp_token: str = "",
    request=None,
) -> AuditReview:
    """Sign the review of a period's entries ("Audit trail reviewed").

    Refused with nothing signed: not an auditor or qualified person (403), wrong password or
    one-time code (403, logged), a bad period (400), or entries of the period that the page did
    not show (409: `expected_last_entry_id` is the last entry the reviewer saw). Call it outside
    a transaction.
    """
    if not can_review(actor):
        raise NotAllowed("Only an auditor or a qualified person signs an audit-trail review.")
    start, end = review_period(period_start, period_end)
    note = bounded_text(note, "note", "The note")
    require_signature(
        actor=actor,
        password=password,
        object_type=AuditReview._meta.label_lower,
        object_id="",
        what="an audit-trail review",
        changes={
            "period_start": {"old": None, "new": audit.jsonable(start)},
            "period_end": {"old": None, "new": audit.jsonable(end)},
        },
        otp_token=otp_token,
        request=request,
    )
    return _review_store(
        actor=actor, start=start, end=end, note=note, expected_last_entry_id=expected_last_entry_id
    )


@transaction.atomic
def _review_store(
    *, actor: User, start: datetime, end: datetime, note: str, expected_last_entry_id
) -> AuditReview:
    count, last_id, last_hash = review_summary(start, end)
    if expected_last_entry_id is not None and expected_last_entry_id != (last_id or 0):
        raise StateConflict(
            "The period's entries are not the ones shown: review them again. Nothing was signed.",
            blocking=[f"the last entry of the period is {last_id}, not {expected_last_entry_id}"],
        )
    review = AuditReview.objects.create(
        period_start=start,
        period_end=end,
        reviewer=actor,
        printed_name=printed_name(actor),
        meaning=REVIEW_MEANING,
        note=note,
        signed_at=timezone.now(),
        entry_count=count,
        last_entry_id=last_id,
        last_entry_hash=last_hash,
    )
    audit.record(
        actor=actor,
        action=AuditAction.AUDIT_REVIEWED,
        obj=review,
        changes=audit.created(review),
        reason=note,
    )
    return review


def coverage() -> list[tuple[datetime, datetime]]:
    """The reviewed time, as disjoint [start, end) spans in order (overlapping or adjoining
    reviews merged)."""
    spans: list[tuple[datetime, datetime]] = []
    periods = AuditReview.objects.order_by("period_start").values_list("period_start", "period_end")
    for start, end in periods:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def gaps() -> list[tuple[datetime, datetime]]:
    """Unreviewed spans between reviewed ones (before the first review: `overdue_since`)."""
    spans = coverage()
    return [(before[1], after[0]) for before, after in zip(spans, spans[1:], strict=False)]


def reviewed_until() -> datetime | None:
    """The end of the latest reviewed period."""
    return AuditReview.objects.aggregate(until=Max("period_end"))["until"]


def review_interval() -> timedelta:
    return timedelta(days=settings.AUDIT_REVIEW_INTERVAL_DAYS)


def oldest_unreviewed() -> AuditEvent | None:
    """The oldest entry that no signed review covers."""
    unreviewed = AuditEvent.objects.all()
    for start, end in coverage():
        unreviewed = unreviewed.exclude(occurred_at__gte=start, occurred_at__lt=end)
    return unreviewed.order_by("occurred_at", "id").only("id", "occurred_at").first()


def overdue_since(now: datetime | None = None) -> datetime | None:
    """The time of the oldest entry no review covers when it is older than the review interval
    (the review is overdue), else None."""
    oldest = oldest_unreviewed()
    if oldest is None or oldest.occurred_at > (now or timezone.now()) - review_interval():
        return None
    return oldest.occurred_at


def audit_review_overdue_alerts(now: datetime | None = None) -> int:
    """Raise one alert when an entry no review covers is older than the interval. Its key is
    that entry, so the job raises it once, and again only for the next unreviewed entry once a
    review has covered this one. Returns how many alerts were new (0 or 1)."""
    oldest = oldest_unreviewed()
    if oldest is None or oldest.occurred_at > (now or timezone.now()) - review_interval():
        return 0
    _, new = alert_raise(
        key=f"audit-review-overdue:{oldest.pk}",
        kind=OVERDUE_KIND,
        level=Alert.Level.WARNING,
        message=(
            f"Audit-trail review overdue: no signed review covers the entries from "
            f"{site_local(oldest.occurred_at):%Y-%m-%d %H:%M %Z} (entry {oldest.pk}), older than "
            f"{settings.AUDIT_REVIEW_INTERVAL_DAYS} days."
        ),
        object_type=AuditReview._meta.label_lower,
    )
    return int(new)
