"""GET /api/v1/audit/: the audit trail for auditors and qualified persons."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from radiopharmacy.core.apibase import AwareIsoDateTimeFilter
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.models import AuditEvent

ERRORS = {400: None, 401: None, 403: None}


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "user",
            "username",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "reason",
            "prev_hash",
            "hash",
        ]


class AuditFilter(django_filters.FilterSet):
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    user = django_filters.CharFilter(field_name="username")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    since = AwareIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = AwareIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "user", "action", "since", "until"]


@extend_schema(responses={200: AuditEventSerializer(many=True), **ERRORS})
class AuditEventList(generics.ListAPIView):
    """Audit entries, newest last; filter by object, user (username) and time."""

    permission_resource = "audit"
    serializer_class = AuditEventSerializer
    filterset_class = AuditFilter
    queryset = AuditEvent.objects.all().order_by("id")
