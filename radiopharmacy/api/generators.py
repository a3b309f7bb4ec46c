"""API of generators (SPEC §3 `generators/`): register, status, prediction; thin views."""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core.apibase import (
    ERR_400,
    ERR_404,
    ERR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    AwareDateTimeField,
    GalliumModelSerializer,
    query_datetime,
)
from radiopharmacy.core.bounds import MAX_ELUTIONS_LIMIT, TEXT_MAX_LENGTH
from radiopharmacy.models import Generator, SiteSettings
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.services import generators as services

# --- Serializers ---------------------------------------------------------------------------------


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GeneratorSerializer(GalliumModelSerializer):
    """A generator with its derived numbers. Give it generators from `selectors` (prefetched)."""

    elution_count = serializers.SerializerMethodField()
    efficiency_percent = serializers.SerializerMethodField()
    expected_eluate_now_mbq = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    expires_at = AwareDateTimeField(
        required=False, help_text="Defaults to calibration + 12 months."
    )
    status = serializers.ChoiceField(choices=GeneratorStatus.choices, required=False)

    class Meta:
        model = Generator
        fields = [
            "id",
            "manufacturer",
            "model",
            "serial_number",
            "nominal_activity_mbq",
            "calibrated_at",
            "received_at",
            "expires_at",
            "max_elutions",
            "nominal_efficiency_percent",
            "status",
            "registered_by",
            "created_at",
            "accepted_at",
            "accepted_by",
            "acceptance_note",
            "elution_count",
            "efficiency_percent",
            "expected_eluate_now_mbq",
            "warnings",
        ]
        read_only_fields = [
            "registered_by",
            "created_at",
            "accepted_at",
            "accepted_by",
            "acceptance_note",
        ]
        # Uniqueness is the service's rule (one clear message); no extra query per row here.
        extra_kwargs = {
            "serial_number": {"validators": []},
            "max_elutions": {"min_value": 1, "max_value": MAX_ELUTIONS_LIMIT},
        }

    def _now(self):
        return self.context.setdefault("now", timezone.now())

    def get_elution_count(self, obj) -> int:
        return selectors.elution_count(obj)

    def get_efficiency_percent(self, obj) -> float:
        return selectors.efficiency_percent(obj)

    @extend_schema_field(
        serializers.FloatField(
            allow_null=True,
            help_text=(
                "Expected eluate if eluted now (SPEC §2.2). Null when the generator has no "
                "prediction to show: it is retired, expired, or more than 2 years from its "
                "calibration (use `prediction/` with `at` for a time within that range)."
            ),
        )
    )
    def get_expected_eluate_now_mbq(self, obj) -> float | None:
        shown, _ = selectors.shown_prediction(obj, at=self._now())
        return None if shown is None else shown.expected_eluate_mbq

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, obj) -> list[dict]:
        if "site_settings" not in self.context:
            self.context["site_settings"] = SiteSettings.current()
        found = selectors.generator_warnings(
            obj, now=self._now(), site=self.context["site_settings"]
        )
        return [w.as_dict() for w in found]


class GeneratorStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=GeneratorStatus.choices)
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class GeneratorAcceptSerializer(serializers.Serializer):
    """The receipt check (SPEC §2.2): every check confirmed, and a note."""

    documents_checked = serializers.BooleanField(
        help_text="The delivery documents and the certificate are checked."
    )
    certificate_activity_checked = serializers.BooleanField(
        help_text="The Ge-68 activity on the certificate is checked."
    )
    first_eluate_checked = serializers.BooleanField(help_text="The first eluate is checked.")
    note = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class PredictionSerializer(serializers.Serializer):
    at = AwareDateTimeField()
    ge68_activity_mbq = serializers.FloatField()
    ga68_on_column_mbq = serializers.FloatField()
    expected_eluate_mbq = serializers.FloatField()
    efficiency_percent = serializers.FloatField()
    last_elution_at = AwareDateTimeField(allow_null=True)


# --- Generators ----------------------------------------------------------------------------------


class GeneratorFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GeneratorStatus.choices)

    class Meta:
        model = Generator
        fields = ["status"]


@extend_schema(tags=["generators"])
class GeneratorListCreate(generics.ListCreateAPIView):
    """Generators with elution count, efficiency estimate and warnings; register one."""

    permission_resource = "generators"
    serializer_class = GeneratorSerializer
    filterset_class = GeneratorFilter
    ordering_fields = ["calibrated_at", "serial_number", "id"]

    def get_queryset(self):
        return selectors.generators_with_state()

    @extend_schema(responses={200: GeneratorSerializer(many=True), 400: ERR_400, **READ_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(responses={201: GeneratorSerializer, **WRITE_ERRORS})
    def post(self, request, *args, **kwargs):
        data = GeneratorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if values.get("status") is None:
            values.pop("status", None)
        generator = services.generator_register(actor=request.user, **values)
        out = GeneratorSerializer(selectors.generator_get(generator_id=generator.pk))
        return Response(out.data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["generators"], responses={200: GeneratorSerializer, 404: ERR_404, **READ_ERRORS}
)
class GeneratorDetail(generics.RetrieveAPIView):
    permission_resource = "generators"
    serializer_class = GeneratorSerializer

    def get_queryset(self):
        return selectors.generators_with_state()


@extend_schema(
    tags=["generators"],
    request=GeneratorStatusSerializer,
    responses={200: GeneratorSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class GeneratorStatusChange(APIView):
    """Put a generator in quarantine, back in use, or retire it, with a reason."""

    permission_resource = "generators"

    def post(self, request, pk: int):
        get_object_or_404(Generator, pk=pk)
        data = GeneratorStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.generator_set_status(actor=request.user, generator_id=pk, **data.validated_data)
        return Response(GeneratorSerializer(selectors.generator_get(generator_id=pk)).data)


@extend_schema(
    tags=["generators"],
    request=GeneratorAcceptSerializer,
    responses={200: GeneratorSerializer, 404: ERR_404, 409: ERR_409, **WRITE_ERRORS},
)
class GeneratorAccept(APIView):
    """Accept a generator in quarantine on receipt into use after its receipt check."""

    permission_resource = "generators"

    def post(self, request, pk: int):
        get_object_or_404(Generator, pk=pk)
        data = GeneratorAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.generator_accept(actor=request.user, generator_id=pk, **data.validated_data)
        return Response(GeneratorSerializer(selectors.generator_get(generator_id=pk)).data)


@extend_schema(
    tags=["generators"],
    parameters=[
        OpenApiParameter(
            "at",
            str,
            description="ISO 8601 time with offset (default: now). A naive time is a 400.",
        )
    ],
    responses={200: PredictionSerializer, 400: ERR_400, 404: ERR_404, **READ_ERRORS},
)
class GeneratorPrediction(APIView):
    """Ge-68, Ga-68 on the column and the expected eluate at `at` (SPEC §2.2)."""

    permission_resource = "generators"

    def get(self, request, pk: int):
        generator = get_object_or_404(selectors.generators_with_state(), pk=pk)
        at = query_datetime(request.query_params.get("at"), "at") or timezone.now()
        try:
            result = selectors.prediction(generator, at=at)
        except ValueError as exc:
            raise serializers.ValidationError({"at": [str(exc)]}) from None
        return Response(PredictionSerializer(result).data)
