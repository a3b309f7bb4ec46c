"""REST endpoints for doses (SPEC §3): assign from a batch, measure, administer, cancel. Thin:
parse, one service call, serialize."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
    RecordIdField,
    RecordIdFilter,
)
from scheduling.api.common import ReasonSerializer, SiteDayFilterMixin, status_field, validated
from scheduling.choices import DoseStatus
from scheduling.models import Dose
from scheduling.services import doses as services


class DoseSerializer(serializers.ModelSerializer):
    status = status_field(DoseStatus)
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
    booking = RecordIdField()
    batch = RecordIdField()
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


class DoseFilter(SiteDayFilterMixin, django_filters.FilterSet):
    day_field = "draw_at"
    date = django_filters.DateFilter(method="filter_date", label="Draw date (site zone)")
    status = django_filters.ChoiceFilter(choices=DoseStatus.choices)
    batch = RecordIdFilter(field_name="batch_id")
    booking = RecordIdFilter(field_name="booking_id")

    class Meta:
        model = Dose
        fields = ["date", "status", "batch", "booking"]


def _dose_out(dose_id: int) -> dict:
    return DoseSerializer(Dose.objects.select_related("booking", "batch").get(pk=dose_id)).data


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

    @extend_schema(responses={200: DoseSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=DoseCreateSerializer,
        responses={201: DoseSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = validated(DoseCreateSerializer, request.data)
        dose = services.dose_assign(
            actor=request.user,
            booking_id=data["booking"],
            batch_id=data["batch"],
            draw_at=data["draw_at"],
        )
        return Response(_dose_out(dose.pk), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: DoseSerializer, 404: ERR_404, **READ_ERRORS})
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
        responses={200: MeasurementResultSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(MeasurementSerializer, request.data)
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
        responses={200: AdministrationResultSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(AdministrationSerializer, request.data)
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

    @extend_schema(
        request=ReasonSerializer,
        responses={200: DoseSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(ReasonSerializer, request.data)
        services.dose_cancel(actor=request.user, dose_id=pk, reason=data["reason"])
        return Response(_dose_out(pk))
