"""API of the site layer (SPEC §3): the activity balance of a batch and the forecast of a
generator, which read the production records together with the doses and bookings."""

from dataclasses import asdict

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import ERR_400, ERR_404, READ_ERRORS
from radiopharmacy.models import Batch, Generator
from radiopharmacy.site.balance import batch_balance
from radiopharmacy.site.forecast import generator_forecast

MAX_FORECAST_DAYS = 800  # beyond any generator's shelf life


class DoseBalanceSerializer(serializers.Serializer):
    label = serializers.CharField()
    drawn_mbq = serializers.FloatField()
    measured = serializers.BooleanField(
        help_text="False: the volume drawn at the EOS concentration."
    )
    administered_mbq = serializers.FloatField(allow_null=True)
    residue_mbq = serializers.FloatField(allow_null=True)
    unaccounted_mbq = serializers.FloatField(allow_null=True)


class BalanceSerializer(serializers.Serializer):
    eos_at = serializers.DateTimeField()
    eluate_in_mbq = serializers.FloatField()
    product_at_eos_mbq = serializers.FloatField()
    synthesis_losses_mbq = serializers.FloatField()
    qc_samples_mbq = serializers.FloatField()
    doses_drawn_mbq = serializers.FloatField()
    administered_mbq = serializers.FloatField()
    residues_mbq = serializers.FloatField()
    left_in_vial_mbq = serializers.FloatField()
    unaccounted_mbq = serializers.FloatField()
    unaccounted_percent = serializers.FloatField(help_text="Of the product at EOS.")
    tolerance_percent = serializers.FloatField()
    flagged = serializers.BooleanField()
    doses = DoseBalanceSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())


@extend_schema(tags=["batches"], responses={200: BalanceSerializer, 404: ERR_404, **READ_ERRORS})
class BatchBalanceView(APIView):
    """The activity balance of a batch (SPEC §2.9), every activity decay-corrected to EOS."""

    permission_resource = "batches"

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch, pk=pk)
        return Response(BalanceSerializer(asdict(batch_balance(batch))).data)


class ForecastWeekSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    ge68_activity_mbq = serializers.FloatField()
    efficiency_percent = serializers.FloatField()
    efficiency_low_percent = serializers.FloatField(allow_null=True)
    efficiency_high_percent = serializers.FloatField(allow_null=True)
    expected_eluate_mbq = serializers.FloatField()
    expected_eluate_low_mbq = serializers.FloatField(allow_null=True)
    expected_eluate_high_mbq = serializers.FloatField(allow_null=True)
    patients_one_synthesis = serializers.IntegerField()
    patients_two_syntheses = serializers.IntegerField()


class TrendSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    slope_per_week = serializers.FloatField(allow_null=True)
    slope_se_per_week = serializers.FloatField(allow_null=True)
    current = serializers.FloatField(allow_null=True)


class BreakthroughTrendSerializer(TrendSerializer):
    limit_percent = serializers.FloatField()
    predicted_at_expiry_percent = serializers.FloatField(allow_null=True)
    reaches_limit_at = serializers.DateTimeField(allow_null=True)


class ForecastBasisSerializer(serializers.Serializer):
    fit_from = serializers.DateTimeField()
    bookings_counted = serializers.IntegerField()
    yield_percent = serializers.FloatField()
    patient_interval_min = serializers.FloatField()
    second_elution_after_min = serializers.FloatField()


class ForecastSerializer(serializers.Serializer):
    generator = serializers.IntegerField()
    start = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    efficiency = TrendSerializer()
    weeks = ForecastWeekSerializer(many=True)
    standard_patient_mbq = serializers.FloatField()
    daily_need_patients = serializers.FloatField(allow_null=True)
    below_need_at = serializers.DateTimeField(allow_null=True)
    breakthrough = BreakthroughTrendSerializer()
    notes = serializers.ListField(child=serializers.CharField())
    basis = ForecastBasisSerializer()


class ForecastQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_FORECAST_DAYS)


@extend_schema(
    tags=["generators"],
    parameters=[
        OpenApiParameter(
            "days", int, description=f"Horizon in days (1 to {MAX_FORECAST_DAYS}); default expiry."
        )
    ],
    responses={200: ForecastSerializer, 400: ERR_400, 404: ERR_404, **READ_ERRORS},
)
class GeneratorForecastView(APIView):
    """The generator's weekly forecast until expiry (SPEC §2.9): efficiency trend with its 95 %
    band, expected morning eluate, patients one and two syntheses a day serve, the week it falls
    below the site's daily need, and the breakthrough trend."""

    permission_resource = "generators"

    def get(self, request, pk: int):
        generator = get_object_or_404(Generator, pk=pk)
        params = ForecastQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result, basis = generator_forecast(generator, days=params.validated_data.get("days"))
        data = {**asdict(result), "generator": generator.pk, "basis": basis}
        return Response(ForecastSerializer(data).data)
