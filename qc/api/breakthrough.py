"""API of Ge-68 breakthrough results (SPEC §3 `elutions/{id}/breakthrough/`)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from qc.services.breakthrough import breakthrough_record
from radiopharmacy.core.apibase import (
    ERR_404,
    ERR_409,
    WRITE_ERRORS,
    AwareDateTimeField,
)
from radiopharmacy.models import Elution


class BreakthroughInputSerializer(serializers.Serializer):
    ge68_activity_kbq = serializers.FloatField(help_text="Ge-68 in the retained sample, kBq.")
    measured_at = AwareDateTimeField(help_text="At least 48 h after the elution.")


class BreakthroughResultSerializer(serializers.Serializer):
    breakthrough_percent = serializers.FloatField()
    passed = serializers.BooleanField()
    limit_percent = serializers.FloatField()


@extend_schema(
    tags=["elutions"],
    request=BreakthroughInputSerializer,
    responses={201: BreakthroughResultSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class ElutionBreakthrough(APIView):
    """Ge-68 breakthrough of a retained eluate sample, measured ≥ 48 h after elution.

    Over the limit, the generator goes to quarantine and every batch made from the elution gets
    a release-blocking deviation.
    """

    permission_resource = "elutions"

    def post(self, request, pk: int):
        get_object_or_404(Elution, pk=pk)
        data = BreakthroughInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        test = breakthrough_record(actor=request.user, elution_id=pk, **data.validated_data)
        return Response(
            BreakthroughResultSerializer(
                {
                    "breakthrough_percent": test.breakthrough_percent,
                    "passed": test.passed,
                    "limit_percent": test.limit_percent,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
