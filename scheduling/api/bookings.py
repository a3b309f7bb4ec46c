"""REST endpoints for bookings (SPEC §3). Thin: parse, one service call, serialize."""

import django_filters
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
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from scheduling.api.common import ReasonSerializer, SiteDayFilterMixin, status_field, validated
from scheduling.choices import BookingStatus
from scheduling.models import Booking
from scheduling.selectors import active_doses_prefetch
from scheduling.services import bookings as services


class BookingSerializer(serializers.ModelSerializer):
    dose = serializers.SerializerMethodField()
    status = status_field(BookingStatus)
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
    product = RecordIdField(required=False, allow_null=True)
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_MAX_LENGTH
    )


class RescheduleSerializer(serializers.Serializer):
    injection_at = AwareDateTimeField()
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class BookingFilter(SiteDayFilterMixin, django_filters.FilterSet):
    day_field = "injection_at"
    date = django_filters.DateFilter(method="filter_date", label="Injection date (site zone)")
    status = django_filters.ChoiceFilter(choices=BookingStatus.choices)

    class Meta:
        model = Booking
        fields = ["date", "status"]


def _booking_out(booking_id: int) -> dict:
    booking = (
        Booking.objects.select_related("product")
        .prefetch_related(active_doses_prefetch())
        .get(pk=booking_id)
    )
    return BookingSerializer(booking).data


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

    @extend_schema(responses={200: BookingSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BookingCreateSerializer,
        responses={201: BookingSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        data = validated(BookingCreateSerializer, request.data)
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


@extend_schema(responses={200: BookingSerializer, 404: ERR_404, **READ_ERRORS})
class BookingDetail(generics.RetrieveAPIView):
    permission_resource = "bookings"
    serializer_class = BookingSerializer

    def get_queryset(self):
        return Booking.objects.select_related("product").prefetch_related(active_doses_prefetch())


class BookingCancel(APIView):
    """Cancel a booking with a reason; its dose is cancelled and its volume released."""

    permission_resource = "bookings"

    @extend_schema(
        request=ReasonSerializer,
        responses={200: BookingSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(ReasonSerializer, request.data)
        services.booking_cancel(actor=request.user, booking_id=pk, reason=data["reason"])
        return Response(_booking_out(pk))


class BookingMissed(APIView):
    """The patient did not attend: mark the booking missed with a reason; an undrawn dose's
    volume goes back to the batch."""

    permission_resource = "bookings"

    @extend_schema(
        request=ReasonSerializer,
        responses={200: BookingSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(ReasonSerializer, request.data)
        services.booking_mark_missed(actor=request.user, booking_id=pk, reason=data["reason"])
        return Response(_booking_out(pk))


class BookingReschedule(APIView):
    """Move a booking to a new injection time with a reason; an assigned dose is cancelled."""

    permission_resource = "bookings"

    @extend_schema(
        request=RescheduleSerializer,
        responses={200: BookingSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
    )
    def post(self, request, pk: int):
        data = validated(RescheduleSerializer, request.data)
        services.booking_reschedule(
            actor=request.user,
            booking_id=pk,
            injection_at=data["injection_at"],
            reason=data["reason"],
        )
        return Response(_booking_out(pk))
