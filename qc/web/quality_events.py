"""Quality event pages (SPEC §2.4a; UI.md "Quality events"): open an event, its page with the
whole history, the investigation of each phase, the qualified person's closing signature, and
the CAPA of the event; the CAPA list.

Every write goes through `qc.services.deviations` or `qc.services.capas`; a refusal is shown on
the event page with what blocks it (409), the role or password problem (403) or the field
messages (400), with what was typed kept (never the password).
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from qc.models import Capa, Deviation, Investigation, QcResult
from qc.services.capas import capa_complete, capa_create, capa_verify
from qc.services.deviations import (
    CONCLUSIONS,
    closing_blockers,
    deviation_close,
    deviation_open,
    investigation_record,
)
from qc.web.forms import (
    CapaCompleteForm,
    CapaForm,
    CapaVerifyForm,
    CloseEventForm,
    InvestigationForm,
    QualityEventForm,
)
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, QUALIFIED_PERSON, RADIOPHARMACIST, can
from radiopharmacy.core.signing import otp_required
from radiopharmacy.core.sitetime import site_today
from radiopharmacy.models import AuditEvent, Batch
from radiopharmacy.web.forms.common import apply_service_error

Phase = Investigation.Phase
RECENT_BATCHES = 60  # the batches offered when opening an event


def conclusion_choices(kind: str) -> list[tuple[str, str]]:
    return [(c, Deviation.Conclusion(c).label) for c in CONCLUSIONS[kind]]


def _owner_choices() -> list[tuple[int, str]]:
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[RADIOPHARMACIST, QUALIFIED_PERSON])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
    return [(u.pk, u.get_full_name() or u.get_username()) for u in users]


def event_queryset():
    return Deviation.objects.select_related(
        "batch", "opened_by", "closed_by", "qc_result", "qc_result__spec_test"
    ).prefetch_related(
        Prefetch("investigations", queryset=Investigation.objects.select_related("performed_by")),
        Prefetch(
            "capas",
            queryset=Capa.objects.select_related(
                "owner", "created_by", "completed_by", "verified_by"
            ).order_by("due_on", "id"),
        ),
    )


def event_audit_events(event: Deviation):
    """Audit entries of the event, its investigation phases and its CAPA, oldest first."""
    investigation_ids = [str(i.pk) for i in event.investigations.all()]
    capa_ids = [str(c.pk) for c in event.capas.all()]
    return (
        AuditEvent.objects.filter(
            Q(object_type=Deviation._meta.label_lower, object_id=str(event.pk))
            | Q(object_type=Investigation._meta.label_lower, object_id__in=investigation_ids)
            | Q(object_type=Capa._meta.label_lower, object_id__in=capa_ids)
        )
        .select_related("user")
        .order_by("id")
    )


def next_phase(event: Deviation) -> int | None:
    """The phase that can be recorded now: I first, II after a phase I with no cause."""
    if event.is_closed:
        return None
    phases = {i.phase: i for i in event.investigations.all()}
    if Phase.LABORATORY not in phases:
        return Phase.LABORATORY
    if not phases[Phase.LABORATORY].assignable_cause and Phase.FULL_SCALE not in phases:
        return Phase.FULL_SCALE
    return None


def capa_step_form(step: str, capa_id: int, data=None):
    """The complete or verify form of one CAPA (ids of its own: several on a page)."""
    form_class = CapaCompleteForm if step == "complete" else CapaVerifyForm
    return form_class(data, auto_id=f"id_capa{capa_id}_{step}_%s")


def _is_overdue(capa: Capa, today) -> bool:
    return capa.status == Capa.Status.OPEN and capa.due_on < today


def event_page(
    request,
    pk: int,
    *,
    status: int = 200,
    error: ApplicationError | None = None,
    investigation_form=None,
    close_form=None,
    capa_form=None,
    capa_forms: dict | None = None,
):
    """The quality event page; a POST that was refused renders it again with its bound form."""
    event = get_object_or_404(event_queryset(), pk=pk)
    user = request.user
    today = site_today()
    phase = next_phase(event)
    can_investigate = can(user, CHANGE, "deviations") and phase is not None
    if investigation_form is None or investigation_form.data.get("phase") != str(phase):
        investigation_form = InvestigationForm(initial={"phase": phase})
    conclusions = conclusion_choices(event.kind)
    can_close = can(user, CHANGE, "deviation_close") and not event.is_closed
    can_capa = can(user, CHANGE, "capas")
    capa_forms = capa_forms or {}
    capas = []
    for capa in event.capas.all():
        bound = capa_forms.get(capa.pk, {})
        capas.append(
            {
                "capa": capa,
                "overdue": _is_overdue(capa, today),
                "complete_form": bound.get("complete") or capa_step_form("complete", capa.pk),
                "verify_form": bound.get("verify") or capa_step_form("verify", capa.pk),
                "can_complete": can_capa and capa.status == Capa.Status.OPEN,
                "can_verify": can_capa and capa.status == Capa.Status.DONE,
                "verifier_is_completer": capa.completed_by_id == user.pk,
            }
        )
    results = []
    if event.qc_result_id:
        results = list(
            QcResult.objects.filter(
                batch_id=event.qc_result.batch_id, test_code=event.qc_result.test_code
            )
            .select_related("analyst", "superseded_by")
            .order_by("id")
        )
    context = {
        "event": event,
        "results": results,
        "investigations": list(event.investigations.all()),
        "next_phase": phase,
        "phase_label": Phase(phase).label if phase else "",
        "can_investigate": can_investigate,
        "investigation_form": investigation_form,
        "can_close": can_close,
        "close_form": close_form or CloseEventForm(conclusions=conclusions),
        "conclusions": [
            {"value": value, "label": label, "blocking": closing_blockers(event, value)}
            for value, label in conclusions
        ],
        "otp_required": otp_required(user),
        "capas": capas,
        "can_capa": can_capa,
        "capa_form": capa_form or CapaForm(owners=_owner_choices()),
        "audit_events": list(event_audit_events(event)),
        "error": error,
    }
    return render(request, "qc/quality_event.html", context, status=status)


class QualityEventView(RoleRequiredMixin, View):
    """One quality event with its history, investigation, closing signature and CAPA."""

    permission_resource = "deviations"

    def get(self, request, pk: int):
        return event_page(request, pk)


def _refused(request, pk, error: ApplicationError, form, key: str, **extra):
    apply_service_error(form, error)
    return event_page(request, pk, status=error.status_code, error=error, **{key: form}, **extra)


class InvestigationRecordView(RoleRequiredMixin, View):
    """POST: record phase I or phase II of the investigation."""

    permission_resource = "deviations"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        get_object_or_404(Deviation, pk=pk)
        form = InvestigationForm(request.POST)
        if not form.is_valid():
            return event_page(request, pk, status=400, investigation_form=form)
        data = form.cleaned_data
        try:
            investigation = investigation_record(
                deviation_id=pk,
                actor=request.user,
                phase=data["phase"],
                findings=data["findings"],
                assignable_cause=data["assignable_cause"],
            )
        except ApplicationError as error:
            return _refused(request, pk, error, form, "investigation_form")
        cause = investigation.assignable_cause or "no assignable cause"
        messages.success(request, f"{investigation.get_phase_display()} recorded: {cause}.")
        return redirect("qc-event", pk=pk)


class EventCloseView(RoleRequiredMixin, View):
    """POST: the qualified person's closing signature ("Investigation closed")."""

    permission_resource = "deviation_close"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        event = get_object_or_404(Deviation, pk=pk)
        form = CloseEventForm(request.POST, conclusions=conclusion_choices(event.kind))
        if not form.is_valid():
            return event_page(request, pk, status=400, close_form=form)
        data = form.cleaned_data
        try:
            event = deviation_close(
                deviation_id=pk,
                actor=request.user,
                conclusion=data["conclusion"],
                note=data["note"],
                password=data["password"],
                otp_token=data["otp_token"],
                request=request,
            )
        except ApplicationError as error:  # nothing was signed
            return _refused(request, pk, error, form, "close_form")
        messages.success(
            request,
            f"{event.get_kind_display()} #{event.pk} closed as {event.get_conclusion_display()}: "
            f"{event.closure_meaning}, signed by {event.closed_printed_name}.",
        )
        return redirect("qc-event", pk=pk)


class CapaCreateView(RoleRequiredMixin, View):
    """POST: add a corrective or preventive action to the event."""

    permission_resource = "capas"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        event = get_object_or_404(Deviation, pk=pk)
        form = CapaForm(request.POST, owners=_owner_choices())
        if not form.is_valid():
            return event_page(request, pk, status=400, capa_form=form)
        data = form.cleaned_data
        try:
            capa = capa_create(
                actor=request.user,
                deviation=event,
                description=data["description"],
                owner=get_user_model().objects.get(pk=data["owner"]),
                due_on=data["due_on"],
            )
        except ApplicationError as error:
            return _refused(request, pk, error, form, "capa_form")
        messages.success(request, f"CAPA {capa.pk} added, due on {capa.due_on:%d %b %Y}.")
        return redirect(f"{reverse('qc-event', kwargs={'pk': pk})}#capa")


def _back(request, default: str):
    target = request.POST.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return redirect(target)


class CapaStepView(RoleRequiredMixin, View):
    """POST: complete (`step = "complete"`) or verify (`step = "verify"`) an action."""

    permission_resource = "capas"
    http_method_names = ["post"]
    step = ""

    def post(self, request, pk: int):
        capa = get_object_or_404(Capa, pk=pk)
        form = capa_step_form(self.step, capa.pk, request.POST)
        refused = None
        if form.is_valid():
            try:
                if self.step == "complete":
                    capa_complete(capa_id=pk, actor=request.user, note=form.cleaned_data["note"])
                else:
                    capa_verify(
                        capa_id=pk,
                        actor=request.user,
                        effectiveness_check=form.cleaned_data["effectiveness_check"],
                    )
            except ApplicationError as error:
                apply_service_error(form, error)
                refused = error
            else:
                done = "completed" if self.step == "complete" else "verified"
                messages.success(request, f"CAPA {capa.pk} {done}.")
                default = f"{reverse('qc-event', kwargs={'pk': capa.deviation_id})}#capa"
                return _back(request, default)
        return event_page(
            request,
            capa.deviation_id,
            status=refused.status_code if refused else 400,
            error=refused,
            capa_forms={capa.pk: {self.step: form}},
        )


class QualityEventCreateView(RoleRequiredMixin, View):
    """Open a quality event (kind, batch, description). GET and POST need the write right."""

    permission_resource = "deviations"
    permission_action = CHANGE

    def _form(self, data=None, initial=None):
        batches = Batch.objects.order_by("-eos_at", "-id").values_list("pk", "batch_number")
        choices = list(batches[:RECENT_BATCHES])
        chosen = (data or {}).get("batch") or (initial or {}).get("batch")
        if chosen and str(chosen).isdigit() and int(chosen) not in {pk for pk, _ in choices}:
            # a batch from further back (linked from its record) is offered too
            choices += list(Batch.objects.filter(pk=int(chosen)).values_list("pk", "batch_number"))
        return QualityEventForm(
            data, initial=initial, kinds=Deviation.Kind.choices, batches=choices
        )

    def get(self, request):
        initial = {}
        batch = request.GET.get("batch", "")
        if batch.isdigit() and len(batch) < 12:
            initial["batch"] = int(batch)
        kind = request.GET.get("kind", "")
        if kind in Deviation.Kind.values:
            initial["kind"] = kind
        return render(request, "qc/quality_event_form.html", {"form": self._form(initial=initial)})

    def post(self, request):
        form = self._form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            batch = Batch.objects.filter(pk=data["batch"]).first() if data["batch"] else None
            try:
                event = deviation_open(
                    actor=request.user,
                    kind=data["kind"],
                    batch=batch,
                    description=data["description"],
                )
            except ApplicationError as error:
                apply_service_error(form, error)
                status = error.status_code
            else:
                messages.success(request, f"{event.get_kind_display()} #{event.pk} opened.")
                return redirect("qc-event", pk=event.pk)
        else:
            status = 400
        return render(request, "qc/quality_event_form.html", {"form": form}, status=status)


class CapaListView(RoleRequiredMixin, View):
    """Every corrective and preventive action by due date; overdue ones marked."""

    permission_resource = "capas"

    def get(self, request):
        status = request.GET.get("status", "")
        capas = Capa.objects.select_related(
            "owner", "deviation", "deviation__batch", "completed_by", "verified_by"
        ).order_by("due_on", "id")
        if status in Capa.Status.values:
            capas = capas.filter(status=status)
        elif status == "pending":
            capas = capas.exclude(status=Capa.Status.VERIFIED)
        today = site_today()
        rows = [{"capa": c, "overdue": _is_overdue(c, today)} for c in capas[:500]]
        return render(
            request,
            "qc/capa_list.html",
            {
                "rows": rows,
                "status": status,
                "statuses": [("", "Any"), ("pending", "Not verified"), *Capa.Status.choices],
                "today": today,
                "now": timezone.now(),
            },
        )
