"""Reads for the home dashboards, one function per role (SPEC §4, UI.md "Pages by role").

Each gathers its data from the existing selectors in a number of queries that does not grow
with the number of rows (tests/radiopharmacy/test_dashboards.py asserts it). Nothing here writes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from qc.guards import release_blockers
from qc.models import BatchSignature, Deviation, QcResult
from qc.selectors import prime_specs_in_force
from qc.services.release import DISPOSITION_DECISIONS
from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core.alerts import open_alerts
from radiopharmacy.core.roles import (
    AUDITOR,
    QUALIFIED_PERSON,
    RADIOPHARMACIST,
    SCHEDULER,
    user_roles,
)
from radiopharmacy.core.sitetime import site_day_bounds, site_today
from radiopharmacy.models import Alert, AuditEvent, Batch, SiteSettings
from radiopharmacy.selectors import generators as generator_selectors
from scheduling.choices import BookingStatus, DoseStatus, PlannedRunStatus, PlanStatus
from scheduling.models import PlannedRun, ProductionPlan
from scheduling.selectors import booking_list, dose_list

# Which roles an alert kind concerns; a kind not listed is shown to every role but auditors.
ALERT_ROLES: dict[str, set[str]] = {
    "audit_chain_broken": {AUDITOR, QUALIFIED_PERSON},
    "sterility_overdue": {RADIOPHARMACIST, QUALIFIED_PERSON},
    "breakthrough_overdue": {RADIOPHARMACIST, QUALIFIED_PERSON},
    "batch_expiring": {RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER},
    "batch_expired_unreleased": {RADIOPHARMACIST, QUALIFIED_PERSON},
}
DEFAULT_ALERT_ROLES = {RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER}


def alerts_for(user, *, limit: int = 20) -> list[Alert]:
    """Open alerts relevant to the user's roles, critical first (what endangers a patient, e.g.
    a batch on hold with doses out), then newest first (one query)."""
    roles = user_roles(user)
    if not roles:
        return []
    alerts = []
    for alert in open_alerts()[:200]:
        if ALERT_ROLES.get(alert.kind, DEFAULT_ALERT_ROLES) & roles:
            alerts.append(alert)
    alerts.sort(key=lambda a: a.level != Alert.Level.CRITICAL)
    return alerts[:limit]


def todays_plan(now: datetime):
    """Today's production plan: the accepted one with its runs, else the latest draft (no runs
    yet: a draft creates them when accepted). None when the scheduler has not planned today."""
    plans = (
        ProductionPlan.objects.filter(
            date=site_today(), status__in=[PlanStatus.ACCEPTED, PlanStatus.DRAFT]
        )
        .select_related("generator", "accepted_by")
        .prefetch_related(
            Prefetch("runs", queryset=PlannedRun.objects.order_by("sequence")),
        )
        .order_by("-id")
    )
    plans = list(plans)
    accepted = [p for p in plans if p.status == PlanStatus.ACCEPTED]
    return (accepted or plans or [None])[0]


def _generator_rows(now: datetime, unit_factor) -> list[dict]:
    site = SiteSettings.current()
    rows = []
    for generator in generator_selectors.generator_list(status=GeneratorStatus.IN_USE):
        prediction = generator_selectors.prediction(generator, at=now)
        curve = generator_selectors.expected_eluate_curve(
            generator, start=now, hours=8, step_min=20
        )
        rows.append(
            {
                "generator": generator,
                "prediction": prediction,
                "expected_now": unit_factor(prediction.expected_eluate_mbq),
                "warnings": generator_selectors.generator_warnings(generator, now=now, site=site),
                "chart_id": f"dash-gen-{generator.pk}",
                "chart": {
                    "labels": [timezone.localtime(at).strftime("%H:%M") for at, _ in curve],
                    "expected": [round(unit_factor(mbq), 2) for _, mbq in curve],
                    "efficiency_labels": [],
                    "efficiency": [],
                },
            }
        )
    return rows


def radiopharmacist_dashboard(*, now: datetime, unit_factor) -> dict:
    """Today's plan, generators with their expected eluate, batches awaiting QC, doses to draw."""
    qc_pending = list(
        Batch.objects.select_related("product")
        .filter(status__in=[BatchStatus.IN_PRODUCTION, BatchStatus.QC_PENDING])
        .order_by("eos_at")
    )
    doses = [
        {
            "dose": d,
            "activity_to_draw": unit_factor(d.activity_to_draw_mbq),
        }
        for d in dose_list(day=site_today(), status=DoseStatus.ASSIGNED)
    ]
    plan = todays_plan(now)
    return {
        "next_actions": next_actions(now=now, plan=plan, awaiting_qc=qc_pending, doses=doses),
        "plan": plan,
        "generators": _generator_rows(now, unit_factor),
        "awaiting_qc": qc_pending,
        "doses_to_draw": doses,
        "open_events": open_quality_events(),
    }


@dataclass(frozen=True)
class NextAction:
    at: datetime
    what: str
    url: str
    overdue: bool


# A planned elution or a draw this long past its time is still shown (late, not forgotten).
ACTION_GRACE = timedelta(minutes=30)


def next_actions(*, now: datetime, plan, awaiting_qc, doses, limit: int = 3) -> list[NextAction]:
    """What the radiopharmacist does next, soonest first (UI.md: "next action first"): the
    accepted plan's elutions, QC of batches awaiting it, doses to draw. Uses rows already
    loaded for the dashboard: no query of its own."""
    actions = []
    if plan is not None and plan.status == PlanStatus.ACCEPTED:
        for run in plan.runs.all():
            if run.status == PlannedRunStatus.PLANNED and run.elution_at >= now - ACTION_GRACE:
                what = (
                    f"Elute {plan.generator.serial_number} for run {run.sequence} "
                    f"({len(run.doses)} dose{'s' if len(run.doses) != 1 else ''})"
                )
                actions.append((run.elution_at, what, reverse("plan-day")))
    for batch in awaiting_qc:
        actions.append(
            (batch.eos_at, f"QC of {batch.batch_number}", reverse("qc-entry", args=[batch.pk]))
        )
    for row in doses:
        dose = row["dose"]
        if dose.draw_at >= now - ACTION_GRACE:
            actions.append(
                (
                    dose.draw_at,
                    f"Draw the dose of {dose.booking.patient_ref}",
                    reverse("dose-detail", args=[dose.pk]),
                )
            )
    actions.sort(key=lambda a: a[0])
    return [NextAction(at, what, url, at < now) for at, what, url in actions[:limit]]


def open_quality_events(limit: int = 20) -> list[Deviation]:
    """Quality events not closed yet, oldest first (the one waiting longest on top)."""
    return list(
        Deviation.objects.exclude(status=Deviation.Status.CLOSED)
        .select_related("batch")
        .order_by("opened_at", "id")[:limit]
    )


def qualified_person_dashboard(*, now: datetime) -> dict:
    """Batches awaiting release with their release check, and today's decisions."""
    start, end = site_day_bounds(site_today())
    awaiting = list(
        Batch.objects.select_related("product", "operator")
        .prefetch_related(
            Prefetch("qc_results", queryset=QcResult.objects.order_by("id")),
            Prefetch("deviations", queryset=Deviation.objects.order_by("id")),
        )
        .filter(status=BatchStatus.QC_PENDING)
        .order_by("eos_at")
    )
    prime_specs_in_force(awaiting)
    signed_today = (
        BatchSignature.objects.filter(
            decision__in=DISPOSITION_DECISIONS, signed_at__gte=start, signed_at__lt=end
        )
        .select_related("batch")
        .order_by("signed_at", "id")
    )
    return {
        "awaiting_release": [
            {"batch": b, "blocking": release_blockers(b, at=now)} for b in awaiting
        ],
        "signed_today": list(signed_today),
        "open_events": open_quality_events(),
        "on_hold": list(Batch.objects.filter(status=BatchStatus.ON_HOLD).order_by("eos_at")),
    }


def scheduler_dashboard(*, now: datetime) -> dict:
    """Today's and tomorrow's bookings, the plan, bookings not yet served by a dose."""
    today = site_today()
    tomorrow = today + timedelta(days=1)
    todays = list(booking_list(day=today))
    return {
        "days": [
            ("Today", today, todays),
            ("Tomorrow", tomorrow, list(booking_list(day=tomorrow))),
        ],
        "unserved": [b for b in todays if b.status == BookingStatus.BOOKED],
        "plan": todays_plan(now),
    }


def auditor_dashboard(*, now: datetime, days: int = 7) -> dict:
    """Recent releases and rejections, deviations (OOS) and recalls, the latest audit entries."""
    since = now - timedelta(days=days)
    return {
        "since": since,
        "days": days,
        "recent_signatures": list(
            BatchSignature.objects.filter(decision__in=DISPOSITION_DECISIONS, signed_at__gte=since)
            .select_related("batch")
            .order_by("-signed_at", "-id")[:20]
        ),
        "deviations": list(
            Deviation.objects.select_related("batch", "opened_by")
            .filter(opened_at__gte=since)
            .order_by("-opened_at", "-id")[:20]
        ),
        "recalled": list(
            Batch.objects.filter(status=BatchStatus.RECALLED).order_by("-eos_at")[:20]
        ),
        "recent_events": list(AuditEvent.objects.order_by("-id")[:10]),
    }


def dashboards_for(user, *, now: datetime | None = None, unit_factor=lambda v: v) -> dict:
    """Every panel the user's roles see, keyed by role."""
    now = now or timezone.now()
    roles = user_roles(user)
    panels: dict = {}
    if RADIOPHARMACIST in roles:
        panels[RADIOPHARMACIST] = radiopharmacist_dashboard(now=now, unit_factor=unit_factor)
    if QUALIFIED_PERSON in roles:
        panels[QUALIFIED_PERSON] = qualified_person_dashboard(now=now)
    if SCHEDULER in roles:
        panels[SCHEDULER] = scheduler_dashboard(now=now)
    if AUDITOR in roles:
        panels[AUDITOR] = auditor_dashboard(now=now)
    return panels
