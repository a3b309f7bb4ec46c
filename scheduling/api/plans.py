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
from radiopharmacy.core.checks import DAY_MESSAGE, plausible_day
from radiopharmacy.selectors.products import default_product
from scheduling.api.common import status_field, validated
from scheduling.choices import PlannedRunStatus, PlanStatus
from scheduling.models import MAX_WEIGHT_KG, MIN_WEIGHT_KG, ProductionPlan
from scheduling.services import plans as services
from scheduling.services.bookings import prescribed_activity_for


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
    module = serializers.IntegerField()
    mean_activity_at_eos_mbq = serializers.FloatField()
    needed_at_eos_mbq = serializers.FloatField()
    margin_mbq = serializers.FloatField()
    margin_percent = serializers.FloatField()
    probability_all_served = serializers.FloatField()
    wasted_activity_mbq = serializers.FloatField()
    explanation = serializers.ListField(child=serializers.CharField())


class PlanStockSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    label = serializers.CharField()
    available_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    activity_mbq = serializers.FloatField()
    activity_at = serializers.DateTimeField()
    doses = PlanDoseSerializer(many=True)


class PlanUnservedSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    reason = serializers.CharField()
    suggested_injection_at = serializers.DateTimeField(allow_null=True)


class PlanObjectiveSerializer(serializers.Serializer):
    served = serializers.IntegerField()
    runs = serializers.IntegerField()
    smallest_margin_percent = serializers.FloatField(allow_null=True)
    wasted_activity_mbq = serializers.FloatField()


class PlanBoundSerializer(serializers.Serializer):
    served_at_most = serializers.IntegerField()


class PlanChangesSerializer(serializers.Serializer):
    accepted_plan = serializers.IntegerField()
    runs_moved = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    runs_added = serializers.ListField(child=serializers.DateTimeField())
    runs_dropped = serializers.ListField(child=serializers.DateTimeField())
    bookings_moved = serializers.ListField(child=serializers.IntegerField())
    bookings_newly_unserved = serializers.ListField(child=serializers.IntegerField())
    unchanged = serializers.BooleanField()


class PlannedRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    elution_at = serializers.DateTimeField()
    status = status_field(PlannedRunStatus)
    batch = serializers.IntegerField(source="batch_id", allow_null=True)


class _PlanListSerializer(serializers.ListSerializer):
    """Reads the accepted plans of the listed days in one query (for changes_from_accepted)."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        dates = {p.date for p in items}
        generators = {p.generator_id for p in items}
        accepted = {(p.date, p.generator_id): None for p in items}
        for plan in ProductionPlan.objects.filter(
            status=PlanStatus.ACCEPTED, date__in=dates, generator_id__in=generators
        ):
            accepted[(plan.date, plan.generator_id)] = plan
        self.child.context["accepted"] = accepted
        return super().to_representation(items)


class ProductionPlanSerializer(serializers.ModelSerializer):
    """A saved plan: SPEC §3 (`date`, `generator`, `runs`, `unserved`) plus its state, the
    explanation of its inputs and, once accepted, its planned batches."""

    status = status_field(PlanStatus)
    runs = PlanRunSerializer(source="result.runs", many=True, read_only=True)
    unserved = PlanUnservedSerializer(source="result.unserved", many=True, read_only=True)
    stock = PlanStockSerializer(source="result.stock", many=True, read_only=True, default=list)
    objective = PlanObjectiveSerializer(source="result.objective", read_only=True)
    optimal = serializers.BooleanField(source="result.optimal", read_only=True, default=True)
    bound = PlanBoundSerializer(source="result.bound", read_only=True, default=None)
    changes_from_accepted = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    planned_runs = PlannedRunSerializer(source="runs", many=True, read_only=True)

    class Meta:
        model = ProductionPlan
        list_serializer_class = _PlanListSerializer
        fields = [
            "id",
            "date",
            "generator",
            "status",
            "stale",
            "what_if",
            "parameters",
            "runs",
            "stock",
            "unserved",
            "objective",
            "optimal",
            "bound",
            "changes_from_accepted",
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

    @extend_schema_field(PlanChangesSerializer(allow_null=True))
    def get_changes_from_accepted(self, obj) -> dict | None:
        accepted = self.context.get("accepted", {})
        key = (obj.date, obj.generator_id)
        if key not in accepted:
            accepted[key] = services.accepted_plan_of(obj)
        return services.plan_changes(obj, accepted[key])


class ProductionPlanDetailSerializer(ProductionPlanSerializer):
    """One plan with the exact planner inputs it was computed from."""

    inputs = serializers.JSONField(read_only=True)

    class Meta(ProductionPlanSerializer.Meta):
        fields = [*ProductionPlanSerializer.Meta.fields, "inputs"]
        read_only_fields = fields


class PlanParametersSerializer(serializers.Serializer):
    """Plan settings overridden for one what-if plan (SPEC §2.7); every field optional."""

    synthesis_duration_min = serializers.IntegerField(min_value=1, max_value=240, required=False)
    qc_duration_min = serializers.IntegerField(min_value=0, max_value=240, required=False)
    shelf_life_min = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    draw_lead_time_min = serializers.IntegerField(min_value=0, max_value=120, required=False)
    grid_min = serializers.IntegerField(min_value=1, max_value=60, required=False)
    earliest_elution = serializers.TimeField(
        format="%H:%M", input_formats=["%H:%M"], required=False, help_text="HH:MM, site zone"
    )
    working_end = serializers.TimeField(
        format="%H:%M", input_formats=["%H:%M"], required=False, help_text="HH:MM, site zone"
    )
    synthesis_modules = serializers.IntegerField(min_value=1, max_value=4, required=False)
    module_turnaround_min = serializers.IntegerField(min_value=0, max_value=240, required=False)
    max_syntheses = serializers.IntegerField(min_value=1, max_value=12, required=False)
    confidence = serializers.FloatField(min_value=0.5, max_value=0.999, required=False)
    expected_yield_percent = serializers.FloatField(min_value=1, max_value=100, required=False)
    efficiency_percent = serializers.FloatField(min_value=1, max_value=100, required=False)

    def validate(self, attrs):
        start, end = attrs.get("earliest_elution"), attrs.get("working_end")
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError(
                {"working_end": ["The working day must end after the earliest elution."]}
            )
        return attrs


class PlanCreateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day to plan, in the site's zone (YYYY-MM-DD).")
    generator = RecordIdField()
    parameters = PlanParametersSerializer(
        required=False, help_text="A what-if plan: settings overridden for this plan only."
    )


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
            actor=request.user,
            date=data["date"],
            generator_id=data["generator"],
            parameters=data.get("parameters") or None,
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


class PlanSlotsQuerySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day, in the site's zone (YYYY-MM-DD).")
    generator = RecordIdField()
    prescribed_activity_mbq = serializers.FloatField(
        min_value=0.001, max_value=10000, required=False
    )
    weight_kg = serializers.FloatField(
        min_value=MIN_WEIGHT_KG, max_value=MAX_WEIGHT_KG, required=False
    )

    def validate(self, attrs):
        if "prescribed_activity_mbq" not in attrs and "weight_kg" not in attrs:
            raise serializers.ValidationError(
                {"prescribed_activity_mbq": ["Give prescribed_activity_mbq or weight_kg."]}
            )
        if not plausible_day(attrs["date"]):
            raise serializers.ValidationError({"date": [DAY_MESSAGE]})
        return attrs


class PlanSlotsSerializer(serializers.Serializer):
    no_extra_synthesis = serializers.ListField(child=serializers.DateTimeField())
    one_more_synthesis = serializers.ListField(child=serializers.DateTimeField())


class PlanSlots(APIView):
    """Booking assistant: injection times at which a new booking is served with no extra
    synthesis (nobody unserved), and those that need one more synthesis."""

    permission_resource = "plans"

    @extend_schema(
        parameters=[PlanSlotsQuerySerializer],
        responses={200: PlanSlotsSerializer, 400: ERR_400, **READ_ERRORS},
    )
    def get(self, request):
        data = validated(PlanSlotsQuerySerializer, request.query_params)
        prescribed = data.get("prescribed_activity_mbq")
        if prescribed is None:
            prescribed = prescribed_activity_for(default_product(), data["weight_kg"])
        result = services.plan_slots(
            date=data["date"], generator_id=data["generator"], prescribed_activity_mbq=prescribed
        )
        return Response(PlanSlotsSerializer(result).data)
