"""FHIR R4 endpoints under /fhir/r4/: thin edges over the booking service and the dose records.

Same authentication and roles as the API (`permission_resource`): reading administrations is a
read of doses, posting a ServiceRequest a write of bookings. Every answer is FHIR JSON
(`application/fhir+json`); every error, whatever raised it, an OperationOutcome with the HTTP
status of the API's exception handler. Documented in the README, not in the OpenAPI schema.
"""

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from radiopharmacy.core.errors import NotFound
from scheduling.choices import DoseStatus
from scheduling.fhir import resources
from scheduling.fhir.search import parse_search
from scheduling.models import Booking, Dose
from scheduling.services.bookings import booking_create

FHIR_JSON = "application/fhir+json"
# HTTP status -> OperationOutcome issue type (FHIR R4 value set issue-type).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    415: "not-supported",
    429: "throttled",
}


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirJsonParser(JSONParser):
    media_type = FHIR_JSON


def _issues(data, expressions: dict[str, str]) -> list[tuple[str, str]]:
    """(message, expression) pairs from an error body of the API's exception handler."""
    if isinstance(data, list):
        return [(str(m), "") for m in data]
    if not isinstance(data, dict):
        return [(str(data), "")]
    issues = []
    detail = data.get("detail")
    for name, messages in data.items():
        if name in ("detail", "blocking"):
            continue
        for message in messages if isinstance(messages, list) else [messages]:
            issues.append((f"{name}: {message}", expressions.get(name, "")))
    for reason in data.get("blocking") or []:
        issues.append((str(reason), ""))
    if detail and not issues:
        issues.append((str(detail), ""))
    elif detail:
        issues.insert(0, (str(detail), ""))
    return issues


@extend_schema(exclude=True)
class FhirView(APIView):
    renderer_classes = [FhirJsonRenderer, JSONRenderer]
    parser_classes = [FhirJsonParser, JSONParser]
    field_expressions: dict[str, str] = {}

    def handle_exception(self, exc):
        if isinstance(exc, resources.InvalidResource):
            outcome = resources.operation_outcome(exc.issues)
            return Response(outcome, status=status.HTTP_400_BAD_REQUEST)
        response = super().handle_exception(exc)
        code = ISSUE_CODES.get(response.status_code, "exception")
        response.data = resources.operation_outcome(
            _issues(response.data, self.field_expressions), code=code
        )
        return response

    def fhir(self, data: dict, code: int = status.HTTP_200_OK, **headers) -> Response:
        return Response(data, status=code, headers=headers)


def _administered_doses():
    return Dose.objects.filter(status=DoseStatus.ADMINISTERED).select_related(
        "booking__product", "batch", "administered_by"
    )


class Metadata(FhirView):
    """GET /fhir/r4/metadata: the CapabilityStatement (public, as FHIR clients expect)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        return self.fhir(resources.capability_statement(published=timezone.now()))


class MedicationAdministrationSearch(FhirView):
    """GET /fhir/r4/MedicationAdministration?effective-time=...&patient.identifier=..."""

    permission_resource = "doses"

    def get(self, request):
        search = parse_search(request.query_params)
        doses = search.apply(_administered_doses()).order_by("injected_at", "id")
        total = doses.count()
        page = list(doses[search.offset : search.offset + search.count])
        base = request.build_absolute_uri(reverse("fhir-medicationadministration-search"))
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if search.offset + search.count < total and search.count:
            query = request.query_params.copy()
            query["_offset"] = str(search.offset + search.count)
            links.append({"relation": "next", "url": f"{base}?{query.urlencode()}"})
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{dose.pk}",
                    "resource": resources.medication_administration(dose),
                    "search": {"mode": "match"},
                }
                for dose in page
            ],
        }
        return self.fhir(bundle)


class MedicationAdministrationRead(FhirView):
    """GET /fhir/r4/MedicationAdministration/<id>: an administered dose."""

    permission_resource = "doses"

    def get(self, request, pk: int):
        dose = _administered_doses().filter(pk=pk).first()
        if dose is None:
            raise NotFound(f"No administered dose {pk}.")
        return self.fhir(resources.medication_administration(dose))


class ServiceRequestCreate(FhirView):
    """POST /fhir/r4/ServiceRequest: an order from the hospital becomes a booking."""

    permission_resource = "bookings"
    field_expressions = resources.BOOKING_FIELD_EXPRESSIONS

    def post(self, request):
        order = resources.order_from_service_request(request.data)
        booking = booking_create(
            actor=request.user,
            patient_ref=order.patient_ref,
            weight_kg=order.weight_kg,
            injection_at=order.injection_at,
            prescribed_activity_mbq=order.prescribed_activity_mbq,
            notes=order.notes,
        )
        location = request.build_absolute_uri(reverse("fhir-servicerequest", args=[booking.pk]))
        booking = Booking.objects.select_related("product").get(pk=booking.pk)
        return self.fhir(
            resources.service_request(booking), status.HTTP_201_CREATED, Location=location
        )


class ServiceRequestRead(FhirView):
    """GET /fhir/r4/ServiceRequest/<id>: a booking as an order."""

    permission_resource = "bookings"

    def get(self, request, pk: int):
        booking = Booking.objects.select_related("product").filter(pk=pk).first()
        if booking is None:
            raise NotFound(f"No booking {pk}.")
        return self.fhir(resources.service_request(booking))


class UnknownPath(FhirView):
    """Any other path under /fhir/r4/, whatever the method: an OperationOutcome 404."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound("This FHIR server has no such resource or interaction.")
