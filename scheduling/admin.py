"""Read-only admin for bookings, doses and plans (every change goes through scheduling.services);
the plan settings are edited here by the administrator, every change audited."""

from django.contrib import admin

from radiopharmacy.admin import AuditedAdmin, ReadOnlyAdmin
from scheduling.models import (
    BatchAllocation,
    Booking,
    Dose,
    PlannedRun,
    PlanSettings,
    ProductionPlan,
)


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["patient_ref", "injection_at", "prescribed_activity_mbq", "status"]
    list_filter = ["status"]
    search_fields = ["patient_ref"]


@admin.register(Dose)
class DoseAdmin(ReadOnlyAdmin):
    list_display = ["id", "booking", "batch", "draw_at", "activity_to_draw_mbq", "status"]
    list_filter = ["status"]
    list_select_related = ["booking", "batch"]


@admin.register(BatchAllocation)
class BatchAllocationAdmin(ReadOnlyAdmin):
    list_display = ["batch", "allocated_volume_ul", "total_volume_ul"]


@admin.register(ProductionPlan)
class ProductionPlanAdmin(ReadOnlyAdmin):
    list_display = ["id", "date", "generator", "status", "stale", "created_at", "accepted_at"]
    list_filter = ["status", "stale"]
    list_select_related = ["generator"]


@admin.register(PlannedRun)
class PlannedRunAdmin(ReadOnlyAdmin):
    list_display = ["plan", "sequence", "elution_at", "expected_activity_at_eos_mbq", "status"]
    list_filter = ["status"]


@admin.register(PlanSettings)
class PlanSettingsAdmin(AuditedAdmin):
    """The one row of plan settings (SPEC §2.7): saved with its audit entry."""

    list_display = ["__str__", "synthesis_modules", "max_syntheses", "confidence"]

    def has_add_permission(self, request):
        return not PlanSettings.objects.exists()
