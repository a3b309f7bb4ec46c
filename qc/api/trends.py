"""GET /api/v1/trends/: a metric's control chart over a period (SPEC §2.9, §3 `trends/`)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.services import trends
from radiopharmacy.choices import SynthesisMethod
from radiopharmacy.core.apibase import ERR_400, READ_ERRORS, RecordIdField, query_datetime

DEFAULT_PERIOD = timedelta(days=90)
MAX_PERIOD = timedelta(days=3 * 366)


class TrendQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=list(trends.METRICS))
    generator = RecordIdField(required=False)
    method = serializers.ChoiceField(choices=SynthesisMethod.choices, required=False)


class TrendPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    value = serializers.FloatField()
    moving_range = serializers.FloatField(allow_null=True)
    record = serializers.CharField(help_text='The record: "batch:42", "elution:7", ...')
    batch = serializers.IntegerField(allow_null=True)
    batch_number = serializers.CharField()
    rules = serializers.ListField(child=serializers.IntegerField())


class TrendViolationSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    rule = serializers.IntegerField()
    text = serializers.CharField()
    value = serializers.FloatField()
    record = serializers.CharField()
    batch = serializers.IntegerField(allow_null=True)
    batch_number = serializers.CharField()


class TrendChartSerializer(serializers.Serializer):
    metric = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    baseline_points = serializers.IntegerField()
    rules = serializers.ListField(child=serializers.IntegerField())
    centre_line = serializers.FloatField(allow_null=True)
    sigma = serializers.FloatField(allow_null=True)
    upper_control_limit = serializers.FloatField(allow_null=True)
    lower_control_limit = serializers.FloatField(allow_null=True)
    moving_range_mean = serializers.FloatField(allow_null=True)
    moving_range_upper_limit = serializers.FloatField(allow_null=True)
    points = TrendPointSerializer(many=True)
    violations = TrendViolationSerializer(many=True)


def period_from_query(params) -> tuple:
    """(start, end) from `from` and `to` (default: the last 90 days); a 400 when reversed or
    longer than three years."""
    end = query_datetime(params.get("to"), "to") or timezone.now()
    start = query_datetime(params.get("from"), "from") or end - DEFAULT_PERIOD
    if start > end:
        raise serializers.ValidationError({"from": ["`from` is after `to`."]})
    if end - start > MAX_PERIOD:
        raise serializers.ValidationError({"from": ["A period is at most three years."]})
    return start, end


@extend_schema(
    tags=["trends"],
    parameters=[
        OpenApiParameter("metric", str, enum=list(trends.METRICS), required=True),
        OpenApiParameter("from", str, description="ISO 8601 with offset; default 90 days ago."),
        OpenApiParameter("to", str, description="ISO 8601 with offset; default now."),
        OpenApiParameter(
            "generator", int, description="Required for `efficiency`; filters the others."
        ),
        OpenApiParameter(
            "method",
            str,
            enum=list(SynthesisMethod.values),
            description="`ph` only: the kit and the automated synthesis have their own chart.",
        ),
    ],
    responses={200: TrendChartSerializer, 400: ERR_400, **READ_ERRORS},
)
class TrendChart(APIView):
    """Points, centre line, 3-sigma limits from the baseline period, and Nelson rule violations
    (1, 2, 3, 5) of a quality metric."""

    permission_resource = "trends"

    def get(self, request):
        params = TrendQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = period_from_query(request.query_params)
        metric, points, chart = trends.trend_chart(
            params.validated_data["metric"],
            start=start,
            end=end,
            generator_id=params.validated_data.get("generator"),
            method=params.validated_data.get("method"),
        )
        return Response(TrendChartSerializer(trends.chart_as_dict(metric, points, chart)).data)
