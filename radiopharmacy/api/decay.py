"""GET /api/v1/decay/: decay an activity from one time to another (either direction)."""

import math

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy import physics
from radiopharmacy.core.apibase import ERR_400, READ_ERRORS, query_datetime


class DecayQuerySerializer(serializers.Serializer):
    nuclide = serializers.ChoiceField(choices=sorted(physics.NUCLIDES))
    activity_mbq = serializers.FloatField(min_value=0)


class DecayResultSerializer(serializers.Serializer):
    activity_mbq = serializers.FloatField()
    half_life_min = serializers.FloatField()
    elapsed_min = serializers.FloatField()


@extend_schema(
    tags=["decay"],
    parameters=[
        OpenApiParameter("nuclide", str, enum=sorted(physics.NUCLIDES), required=True),
        OpenApiParameter("activity_mbq", float, required=True, description="Activity at `from`."),
        OpenApiParameter("from", str, required=True, description="ISO 8601 time with offset."),
        OpenApiParameter("to", str, required=True, description="ISO 8601 time with offset."),
    ],
    responses={
        200: DecayResultSerializer,
        400: ERR_400,
        **READ_ERRORS,
    },
)
class Decay(APIView):
    """The activity at `to` of `activity_mbq` of `nuclide` at `from` (either direction)."""

    permission_resource = "decay"

    def get(self, request):
        params = DecayQuerySerializer(data=request.query_params)
        errors = {}
        if not params.is_valid():
            errors.update(params.errors)
        times = {}
        for name in ("from", "to"):
            raw = request.query_params.get(name)
            if not raw:
                errors[name] = ["This field is required."]
                continue
            try:
                times[name] = query_datetime(raw, name)
            except serializers.ValidationError as exc:
                errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        nuclide = physics.get_nuclide(params.validated_data["nuclide"])
        try:
            activity = physics.decay_activity(
                params.validated_data["activity_mbq"],
                from_time=times["from"],
                to_time=times["to"],
                nuclide=nuclide,
            )
        except ValueError as exc:
            raise serializers.ValidationError({"to": [str(exc)]}) from None
        if not math.isfinite(activity):
            raise serializers.ValidationError(
                {"to": ["Decay correction over this span overflows."]}
            )
        return Response(
            DecayResultSerializer(
                {
                    "activity_mbq": activity,
                    "half_life_min": nuclide.half_life_min,
                    "elapsed_min": physics.elapsed_minutes(times["from"], times["to"]),
                }
            ).data
        )
