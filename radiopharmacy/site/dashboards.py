"""Reads for the home dashboards, one function per role (SPEC §4, UI.md "Pages by role").

Each gathers its data from the existing selectors in a number of queries that does not grow
with the number of rows (tests/radiopharmacy/test_dashboards.py asserts it). Nothing here writes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Prefetch, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from qc.guards import event_blockers, release_blockers, result_blockers
from qc.models import BatchSignature, Deviation, QcResult
from qc.models.specs import QcStage
from qc.selectors import applicable_tests, latest_results, prime_specs_in_force, spec_for_batch
from qc.services.release import DISPOSITION_DECISIONS
from radiopharmacy.choices import BatchStatus, GeneratorStatus
from radiopharmacy.core.alerts import BATCH_ON_HOLD, BATCH_RECALLED, open_alerts
from radiopharmacy.core.roles import (
    AUDITOR,
    QUALIFIED_PERSON,
    RADIOPHARMACIST,
    SCHEDULER,
    is_administrator,
    user_roles,
)
from radiopharmacy.core.sitetime import site_day_bounds, site_today
from radiopharmacy.models import Alert, AuditEvent, Batch, Generator, SiteSettings
from radiopharmacy.selectors import generators as generator_selectors
from scheduling.choices import BookingStatus, DoseStatus, PlannedRunStatus, PlanStatus
from scheduling.models import PlannedRun, ProductionPlan
from scheduling.selectors import booking_list, dose_list

# The administrator (superuser or staff: no domain role) sees the alerts only they can act on.
ADMINISTRATOR = "administrator"
# Which roles an alert kind concerns; a kind not listed is shown to every role but auditors.
ALERT_ROLES: dict[str, set[str]] = {
    "audit_chain_broken": {AUDITOR, QUALIFIED_PERSON},
    # a background job given up (a certificate not rendered...): retried in the admin
    "outbox_job_failed": {ADMINISTRATOR, QUALIFIED_PERSON},
    "sterility_overdue": {RADIOPHARMACIST, QUALIFIED_PERSON},
    "breakthrough_overdue": {RADIOPHARMACIST, QUALIFIED_PERSON},
    "batch_expiring": {RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER},
    "batch_expired_unreleased": {RADIOPHARMACIST, QUALIFIED_PERSON},
}
DEFAULT_ALERT_ROLES = {RADIOPHARMACIST, QUALIFIED_PERSON, SCHEDULER}
# UI.md: the strip's first line is what endangers a patient (a batch on hold with doses out, a
# recall), then what blocks work (an overdue CAPA, a failed background job), then the rest.
ENDANGERS_PATIENTS = {BATCH_ON_HOLD, BATCH_RECALLED}
BLOCKS_WORK = {"capa_overdue", "outbox_job_failed", "audit_chain_broken"}


def _alert_rank() -> Case:
    """UI.md's order as a sort key: what endangers a patient, what blocks work, the rest."""
    return Case(
        When(kind__in=ENDANGERS_PATIENTS, then=Value(0)),
        When(Q(kind__in=BLOCKS_WORK) | Q(level=Alert.Level.CRITICAL), then=Value(1)),
        default=Value(2),
    )


def alerts_for(user, *, limit: int = 20) -> list[Alert]:
    """Open alerts relevant to the user's roles, most urgent first, newest first within a rank
    (one query). Ranked and cut by the database, so a held batch's alert is shown however many
    warnings are open."""
    roles = set(user_roles(user))
    if is_administrator(user):
        roles.add(ADMINISTRATOR)
    if not roles:
        return []
    alerts = open_alerts()
    if roles & DEFAULT_ALERT_ROLES:  # every kind but those listed for other roles only
        alerts = alerts.exclude(kind__in=[k for k, who in ALERT_ROLES.items() if not who & roles])
    else:
        alerts = alerts.filter(kind__in=[k for k, who in ALERT_ROLES.items() if who & roles])
    return list(alerts.annotate(rank=_alert_rank()).order_by("rank", "-raised_at", "-id")[:limit])


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
        prediction, no_prediction = generator_selectors.shown_prediction(generator, at=now)
        curve = (
            []
            if prediction is None
            else generator_selectors.expected_eluate_curve(
                generator, start=now, hours=8, step_min=20, prediction_at_start=prediction
            )
        )
        rows.append(
            {
                "generator": generator,
                "prediction": prediction,
                "no_prediction": no_prediction,
                "efficiency_percent": generator_selectors.efficiency_percent(generator)
                if prediction is None
                else prediction.efficiency_percent,
                "expected_now": prediction and unit_factor(prediction.expected_eluate_mbq),
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
        .prefetch_related(
            Prefetch("qc_results", queryset=QcResult.objects.order_by("id")),
            Prefetch("deviations", queryset=Deviation.objects.order_by("id")),
        )
        .filter(status__in=[BatchStatus.IN_PRODUCTION, BatchStatus.QC_PENDING])
        .order_by("eos_at")
    )
    prime_specs_in_force(qc_pending)  # the batches' QC state for "Next", in constant queries
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
        # new generators in quarantine until their receipt check accepts them (SPEC §2.2)
        "awaiting_acceptance": list(
            Generator.objects.filter(
                status=GeneratorStatus.QUARANTINE, accepted_at__isnull=True
            ).order_by("received_at", "id")
        ),
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
    # "due": something to do at `at` (a countdown, or how late); otherwise the state of a batch
    # whose QC is entered: "blocked" (a failing result or an open quality event), "awaiting
    # release" (for the qualified person), "expired" (not released in time)
    state: str = "due"
    detail: str = ""


DUE, BLOCKED, AWAITING_RELEASE, EXPIRED = "due", "blocked", "awaiting release", "expired"


def batch_next(batch: Batch, *, now: datetime) -> NextAction:
    """What a batch awaiting QC needs next, from its real state: results to enter (due at EOS),
    or, once every release result is entered, blocked by what fails or awaiting release."""
    number = batch.batch_number
    qc_url = reverse("qc-entry", args=[batch.pk])
    record_url = reverse("batch-detail", args=[batch.pk])
    if batch.status == BatchStatus.QC_PENDING and now >= batch.expires_at:
        return NextAction(
            batch.expires_at, f"{number} expired without release", record_url, False, EXPIRED
        )
    latest = latest_results(batch)
    missing = [
        t
        for t in applicable_tests(spec_for_batch(batch), batch.method)
        if t.stage == QcStage.RELEASE and t.required and t.code not in latest
    ]
    blocking = result_blockers(batch, missing=False) + event_blockers(batch)
    if batch.status != BatchStatus.QC_PENDING or missing:
        what = f"QC of {number}"
        if latest and missing:
            what += f" ({len(missing)} result{'s' if len(missing) != 1 else ''} to enter)"
        return NextAction(batch.eos_at, what, qc_url, batch.eos_at < now, DUE, "; ".join(blocking))
    if blocking:
        return NextAction(
            batch.eos_at, f"{number}: QC entered, blocked", record_url, False, BLOCKED, blocking[0]
        )
    return NextAction(
        batch.eos_at, f"{number}: QC entered, awaiting release", record_url, False, AWAITING_RELEASE
    )


# A planned elution or a draw this long past its time is still shown (late, not forgotten).
ACTION_GRACE = timedelta(minutes=30)


def next_actions(*, now: datetime, plan, awaiting_qc, doses, limit: int = 5) -> list[NextAction]:
    """What the radiopharmacist does next, soonest first (UI.md: "next action first"): the
    accepted plan's elutions, the batches awaiting QC in their real state (`batch_next`), doses
    to draw. Uses rows already loaded for the dashboard: no query of its own."""
    actions = []
    if plan is not None and plan.status == PlanStatus.ACCEPTED:
        for run in plan.runs.all():
            if run.status == PlannedRunStatus.PLANNED and run.elution_at >= now - ACTION_GRACE:
                what = (
                    f"Elute {plan.generator.serial_number} for run {run.sequence} "
                    f"({len(run.doses)} dose{'s' if len(run.doses) != 1 else ''})"
                )
                actions.append((run.elution_at, what, reverse("plan-day")))
    batch_actions = [batch_next(batch, now=now) for batch in awaiting_qc]
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
    timed = [NextAction(at, what, url, at < now) for at, what, url in actions]
    return sorted(timed + batch_actions, key=lambda a: a.at)[:limit]


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
