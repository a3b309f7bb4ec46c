"""REST endpoints for bookings and doses (SPEC §3). Thin: parse, one service call, serialize."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import AwareDateTimeField
from scheduling.choices import BookingStatus, DoseStatus
from scheduling.models import Booking, Dose
from scheduling.selectors import active_doses_prefetch, site_day_bounds
from scheduling.services import bookings as services

ERROR = inline_serializer(
    "SchedulingError",
    fields={"detail": serializers.CharField()},
)
CONFLICT = inline_serializer(
    "SchedulingConflict",
    fields={"detail": serializers.CharField(), "blocking": serializers.ListField()},
)
READ_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR}
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: CONFLICT}


# --- serializers ------------------------------------------------------------------------------


def _status_field(choices) -> serializers.CharField:
    # A plain string in the schema: several areas have a `status` enum and the generated
    # component names would collide.
    return serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(value for value, _ in choices.choices)
    )


class BookingSerializer(serializers.ModelSerializer):
    dose = serializers.SerializerMethodField()
    status = _status_field(BookingStatus)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "patient_ref",
            "product",
            "product_name",
            "weight_kg",
            "injection_at",
            "prescribed_activity_mbq",
            "tolerance_percent",
            "status",
            "status_reason",
            "notes",
            "dose",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_dose(self, obj) -> int | None:
        dose = obj.active_dose
        return dose.pk if dose else None


class BookingCreateSerializer(serializers.Serializer):
    patient_ref = serializers.CharField(max_length=40)
    weight_kg = serializers.FloatField()
    injection_at = AwareDateTimeField()
    prescribed_activity_mbq = serializers.FloatField(required=False, allow_null=True)
    tolerance_percent = serializers.FloatField(required=False, allow_null=True)
    product = serializers.IntegerField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class RescheduleSerializer(serializers.Serializer):
    injection_at = AwareDateTimeField()
    reason = serializers.CharField()


class DoseSerializer(serializers.ModelSerializer):
    status = _status_field(DoseStatus)
    batch_number = serializers.CharField(source="batch.batch_number", read_only=True)
    patient_ref = serializers.CharField(source="booking.patient_ref", read_only=True)
    injection_at = serializers.DateTimeField(source="booking.injection_at", read_only=True)

    class Meta:
        model = Dose
        fields = [
            "id",
            "booking",
            "patient_ref",
            "batch",
            "batch_number",
            "status",
            "injection_at",
            "draw_at",
            "activity_at_injection_planned_mbq",
            "activity_to_draw_mbq",
            "concentration_at_draw_mbq_per_ml",
            "volume_to_draw_ml",
            "measured_activity_mbq",
            "measured_at",
            "activity_at_injection_mbq",
            "deviation_percent",
            "within_tolerance",
            "injected_at",
            "residual_activity_mbq",
            "residual_measured_at",
            "administered_activity_mbq",
            "cancel_reason",
            "assigned_by",
            "dispensed_by",
            "administered_by",
            "created_at",
        ]
        read_only_fields = fields


class DoseCreateSerializer(serializers.Serializer):
    booking = serializers.IntegerField(min_value=1)
    batch = serializers.IntegerField(min_value=1)
    draw_at = AwareDateTimeField()


class MeasurementSerializer(serializers.Serializer):
    activity_mbq = serializers.FloatField(min_value=0.0)
    measured_at = AwareDateTimeField()


class MeasurementResultSerializer(serializers.Serializer):
    dose = serializers.IntegerField()
    activity_at_injection_mbq = serializers.FloatField()
    deviation_percent = serializers.FloatField()
    within_tolerance = serializers.BooleanField()


class AdministrationSerializer(serializers.Serializer):
    injected_at = AwareDateTimeField()
    residual_activity_mbq = serializers.FloatField(min_value=0.0)
    residual_measured_at = AwareDateTimeField()


class AdministrationResultSerializer(serializers.Serializer):
    dose = serializers.IntegerField()
    administered_activity_mbq = serializers.FloatField()


# --- filters ----------------------------------------------------------------------------------


class _DayFilterMixin:
    day_field = ""

    def filter_date(self, queryset, name, value):
        start, end = site_day_bounds(value)
        return queryset.filter(**{f"{self.day_field}__gte": start, f"{self.day_field}__lt": end})


class BookingFilter(_DayFilterMixin, django_filters.FilterSet):
    day_field = "injection_at"
    date = django_filters.DateFilter(method="filter_date", label="Injection date (site zone)")
    status = django_filters.ChoiceFilter(choices=BookingStatus.choices)

    class Meta:
        model = Booking
        fields = ["date", "status"]


class DoseFilter(_DayFilterMixin, django_filters.FilterSet):
    day_field = "draw_at"
    date = django_filters.DateFilter(method="filter_date", label="Draw date (site zone)")
    status = django_filters.ChoiceFilter(choices=DoseStatus.choices)
    batch = django_filters.NumberFilter(field_name="batch_id")
    booking = django_filters.NumberFilter(field_name="booking_id")

    class Meta:
        model = Dose
        fields = ["date", "status", "batch", "booking"]


# --- views ------------------------------------------------------------------------------------


def _booking_out(booking_id: int) -> dict:
    booking = (
        Booking.objects.select_related("product")
        .prefetch_related(active_doses_prefetch())
        .get(pk=booking_id)
    )
    return BookingSerializer(booking).data


def _dose_out(dose_id: int) -> dict:
    return DoseSerializer(Dose.objects.select_related("booking", "batch").get(pk=dose_id)).data


class BookingListCreate(generics.ListCreateAPIView):
    """Bookings; filter by `date` (YYYY-MM-DD in the site's zone) and `status`."""

    permission_resource = "bookings"
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    ordering_fields = ["injection_at", "id"]

    def get_queryset(self):
        return (
            Booking.objects.select_related("product")
            .prefetch_related(active_doses_prefetch())
            .order_by("injection_at", "id")
        )

    @extend_schema(responses={200: BookingSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BookingCreateSerializer, responses={201: BookingSerializer, **WRITE_ERRORS}
    )
    def post(self, request, *args, **kwargs):
        data = _valid(BookingCreateSerializer, request.data)
        booking = services.booking_create(
            actor=request.user,
            patient_ref=data["patient_ref"],
            weight_kg=data["weight_kg"],
            injection_at=data["injection_at"],
            prescribed_activity_mbq=data.get("prescribed_activity_mbq"),
            tolerance_percent=data.get("tolerance_percent"),
            product_id=data.get("product"),
            notes=data.get("notes", ""),
        )
        return Response(_booking_out(booking.pk), status=status.HTTP_201_CREATED)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(responses={200: BookingSerializer, 404: ERROR, 401: ERROR, 403: ERROR})
class BookingDetail(generics.RetrieveAPIView):
    permission_resource = "bookings"
    serializer_class = BookingSerializer

    def get_queryset(self):
        return Booking.objects.select_related("product").prefetch_related(active_doses_prefetch())


class BookingCancel(APIView):
    """Cancel a booking with a reason; its dose is cancelled and its volume released."""

    permission_resource = "bookings"

    @extend_schema(request=ReasonSerializer, responses={200: BookingSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        data = _valid(ReasonSerializer, request.data)
        services.booking_cancel(actor=request.user, booking_id=pk, reason=data["reason"])
        return Response(_booking_out(pk))


class BookingMissed(APIView):
    """The patient did not attend: mark the booking missed with a reason; an undrawn dose's
    volume goes back to the batch."""

    permission_resource = "bookings"

    @extend_schema(request=ReasonSerializer, responses={200: BookingSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        data = _valid(ReasonSerializer, request.data)
        services.booking_mark_missed(actor=request.user, booking_id=pk, reason=data["reason"])
        return Response(_booking_out(pk))


class BookingReschedule(APIView):
    """Move a booking to a new injection time with a reason; an assigned dose is cancelled."""

    permission_resource = "bookings"

    @extend_schema(request=RescheduleSerializer, responses={200: BookingSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        data = _valid(RescheduleSerializer, request.data)
        services.booking_reschedule(
            actor=request.user,
            booking_id=pk,
            injection_at=data["injection_at"],
            reason=data["reason"],
        )
        return Response(_booking_out(pk))


class DoseListCreate(generics.ListCreateAPIView):
    """Doses; filter by `date` (draw date in the site's zone), `batch`, `booking`, `status`.

    POST assigns a booking to a released batch: 409 with `blocking` when the batch cannot serve it.
    """

    permission_resource = "doses"
    serializer_class = DoseSerializer
    filterset_class = DoseFilter
    ordering_fields = ["draw_at", "id"]

    def get_queryset(self):
        return Dose.objects.select_related("booking", "batch").order_by("draw_at", "id")

    @extend_schema(responses={200: DoseSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=DoseCreateSerializer, responses={201: DoseSerializer, **WRITE_ERRORS})
    def post(self, request, *args, **kwargs):
        data = _valid(DoseCreateSerializer, request.data)
        dose = services.dose_assign(
            actor=request.user,
            booking_id=data["booking"],
            batch_id=data["batch"],
            draw_at=data["draw_at"],
        )
        return Response(_dose_out(dose.pk), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: DoseSerializer, 404: ERROR, 401: ERROR, 403: ERROR})
class DoseDetail(generics.RetrieveAPIView):
    permission_resource = "doses"
    serializer_class = DoseSerializer

    def get_queryset(self):
        return Dose.objects.select_related("booking", "batch")


class DoseMeasurement(APIView):
    """Record the syringe reading: activity at the planned injection time and tolerance check."""

    permission_resource = "doses"

    @extend_schema(
        request=MeasurementSerializer,
        responses={200: MeasurementResultSerializer, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = _valid(MeasurementSerializer, request.data)
        get_object_or_404(Dose, pk=pk)
        dose = services.dose_measure(
            actor=request.user,
            dose_id=pk,
            activity_mbq=data["activity_mbq"],
            measured_at=data["measured_at"],
        )
        return Response(
            {
                "dose": dose.pk,
                "activity_at_injection_mbq": dose.activity_at_injection_mbq,
                "deviation_percent": dose.deviation_percent,
                "within_tolerance": dose.within_tolerance,
            }
        )


class DoseAdministration(APIView):
    """Record the injection and the residual: the administered activity."""

    permission_resource = "doses"

    @extend_schema(
        request=AdministrationSerializer,
        responses={200: AdministrationResultSerializer, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = _valid(AdministrationSerializer, request.data)
        get_object_or_404(Dose, pk=pk)
        dose = services.dose_administer(
            actor=request.user,
            dose_id=pk,
            injected_at=data["injected_at"],
            residual_activity_mbq=data["residual_activity_mbq"],
            residual_measured_at=data["residual_measured_at"],
        )
        return Response(
            {"dose": dose.pk, "administered_activity_mbq": dose.administered_activity_mbq}
        )


class DoseCancel(APIView):
    """Cancel a dose with a reason; an undrawn dose's volume goes back to the batch."""

    permission_resource = "doses"

    @extend_schema(request=ReasonSerializer, responses={200: DoseSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        data = _valid(ReasonSerializer, request.data)
        services.dose_cancel(actor=request.user, dose_id=pk, reason=data["reason"])
        return Response(_dose_out(pk))


# --- Production plans (issue 6) -------------------------------------------------------------

from drf_spectacular.utils import extend_schema_field  # noqa: E402

from scheduling.choices import PlannedRunStatus, PlanStatus  # noqa: E402
from scheduling.models import ProductionPlan  # noqa: E402
from scheduling.services import plans as services_plans  # noqa: E402


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
    status = _status_field(PlannedRunStatus)
    batch = serializers.IntegerField(source="batch_id", allow_null=True)


class ProductionPlanSerializer(serializers.ModelSerializer):
    """A saved plan: SPEC §3 (`date`, `generator`, `runs`, `unserved`) plus its state, the
    explanation of its inputs and, once accepted, its planned batches."""

    status = _status_field(PlanStatus)
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
        return services_plans.plan_explanation(obj)


class ProductionPlanDetailSerializer(ProductionPlanSerializer):
    """One plan with the exact planner inputs it was computed from."""

    inputs = serializers.JSONField(read_only=True)

    class Meta(ProductionPlanSerializer.Meta):
        fields = [*ProductionPlanSerializer.Meta.fields, "inputs"]
        read_only_fields = fields


class PlanCreateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day to plan, in the site's zone (YYYY-MM-DD).")
    generator = serializers.IntegerField(min_value=1)


class PlanFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="date", label="Plan date (site zone)")
    generator = django_filters.NumberFilter(field_name="generator_id")
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

    @extend_schema(responses={200: ProductionPlanSerializer(many=True), **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PlanCreateSerializer,
        responses={201: ProductionPlanDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = _valid(PlanCreateSerializer, request.data)
        plan = services_plans.plan_compute(
            actor=request.user, date=data["date"], generator_id=data["generator"]
        )
        return Response(_plan_out(plan.pk), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: ProductionPlanDetailSerializer, 404: ERROR, 401: ERROR, 403: ERROR})
class PlanDetail(generics.RetrieveAPIView):
    permission_resource = "plans"
    serializer_class = ProductionPlanDetailSerializer

    def get_queryset(self):
        return _plans_queryset()


class PlanAccept(APIView):
    """Accept a draft plan: its runs become planned batches; the day's accepted plan is
    superseded. 409 when the plan is not a draft."""

    permission_resource = "plans"

    @extend_schema(request=None, responses={200: ProductionPlanDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        services_plans.plan_accept(actor=request.user, plan_id=pk)
        return Response(_plan_out(pk))
