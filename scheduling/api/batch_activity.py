"""GET /api/v1/batches/{id}/activity/: a batch's activity at a time, what its doses hold and
what is left for new doses (it reads the doses, so it is scheduling's)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.apibase import ERR_400, ERR_404, READ_ERRORS, query_datetime
from radiopharmacy.models import Batch
from scheduling.selectors import batch_activity


class BatchActivitySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    activity_mbq = serializers.FloatField()
    concentration_mbq_per_ml = serializers.FloatField()
    allocated_mbq = serializers.FloatField()
    available_mbq = serializers.FloatField()
    available_volume_ml = serializers.FloatField()


@extend_schema(
    tags=["batches"],
    parameters=[OpenApiParameter("at", str, description="Aware ISO time; default now.")],
    responses={200: BatchActivitySerializer, 400: ERR_400, 404: ERR_404, **READ_ERRORS},
)
class BatchActivity(APIView):
    """Activity and concentration of the batch at `at`, what doses took and what is left."""

    permission_resource = "batches"

    def get(self, request, pk: int):
        batch = get_object_or_404(Batch, pk=pk)
        at = query_datetime(request.query_params.get("at"), "at") or timezone.now()
        return Response(BatchActivitySerializer(batch_activity(batch, at)).data)
