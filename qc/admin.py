"""Admin: new specification versions with their tests. A version that judged a batch is frozen."""

from django.contrib import admin
from django.db import transaction

from qc.models import Deviation, QcResult, Specification, SpecificationTest
from radiopharmacy.admin import AuditedAdmin, ReadOnlyAdmin
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction


def _used(spec: Specification | None) -> bool:
    return bool(spec and spec.pk and QcResult.objects.filter(spec_test__spec=spec).exists())


class SpecificationTestInline(admin.TabularInline):
    model = SpecificationTest
    extra = 0
    fields = [
        "order",
        "code",
        "name",
        "method",
        "unit",
        "kind",
        "min_value",
        "max_value",
        "strict",
        "limit_per_volume",
        "stage",
        "applies_to_method",
        "required",
    ]

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not _used(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _used(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _used(obj)


@admin.register(Specification)
class SpecificationAdmin(AuditedAdmin):
    list_display = ["product", "version", "effective_from", "approved_by", "approved_at"]
    list_filter = ["product"]
    inlines = [SpecificationTestInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _used(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _used(obj)

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            audit.record(
                actor=request.user,
                action=AuditAction.DELETED,
                obj=deleted,
                changes=audit.diff(audit.snapshot(deleted), {}),
            )
            deleted.delete()
        for instance in instances:
            old = (
                audit.snapshot(SpecificationTest.objects.get(pk=instance.pk)) if instance.pk else {}
            )
            instance.save()
            audit.record_change(
                actor=request.user,
                action=AuditAction.CHANGED if old else "created",
                obj=instance,
                before=old,
            )
        formset.save_m2m()


@admin.register(QcResult)
class QcResultAdmin(ReadOnlyAdmin):
    list_display = ["batch", "test_code", "value_number", "value_text", "passed", "performed_at"]
    list_filter = ["test_code", "passed"]


@admin.register(Deviation)
class DeviationAdmin(ReadOnlyAdmin):
    list_display = ["batch", "kind", "status", "conclusion", "opened_at"]
    list_filter = ["kind", "status"]
