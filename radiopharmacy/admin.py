"""Admin: site data (products, settings) with audited changes; regulated records read-only.

Every write of a regulated record goes through the services (audited); the admin only shows
them. What administrators do edit here (products, site settings, specifications in qc) is
audited by `AuditedAdmin`. Users and groups: every change is audited in the chain by
radiopharmacy/core/accounts.py wherever it is made; here users cannot be deleted (deactivate
them: a deletion attempt is refused and logged), groups neither, and API tokens and
authenticator secrets are not shown.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from radiopharmacy.core import accounts, audit, outbox
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.models import (
    Alert,
    AuditEvent,
    BreakthroughTest,
    Elution,
    Generator,
    OutboxJob,
    Product,
    SiteSettings,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Regulated records are written by services only; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Admin edits land in the audit trail, in the transaction of the change; nothing is
    deleted (a product or setting that judged batches must stay)."""

    def has_delete_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        old = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        audit.record_change(
            actor=request.user,
            action=AuditAction.CHANGED if change else "created",
            obj=obj,
            before=old,
        )


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ["code", "name", "shelf_life_min", "max_volume_per_patient_ml"]


@admin.register(SiteSettings)
class SiteSettingsAdmin(AuditedAdmin):
    def has_add_permission(self, request):
        return not SiteSettings.objects.exists()


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail is append-only and the database refuses changes anyway."""

    list_display = ["occurred_at", "username", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["username", "object_id", "object_repr"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["raised_at", "kind", "level", "message", "acknowledged_at"]


@admin.register(Generator)
class GeneratorAdmin(ReadOnlyAdmin):
    list_display = ["serial_number", "manufacturer", "model", "calibrated_at", "status"]
    list_filter = ["status", "manufacturer"]
    search_fields = ["serial_number"]


@admin.register(Elution)
class ElutionAdmin(ReadOnlyAdmin):
    list_display = ["eluted_at", "generator", "activity_at_elution_mbq", "efficiency_percent"]
    list_filter = ["generator"]
    list_select_related = ["generator"]


@admin.register(BreakthroughTest)
class BreakthroughTestAdmin(ReadOnlyAdmin):
    list_display = ["measured_at", "elution", "breakthrough_percent", "passed"]
    list_select_related = ["elution"]


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin):
    """Background jobs; failed ones are retried here (through the service, audited)."""

    list_display = ["id", "task_name", "key", "status", "attempts", "created_at", "done_at"]
    list_filter = ["status", "task_name"]
    search_fields = ["key", "last_error"]
    actions = ["retry"]

    def has_retry_permission(self, request):
        # The form stays read-only; the model's change permission is what allows a retry.
        return request.user.has_perm("radiopharmacy.change_outboxjob")

    @admin.action(description="Retry", permissions=["retry"])
    def retry(self, request, queryset):
        retried, refused = 0, []
        for job_id in queryset.values_list("pk", flat=True):
            try:
                outbox.job_retry(job_id=job_id, actor=request.user)
                retried += 1
            except StateConflict as exc:
                refused.append(exc.message)
        if retried:
            self.message_user(request, f"{retried} job(s) queued again.", messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)


# --- Users, groups, tokens, authenticators -------------------------------------------------

for _model in (get_user_model(), Group, AuthToken, TOTPDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(get_user_model())
class GalliumUserAdmin(UserAdmin):
    """Users are deactivated (Active unticked), never deleted: their names stay on what they
    signed. Changes are audited by radiopharmacy/core/accounts.py."""

    list_display = ["username", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]

    def has_delete_permission(self, request, obj=None):
        return False

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None:
            accounts.record_refused_deletion(actor=request.user, user=user)
        raise PermissionDenied("Users are deactivated, never deleted.")


@admin.register(Group)
class GalliumGroupAdmin(GroupAdmin):
    """The roles are groups the permission matrix names: they are not deleted."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TOTPDevice)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Enrolled authenticators, without their secrets. An administrator removes a lost one
    (audited); the person then enrols a new one at /account/two-factor/."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def delete_model(self, request, obj):
        audit.record(
            actor=request.user,
            action=AuditAction.OTP_DEVICE_REMOVED,
            object_type=audit.object_type_of(obj.user),
            object_id=obj.user_id,
            changes={"authenticator": {"old": obj.name, "new": None}},
            reason="removed in the admin",
        )
        super().delete_model(request, obj)
