"""GET /api/v1/audit/ and /api/v1/audit/export/: the audit trail for auditors and qualified
persons (SPEC §2.8), searched like the page (radiopharmacy/site/audit_trail.py), read by cursor.

It reads the records linked to a batch in QC and scheduling, so it lives in the site layer."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.views import APIView

from radiopharmacy.core.apibase import ERR_400, READ_ERRORS, AwareDateTimeField
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.site import audit_trail


class RecordTypeSerializerField(serializers.CharField):
    """A record type by its short name (`batch`, `qcresult`); an unknown one is a 400 listing
    the valid ones."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return audit_trail.RecordTypeField(required=False).clean(value)
        except audit_trail.forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class AuditQuerySerializer(serializers.Serializer):
    """The search: every criterion optional, all of them apply."""

    batch = serializers.CharField(
        required=False,
        max_length=40,
        help_text="A batch number: the batch and every record linked to it (elution, QC "
        "results, quality events, signatures, certificate, doses and bookings).",
    )
    object_type = RecordTypeSerializerField(
        required=False, max_length=80, help_text="A record type by its short name: `batch`."
    )
    object_id = serializers.CharField(required=False, max_length=64)
    user = serializers.CharField(required=False, max_length=150, help_text="A username.")
    action = serializers.ChoiceField(required=False, choices=AuditAction.choices)
    since = AwareDateTimeField(required=False, help_text="From (inclusive), with its offset.")
    until = AwareDateTimeField(required=False, help_text="Until (exclusive), with its offset.")

    def validate_batch(self, value):
        batch = audit_trail.find_batch(value)
        if batch is None:
            raise serializers.ValidationError("No batch has this number.")
        return batch

    def validate(self, data):
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise serializers.ValidationError({"until": "Must be after `since`."})
        return data

    def criteria(self) -> audit_trail.Criteria:
        return audit_trail.Criteria(**self.validated_data)


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's name as recorded.")
    label = serializers.CharField(help_text="The field's label in words, with its unit.")
    old = serializers.CharField(help_text="In display units: local times, records by name.")
    new = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    """An entry as recorded (`changes`, `prev_hash`, `hash`) and as people read it."""

    id = serializers.IntegerField(source="event.id")
    occurred_at = serializers.DateTimeField(
        source="event.occurred_at", help_text="In the site's zone, with its offset."
    )
    occurred_at_display = serializers.CharField(source="time")
    user = serializers.IntegerField(source="event.user_id", allow_null=True)
    username = serializers.CharField(source="event.username")
    user_name = serializers.CharField(source="user", help_text="The user's full name.")
    action = serializers.CharField(source="event.action")
    action_label = serializers.CharField(source="action")
    object_type = serializers.CharField(source="record_type.short", help_text="Short: `batch`.")
    object_type_label = serializers.CharField(source="record_type.label")
    object_model = serializers.CharField(
        source="event.object_type", help_text="As hashed: `radiopharmacy.batch`."
    )
    object_id = serializers.CharField(source="event.object_id")
    object_repr = serializers.CharField(source="event.object_repr")
    record = serializers.CharField(help_text="The record's name, the same in every entry.")
    changes = serializers.JSONField(source="event.changes")
    changes_display = AuditChangeSerializer(source="changes", many=True)
    corrected = serializers.CharField(help_text="A correction: what it corrected.")
    correcting = serializers.CharField(help_text="A correction: the corrected values.")
    reason = serializers.CharField(source="event.reason")
    prev_hash = serializers.CharField(source="event.prev_hash")
    hash = serializers.CharField(source="event.hash")


class AuditCursorPagination(CursorPagination):
    """Keyset pages, oldest first: `next` and `previous` cursors, no count and no OFFSET."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _criteria(request) -> audit_trail.Criteria:
    query = AuditQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.criteria()


@extend_schema(
    tags=["audit"],
    parameters=[AuditQuerySerializer],
    responses={200: AuditEntrySerializer(many=True), 400: ERR_400, **READ_ERRORS},
)
class AuditEntryList(APIView):
    """Audit entries, oldest first, by cursor; search by batch number, record, user, action and
    time."""

    permission_resource = "audit"
    pagination_class = AuditCursorPagination

    def get(self, request):
        events = audit_trail.search(_criteria(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        data = AuditEntrySerializer(audit_trail.present(page), many=True).data
        return paginator.get_paginated_response(data)


@extend_schema(
    tags=["audit"],
    parameters=[AuditQuerySerializer],
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="Every matching entry, oldest first, one per line."
        ),
        400: ERR_400,
        **READ_ERRORS,
    },
)
class AuditEntryExport(APIView):
    """The CSV export of a search of the audit trail (the same criteria as the list)."""

    permission_resource = "audit"

    def get(self, request):
        events = audit_trail.search(_criteria(request))
        response = StreamingHttpResponse(
            audit_trail.csv_rows(events), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
        return response
