"""REST endpoints for production plans (SPEC §3 `plans/`): compute a draft, accept it, read
plans with their runs, unserved bookings and the explanation of their inputs."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    RecordIdField,
    RecordIdFilter,
)
from scheduling.api.common import status_field, validated
from scheduling.choices import PlannedRunStatus, PlanStatus
from scheduling.models import ProductionPlan
from scheduling.services import plans as services


class PlanDoseSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    draw_at = serializers.DateTimeField()
    activity_to_draw_mbq = serializers.FloatField()
    activity_needed_at_eos_mbq = serializers.FloatField()
    injection_at = serializers.DateTimeField()
    prescribed_activity_mbq = serializers.FloatField()


class PlanRunSerializer(serializers.Serializer):
    elution_at = serializers.DateTimeField()
    eos_at = serializers.DateTimeField()
    release_at = serializers.DateTimeField()
    expected_activity_at_eos_mbq = serializers.FloatField()
    doses = PlanDoseSerializer(many=True)
    expiry_at = serializers.DateTimeField()
    ga68_on_column_mbq = serializers.FloatField()
    expected_eluate_mbq = serializers.FloatField()
    wasted_activity_mbq = serializers.FloatField()
    explanation = serializers.ListField(child=serializers.CharField())


class PlanUnservedSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    reason = serializers.CharField()
    suggested_injection_at = serializers.DateTimeField(allow_null=True)


class PlanObjectiveSerializer(serializers.Serializer):
    served = serializers.IntegerField()
    runs = serializers.IntegerField()
    wasted_activity_mbq = serializers.FloatField()


class PlannedRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    elution_at = serializers.DateTimeField()
    status = status_field(PlannedRunStatus)
    batch = serializers.IntegerField(source="batch_id", allow_null=True)


class ProductionPlanSerializer(serializers.ModelSerializer):
    """A saved plan: SPEC §3 (`date`, `generator`, `runs`, `unserved`) plus its state, the
    explanation of its inputs and, once accepted, its planned batches."""

    status = status_field(PlanStatus)
    runs = PlanRunSerializer(source="result.runs", many=True, read_only=True)
    unserved = PlanUnservedSerializer(source="result.unserved", many=True, read_only=True)
    objective = PlanObjectiveSerializer(source="result.objective", read_only=True)
    explanation = serializers.SerializerMethodField()
    planned_runs = PlannedRunSerializer(source="runs", many=True, read_only=True)

    class Meta:
        model = ProductionPlan
        fields = [
            "id",
            "date",
            "generator",
            "status",
            "stale",
            "runs",
            "unserved",
            "objective",
            "explanation",
            "planned_runs",
            "created_by",
            "created_at",
            "accepted_by",
            "accepted_at",
            "superseded_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_explanation(self, obj) -> list[str]:
        return services.plan_explanation(obj)


class ProductionPlanDetailSerializer(ProductionPlanSerializer):
    """One plan with the exact planner inputs it was computed from."""

    inputs = serializers.JSONField(read_only=True)

    class Meta(ProductionPlanSerializer.Meta):
        fields = [*ProductionPlanSerializer.Meta.fields, "inputs"]
        read_only_fields = fields


class PlanCreateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day to plan, in the site's zone (YYYY-MM-DD).")
    generator = RecordIdField()


class PlanFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="date", label="Plan date (site zone)")
    generator = RecordIdFilter(field_name="generator_id")
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)

    class Meta:
        model = ProductionPlan
        fields = ["date", "generator", "status"]


def _plans_queryset():
    return ProductionPlan.objects.select_related("generator").prefetch_related("runs")


def _plan_out(plan_id: int) -> dict:
    return ProductionPlanDetailSerializer(_plans_queryset().get(pk=plan_id)).data


class PlanListCreate(generics.ListCreateAPIView):
    """Production plans; filter by `date`, `generator`, `status`. POST computes a draft plan."""

    permission_resource = "plans"
    serializer_class = ProductionPlanSerializer
    filterset_class = PlanFilter
    ordering_fields = ["date", "id"]

    def get_queryset(self):
        return _plans_queryset().order_by("-date", "-id")

    @extend_schema(
        responses={200: ProductionPlanSerializer(many=True), 400: ERR_400, **READ_ERRORS}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PlanCreateSerializer,
        responses={201: ProductionPlanDetailSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = validated(PlanCreateSerializer, request.data)
        plan = services.plan_compute(
            actor=request.user, date=data["date"], generator_id=data["generator"]
        )
        return Response(_plan_out(plan.pk), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: ProductionPlanDetailSerializer, 404: ERR_404, **READ_ERRORS})
class PlanDetail(generics.RetrieveAPIView):
    permission_resource = "plans"
    serializer_class = ProductionPlanDetailSerializer

    def get_queryset(self):
        return _plans_queryset()


class PlanAccept(APIView):
    """Accept a draft plan: its runs become planned batches; the day's accepted plan is
    superseded. 409 when the plan is not a draft."""

    permission_resource = "plans"

    @extend_schema(
        request=None,
        responses={200: ProductionPlanDetailSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        services.plan_accept(actor=request.user, plan_id=pk)
        return Response(_plan_out(pk))
