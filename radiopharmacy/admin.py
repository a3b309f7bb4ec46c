from django.contrib import admin

from .models import Alert, AuditEvent, Product, SiteSettings


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "shelf_life_min", "max_volume_per_patient_ml"]


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return not SiteSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only and the database refuses changes anyway."""

    list_display = ["occurred_at", "username", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["username", "object_id", "object_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["raised_at", "kind", "level", "message", "acknowledged_at"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False


# --- Generators and elutions: read-mostly; every write goes through the services (audited). ---
from .models import BreakthroughTest, Elution, Generator  # noqa: E402


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Generator)
class GeneratorAdmin(_ReadOnlyAdmin):
    list_display = ["serial_number", "manufacturer", "model", "calibrated_at", "status"]
    list_filter = ["status", "manufacturer"]
    search_fields = ["serial_number"]


@admin.register(Elution)
class ElutionAdmin(_ReadOnlyAdmin):
    list_display = ["eluted_at", "generator", "activity_at_elution_mbq", "efficiency_percent"]
    list_filter = ["generator"]
    list_select_related = ["generator"]


@admin.register(BreakthroughTest)
class BreakthroughTestAdmin(_ReadOnlyAdmin):
    list_display = ["measured_at", "elution", "breakthrough_percent", "passed"]
    list_select_related = ["elution"]
