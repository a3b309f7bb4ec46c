"""FHIR R4 resources built from bookings and doses, and a posted ServiceRequest read into the
booking service's arguments. Every resource is validated with fhir.resources (FHIR 4.0.1)
before it leaves, so a bug here is caught as a validation error, never sent to the hospital.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.medicationadministration import MedicationAdministration
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.servicerequest import ServiceRequest
from pydantic import ValidationError

from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.sitetime import site_local
from scheduling.models import Booking, Dose

FHIR_VERSION = "4.0.1"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
BODY_WEIGHT_LOINC = "29463-7"
# SNOMED CT 47625008 "Intravenous route": Ga-68 DOTATATE is given as an IV bolus.
INTRAVENOUS_ROUTE = {"system": SNOMED, "code": "47625008", "display": "Intravenous route"}
# ServiceRequest.intent values that are an order the radiopharmacy may book.
ORDER_INTENTS = {"order", "original-order", "filler-order", "instance-order"}
# ServiceRequest.status values of an order that is still to be carried out.
BOOKABLE_STATUSES = {"active", "draft"}
# Activity units a prescription may come in (UCUM codes), in MBq per unit. 1 mCi = 37 MBq.
ACTIVITY_UNITS_MBQ = {"MBq": 1.0, "GBq": 1000.0, "kBq": 0.001, "mCi": 37.0}
WEIGHT_UNITS_KG = {"kg": 1.0, "g": 0.001}


def identifier_system(kind: str) -> str:
    """The URI of one of this site's identifier systems (patient-ref, dose, booking, user)."""
    return f"{settings.SITE_URL}/fhir/r4/sid/{kind}"


class InvalidResource(Exception):
    """A posted resource that is not valid FHIR R4 or not a bookable order: a 400 with an
    OperationOutcome listing each problem with its FHIRPath expression."""

    def __init__(self, issues: list[tuple[str, str]]):
        super().__init__("; ".join(message for message, _ in issues))
        self.issues = issues  # (message, expression)


def _validated(model, data: dict) -> dict:
    """`data` after validation with the fhir.resources model, as plain JSON."""
    return json.loads(model.parse_obj(data).json())


def _fhir_time(value: datetime) -> str:
    """A dateTime with the site's offset (FHIR requires an offset once there is a time)."""
    return site_local(value).isoformat(timespec="seconds")


def _user_reference(user) -> dict:
    name = (user.get_full_name() or user.get_username()).strip()
    return {
        "identifier": {"system": identifier_system("user"), "value": user.get_username()},
        "display": name,
    }


def _patient(patient_ref: str) -> dict:
    return {
        "type": "Patient",
        "identifier": {"system": identifier_system("patient-ref"), "value": patient_ref},
    }


def _activity(mbq: float) -> dict:
    return {"value": round(mbq, 1), "unit": "MBq", "system": UCUM, "code": "MBq"}


def medication_administration(dose: Dose) -> dict:
    """An administered dose as a MedicationAdministration: the patient reference as the
    subject's identifier, the product with the batch number as lot (a contained Medication:
    R4 keeps the lot on Medication.batch), the administered activity in MBq (UCUM), the
    injection time with its offset and who gave it.

    Needs `booking__product`, `batch` and `administered_by` loaded."""
    booking, batch = dose.booking, dose.batch
    product = booking.product
    data = {
        "resourceType": "MedicationAdministration",
        "id": str(dose.pk),
        "identifier": [{"system": identifier_system("dose"), "value": str(dose.pk)}],
        "contained": [
            {
                "resourceType": "Medication",
                "id": "product",
                "code": {"text": product.name},
                "batch": {
                    "lotNumber": batch.batch_number,
                    "expirationDate": _fhir_time(batch.expires_at),
                },
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#product", "display": product.name},
        "subject": _patient(booking.patient_ref),
        "effectiveDateTime": _fhir_time(dose.injected_at),
        "dosage": {
            "route": {"coding": [INTRAVENOUS_ROUTE]},
            "dose": _activity(dose.administered_activity_mbq),
        },
    }
    if dose.administered_by_id:
        data["performer"] = [{"actor": _user_reference(dose.administered_by)}]
    return _validated(MedicationAdministration, data)


def service_request(booking: Booking) -> dict:
    """A booking as the ServiceRequest it answers: the patient, the injection time, the
    prescribed activity (quantity, MBq) and the weight as a contained Observation."""
    status = {"cancelled": "revoked", "missed": "revoked", "administered": "completed"}.get(
        booking.status, "active"
    )
    data = {
        "resourceType": "ServiceRequest",
        "id": str(booking.pk),
        "identifier": [{"system": identifier_system("booking"), "value": str(booking.pk)}],
        "contained": [
            {
                "resourceType": "Observation",
                "id": "weight",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": BODY_WEIGHT_LOINC}]},
                "subject": _patient(booking.patient_ref),
                "valueQuantity": {
                    "value": booking.weight_kg,
                    "unit": "kg",
                    "system": UCUM,
                    "code": "kg",
                },
            }
        ],
        "status": status,
        "intent": "order",
        "code": {"text": booking.product.name},
        "subject": _patient(booking.patient_ref),
        "occurrenceDateTime": _fhir_time(booking.injection_at),
        "quantityQuantity": _activity(booking.prescribed_activity_mbq),
        "supportingInfo": [{"reference": "#weight"}],
    }
    return _validated(ServiceRequest, data)


def operation_outcome(issues: list[tuple[str, str]], *, code: str = "invalid") -> dict:
    """An OperationOutcome with one error issue per (message, expression); expression may be
    empty."""
    entries = []
    for message, expression in issues or [("Error.", "")]:
        issue = {"severity": "error", "code": code, "diagnostics": message}
        if expression:
            issue["expression"] = [expression]
        entries.append(issue)
    return _validated(OperationOutcome, {"resourceType": "OperationOutcome", "issue": entries})


def capability_statement(*, published: datetime) -> dict:
    """What this server offers (GET /fhir/r4/metadata)."""
    data = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _fhir_time(published),
        "publisher": "Gallium",
        "kind": "instance",
        "software": {"name": "Gallium"},
        "implementation": {
            "description": "Gallium radiopharmacy: administered doses and orders",
            "url": f"{settings.SITE_URL}/fhir/r4",
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Token (Authorization: Token <t>, from /api/v1/auth/token/) "
                    "or session; the roles of the API."
                },
                "resource": [
                    {
                        "type": "MedicationAdministration",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "effective-time", "type": "date"},
                            {"name": "patient.identifier", "type": "token"},
                            {"name": "subject:identifier", "type": "token"},
                            {"name": "_count", "type": "number"},
                        ],
                    },
                    {
                        "type": "ServiceRequest",
                        "interaction": [{"code": "create"}, {"code": "read"}],
                    },
                ],
            }
        ],
    }
    return _validated(CapabilityStatement, data)


# --- a posted ServiceRequest -------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """What a ServiceRequest asks for, in the booking service's words."""

    patient_ref: str
    injection_at: datetime
    weight_kg: float | None
    prescribed_activity_mbq: float | None
    notes: str


def _pydantic_issues(error: ValidationError) -> list[tuple[str, str]]:
    issues = []
    for problem in error.errors():
        path = ".".join(str(p) for p in problem.get("loc", ()) if p != "__root__")
        expression = f"ServiceRequest.{path}" if path else "ServiceRequest"
        issues.append((f"{expression}: {problem.get('msg', 'invalid')}", expression))
    return issues


def _quantity(value, units: dict[str, float], expression: str, what: str):
    """A Quantity's value in the unit of `units` whose factor is 1; None when absent."""
    if not value:
        return None
    code = value.get("code") or value.get("unit")
    if value.get("value") is None:
        raise InvalidResource([(f"{what} has no value.", expression)])
    if code not in units:
        raise InvalidResource(
            [(f"{what} is in {code!r}; give it in {' or '.join(units)} (UCUM).", expression)]
        )
    return float(value["value"]) * units[code]


def _contained(resource: dict, reference: str) -> dict | None:
    if not reference.startswith("#"):
        return None
    return next((c for c in resource.get("contained") or [] if c.get("id") == reference[1:]), None)


def _weight_kg(resource: dict) -> float | None:
    """The body weight of a contained Observation (LOINC 29463-7) the order refers to."""
    for index, info in enumerate(resource.get("supportingInfo") or []):
        observation = _contained(resource, info.get("reference") or "")
        if not observation or observation.get("resourceType") != "Observation":
            continue
        codes = {c.get("code") for c in (observation.get("code") or {}).get("coding") or []}
        if BODY_WEIGHT_LOINC in codes:
            return _quantity(
                observation.get("valueQuantity"),
                WEIGHT_UNITS_KG,
                f"ServiceRequest.supportingInfo[{index}]",
                "The body weight",
            )
    return None


def _injection_time(resource: dict) -> datetime:
    text = resource.get("occurrenceDateTime") or (resource.get("occurrencePeriod") or {}).get(
        "start"
    )
    expression = "ServiceRequest.occurrenceDateTime"
    if not text:
        raise InvalidResource([("Give the requested injection time (occurrenceDateTime).", "")])
    try:
        value = parse_datetime(text)
    except (ValueError, OverflowError):
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidResource(
            [("The requested time needs a date, a time and an offset.", expression)]
        )
    return value


def order_from_service_request(body) -> Order:
    """Read a posted ServiceRequest: valid FHIR R4, an active order for one patient by
    identifier, a requested time with offset, and a body weight and/or prescribed activity."""
    if not isinstance(body, dict) or body.get("resourceType") != "ServiceRequest":
        raise InvalidResource([("Post a ServiceRequest resource.", "ServiceRequest")])
    try:
        resource = _validated(ServiceRequest, body)
    except ValidationError as exc:
        raise InvalidResource(_pydantic_issues(exc)) from None
    problems = []
    if resource.get("status") not in BOOKABLE_STATUSES:
        problems.append(
            (
                f"Status {resource.get('status')!r}: only an active order can be booked.",
                "ServiceRequest.status",
            )
        )
    if resource.get("intent") not in ORDER_INTENTS:
        problems.append(
            (
                f"Intent {resource.get('intent')!r}: only an order can be booked.",
                "ServiceRequest.intent",
            )
        )
    patient_ref = ((resource.get("subject") or {}).get("identifier") or {}).get("value")
    if not patient_ref:
        problems.append(
            (
                "Identify the patient by identifier (the pseudonymous reference).",
                "ServiceRequest.subject.identifier",
            )
        )
    if problems:
        raise InvalidResource(problems)
    injection_at = _injection_time(resource)
    weight = _weight_kg(resource)
    activity = _quantity(
        resource.get("quantityQuantity"),
        ACTIVITY_UNITS_MBQ,
        "ServiceRequest.quantityQuantity",
        "The prescribed activity",
    )
    if weight is None:
        raise InvalidResource(
            [
                (
                    "Give the patient's body weight: a contained Observation (LOINC "
                    f"{BODY_WEIGHT_LOINC}, kg) referenced from supportingInfo.",
                    "ServiceRequest.supportingInfo",
                )
            ]
        )
    placer = ", ".join(
        f"{i.get('system', '')}|{i.get('value', '')}" for i in resource.get("identifier") or []
    )
    notes = " ".join(n.get("text", "") for n in resource.get("note") or []).strip()
    if placer:
        notes = f"FHIR ServiceRequest {placer}. {notes}".strip()
    # No database text column holds a NUL; the order's text is kept to the notes' length.
    notes = notes.replace("\x00", "")[:TEXT_MAX_LENGTH]
    return Order(
        patient_ref=patient_ref,
        injection_at=injection_at,
        weight_kg=weight,
        prescribed_activity_mbq=activity,
        notes=notes,
    )


# Where each booking field lives in a ServiceRequest (for the OperationOutcome of a 400).
BOOKING_FIELD_EXPRESSIONS = {
    "patient_ref": "ServiceRequest.subject.identifier.value",
    "injection_at": "ServiceRequest.occurrenceDateTime",
    "weight_kg": "ServiceRequest.supportingInfo",
    "prescribed_activity_mbq": "ServiceRequest.quantityQuantity",
    "notes": "ServiceRequest.note",
}
