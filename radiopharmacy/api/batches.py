"""API of synthesis batch records (SPEC §3 `batches/`): thin views over services.batches."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.choices import BatchStatus, SynthesisMethod
from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
    RecordIdField,
)
from radiopharmacy.core.bounds import ELUATE_VOLUME_MAX_ML, TEXT_MAX_LENGTH
from radiopharmacy.models import Batch, Product
from radiopharmacy.selectors import batches as selectors
from radiopharmacy.services import batches as services


class ReagentLotSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    lot = serializers.CharField(max_length=80)


class ElutionVolumeSerializer(serializers.Serializer):
    """The volume of one eluate a batch used, when the eluate is split between batches."""

    elution = RecordIdField()
    volume_ml = serializers.FloatField(min_value=0.001, max_value=ELUATE_VOLUME_MAX_ML)


def _text(length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, max_length=length, **kwargs)


class BatchSerializer(serializers.ModelSerializer):
    """A batch record with its stored derived numbers."""

    elutions = serializers.SerializerMethodField()
    elution_volumes = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="product.code", read_only=True)
    operator_name = serializers.SerializerMethodField()
    reagent_lots = ReagentLotSerializer(many=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "batch_number",
            "product",
            "product_code",
            "production_date",
            "sequence",
            "status",
            "elutions",
            "elution_volumes",
            "method",
            "module_name",
            "module_serial",
            "kit_lot",
            "precursor_lot",
            "precursor_mass_ug",
            "reagent_lots",
            "operator",
            "operator_name",
            "started_at",
            "eos_at",
            "activity_mbq",
            "measured_at",
            "volume_ml",
            "activity_at_eos_mbq",
            "concentration_at_eos_mbq_per_ml",
            "expires_at",
            "yield_percent",
            "yield_uncorrected_percent",
            "created_at",
        ]
        read_only_fields = fields

    def get_elutions(self, obj) -> list[int]:
        """The eluates in the order they were eluted (`selectors.batches_for_api`)."""
        uses = sorted(obj.batchelution_set.all(), key=lambda use: (use.eluted_at, use.elution_id))
        return [use.elution_id for use in uses]

    @extend_schema_field(ElutionVolumeSerializer(many=True))
    def get_elution_volumes(self, obj) -> list[dict]:
        """The eluates split between batches: the volume this batch used of each."""
        return [
            {"elution": use.elution_id, "volume_ml": use.volume_used_ml}
            for use in obj.batchelution_set.all()
            if use.volume_used_ml is not None
        ]

    def get_operator_name(self, obj) -> str:
        return obj.operator.get_full_name() or obj.operator.get_username()


class BatchInputSerializer(serializers.Serializer):
    """What a person types to record a synthesis; the rest is derived."""

    elutions = serializers.ListField(child=RecordIdField(), allow_empty=False, max_length=20)
    elution_volumes = ElutionVolumeSerializer(
        many=True,
        required=False,
        default=list,
        help_text="Only for an eluate split between batches: the volume of it this batch used "
        "(every batch using that eluate states its volume). Elutions not listed are used whole.",
    )
    method = serializers.ChoiceField(choices=SynthesisMethod.choices)
    started_at = AwareDateTimeField()
    eos_at = AwareDateTimeField()
    activity_mbq = serializers.FloatField()
    measured_at = AwareDateTimeField()
    volume_ml = serializers.FloatField()
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    module_name = _text(120, required=False, default="")
    module_serial = _text(80, required=False, default="")
    kit_lot = _text(80, required=False, default="")
    precursor_lot = _text(80, required=False, default="")
    precursor_mass_ug = serializers.FloatField(required=False, allow_null=True, default=None)
    reagent_lots = ReagentLotSerializer(many=True, required=False, default=list, max_length=50)


class BatchCorrectionSerializer(serializers.Serializer):
    """The fields to correct (any of the creation inputs) and the reason."""

    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)
    elutions = serializers.ListField(
        child=RecordIdField(), allow_empty=False, required=False, max_length=20
    )
    elution_volumes = ElutionVolumeSerializer(many=True, required=False)
    method = serializers.ChoiceField(choices=SynthesisMethod.choices, required=False)
    started_at = AwareDateTimeField(required=False)
    eos_at = AwareDateTimeField(required=False)
    activity_mbq = serializers.FloatField(required=False)
    measured_at = AwareDateTimeField(required=False)
    volume_ml = serializers.FloatField(required=False)
    module_name = _text(120, required=False)
    module_serial = _text(80, required=False)
    kit_lot = _text(80, required=False)
    precursor_lot = _text(80, required=False)
    precursor_mass_ug = serializers.FloatField(required=False, allow_null=True)
    reagent_lots = ReagentLotSerializer(many=True, required=False, max_length=50)


class BatchFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=BatchStatus.choices)
    date = django_filters.DateFilter(field_name="production_date")
    date_from = django_filters.DateFilter(field_name="production_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="production_date", lookup_expr="lte")
    product = django_filters.ModelChoiceFilter(queryset=Product.objects.all())
    batch_number = django_filters.CharFilter(lookup_expr="icontains", max_length=60)

    class Meta:
        model = Batch
        fields = ["status", "date", "date_from", "date_to", "product", "batch_number"]


def _out(batch_id: int) -> dict:
    return BatchSerializer(selectors.batches_for_api().get(pk=batch_id)).data


@extend_schema(tags=["batches"])
class BatchListCreate(generics.ListCreateAPIView):
    """Batch records, newest EOS first; filter by status, date (site date), product, number."""

    permission_resource = "batches"
    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    ordering_fields = ["eos_at", "batch_number", "id"]

    def get_queryset(self):
        return selectors.batches_for_api()

    @extend_schema(responses={200: BatchSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=BatchInputSerializer, responses={201: BatchSerializer, **WRITE_ERRORS})
    def post(self, request, *args, **kwargs):
        data = BatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = services.batch_create(actor=request.user, **data.validated_data)
        return Response(_out(batch.pk), status=status.HTTP_201_CREATED)


@extend_schema(tags=["batches"], responses={200: BatchSerializer, 404: ERR_404, **READ_ERRORS})
class BatchDetail(generics.RetrieveAPIView):
    permission_resource = "batches"
    serializer_class = BatchSerializer

    def get_queryset(self):
        return selectors.batches_for_api()


@extend_schema(
    tags=["batches"],
    request=BatchCorrectionSerializer,
    responses={200: BatchSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class BatchCorrection(APIView):
    """Correct a batch record with a reason; refused (409) once released/rejected/recalled."""

    permission_resource = "batches"

    def post(self, request, pk: int):
        get_object_or_404(Batch, pk=pk)
        data = BatchCorrectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        services.batch_correct(actor=request.user, batch_id=pk, changes=values, reason=reason)
        return Response(_out(pk))
