"""API of quality events and their CAPA (SPEC §3 `deviations/...`, `capas/...`)."""

import django_filters
from django.contrib.auth.models import User
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.models import Capa, Deviation, Investigation
from qc.services.capas import capa_complete, capa_create, capa_verify
from qc.services.deviations import deviation_close, deviation_open, investigation_record
from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    RecordIdFilter,
    signature_otp_field,
    signature_password_field,
)
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.sitetime import site_today
from radiopharmacy.models import Batch

SIGNATURE_403 = OpenApiResponse(
    description="Not a qualified person, or wrong password (logged). Nothing is signed."
)


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


class InvestigationSerializer(serializers.ModelSerializer):
    performed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Investigation
        fields = [
            "id",
            "phase",
            "findings",
            "assignable_cause",
            "performed_by",
            "performed_by_name",
            "recorded_at",
        ]
        read_only_fields = fields

    def get_performed_by_name(self, obj) -> str:
        return _name(obj.performed_by)


class CapaSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Capa
        fields = [
            "id",
            "deviation",
            "description",
            "owner",
            "owner_name",
            "due_on",
            "overdue",
            "status",
            "created_by",
            "created_at",
            "completed_by",
            "completed_at",
            "completion_note",
            "verified_by",
            "verified_at",
            "effectiveness_check",
        ]
        read_only_fields = fields

    def get_owner_name(self, obj) -> str:
        return _name(obj.owner)

    def get_overdue(self, obj) -> bool:
        return obj.status == Capa.Status.OPEN and obj.due_on < site_today()


class DeviationSerializer(serializers.ModelSerializer):
    batch_number = serializers.CharField(source="batch.batch_number", read_only=True, default="")
    investigations = InvestigationSerializer(many=True, read_only=True)
    capas = CapaSerializer(many=True, read_only=True)

    class Meta:
        model = Deviation
        fields = [
            "id",
            "batch",
            "batch_number",
            "kind",
            "description",
            "status",
            "opened_by",
            "opened_at",
            "qc_result",
            "investigations",
            "conclusion",
            "closure_note",
            "closure_meaning",
            "closed_by",
            "closed_printed_name",
            "closed_at",
            "affected_doses",
            "capas",
        ]
        read_only_fields = fields


def deviations_queryset():
    return Deviation.objects.select_related("batch").prefetch_related(
        Prefetch("investigations", queryset=Investigation.objects.select_related("performed_by")),
        Prefetch("capas", queryset=Capa.objects.select_related("owner")),
    )


class DeviationFilter(django_filters.FilterSet):
    batch = RecordIdFilter(field_name="batch_id")
    status = django_filters.ChoiceFilter(choices=Deviation.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Deviation.Kind.choices)

    class Meta:
        model = Deviation
        fields = ["batch", "status", "kind"]


class DeviationInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Deviation.Kind.choices)
    batch = serializers.PrimaryKeyRelatedField(
        queryset=Batch.objects.all(), required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class InvestigationInputSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=Investigation.Phase.choices)
    findings = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    assignable_cause = serializers.CharField(
        max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class CloseInputSerializer(serializers.Serializer):
    conclusion = serializers.ChoiceField(choices=Deviation.Conclusion.choices)
    note = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    password = signature_password_field()
    otp_token = signature_otp_field()


@extend_schema(tags=["quality events"])
class DeviationListCreate(generics.ListCreateAPIView):
    """Quality events (OOS, out of trend, deviations, complaints), newest first; filter by
    batch, status and kind. POST opens one."""

    permission_resource = "deviations"
    serializer_class = DeviationSerializer
    filterset_class = DeviationFilter

    def get_queryset(self):
        return deviations_queryset().order_by("-opened_at", "-id")

    @extend_schema(responses={200: DeviationSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=DeviationInputSerializer, responses={201: DeviationSerializer, **WRITE_ERRORS}
    )
    def post(self, request):
        data = DeviationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = deviation_open(actor=request.user, **data.validated_data)
        return Response(
            DeviationSerializer(deviations_queryset().get(pk=event.pk)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    tags=["quality events"], responses={200: DeviationSerializer, 404: ERR_404, **READ_ERRORS}
)
class DeviationDetail(generics.RetrieveAPIView):
    """One quality event with its investigation, closing signature and CAPA."""

    permission_resource = "deviations"
    serializer_class = DeviationSerializer
    queryset = deviations_queryset()


@extend_schema(
    tags=["quality events"],
    request=InvestigationInputSerializer,
    responses={201: DeviationSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class DeviationInvestigation(APIView):
    """Record phase 1 (laboratory) or phase 2 (full-scale) of the investigation."""

    permission_resource = "deviations"

    def post(self, request, pk: int):
        get_object_or_404(Deviation, pk=pk)
        data = InvestigationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        investigation_record(deviation_id=pk, actor=request.user, **data.validated_data)
        return Response(
            DeviationSerializer(deviations_queryset().get(pk=pk)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    tags=["quality events"],
    request=CloseInputSerializer,
    responses={
        201: DeviationSerializer,
        400: ERR_400,
        401: READ_ERRORS[401],
        403: SIGNATURE_403,
        404: ERR_404,
        409: ERR_409,
    },
)
class DeviationClose(APIView):
    """Close the event with the qualified person's signature ("Investigation closed") and a
    conclusion: `invalidated`, `confirmed` or `no_product_impact`."""

    permission_resource = "deviation_close"

    def post(self, request, pk: int):
        get_object_or_404(Deviation, pk=pk)
        data = CloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deviation_close(deviation_id=pk, actor=request.user, request=request, **data.validated_data)
        return Response(
            DeviationSerializer(deviations_queryset().get(pk=pk)).data,
            status=status.HTTP_201_CREATED,
        )


# --- CAPA -------------------------------------------------------------------------------------


class CapaInputSerializer(serializers.Serializer):
    deviation = serializers.PrimaryKeyRelatedField(queryset=Deviation.objects.all())
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    due_on = serializers.DateField()


class CapaCompleteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class CapaVerifySerializer(serializers.Serializer):
    effectiveness_check = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class CapaFilter(django_filters.FilterSet):
    deviation = RecordIdFilter(field_name="deviation_id")
    status = django_filters.ChoiceFilter(choices=Capa.Status.choices)
    owner = RecordIdFilter(field_name="owner_id")

    class Meta:
        model = Capa
        fields = ["deviation", "status", "owner"]


@extend_schema(tags=["quality events"])
class CapaListCreate(generics.ListCreateAPIView):
    """Corrective and preventive actions, by due date; filter by event, status and owner."""

    permission_resource = "capas"
    serializer_class = CapaSerializer
    filterset_class = CapaFilter
    queryset = Capa.objects.select_related("owner").order_by("due_on", "id")

    @extend_schema(responses={200: CapaSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=CapaInputSerializer, responses={201: CapaSerializer, **WRITE_ERRORS})
    def post(self, request):
        data = CapaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        capa = capa_create(actor=request.user, **data.validated_data)
        return Response(CapaSerializer(capa).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["quality events"],
    request=CapaCompleteSerializer,
    responses={201: CapaSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class CapaComplete(APIView):
    """Mark the action done, with what was done."""

    permission_resource = "capas"

    def post(self, request, pk: int):
        get_object_or_404(Capa, pk=pk)
        data = CapaCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        capa = capa_complete(capa_id=pk, actor=request.user, **data.validated_data)
        return Response(CapaSerializer(capa).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["quality events"],
    request=CapaVerifySerializer,
    responses={201: CapaSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class CapaVerify(APIView):
    """Verify a done action with its effectiveness check (not by who completed it: 403)."""

    permission_resource = "capas"

    def post(self, request, pk: int):
        get_object_or_404(Capa, pk=pk)
        data = CapaVerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        capa = capa_verify(capa_id=pk, actor=request.user, **data.validated_data)
        return Response(CapaSerializer(capa).data, status=status.HTTP_201_CREATED)
