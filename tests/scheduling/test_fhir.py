"""FHIR R4 under /fhir/r4/: administered doses as MedicationAdministration (read, search by day
and patient), a posted ServiceRequest booked with the prescription rule, OperationOutcome errors,
the roles of the API, the CapabilityStatement."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import fhir.resources
import pytest
import time_machine
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.medicationadministration import MedicationAdministration
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.servicerequest import ServiceRequest

from scheduling.models import Booking
from scheduling.services import doses as dose_services
from tests.factories import BookingFactory, ReleasedBatchFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
MA_URL = "/fhir/r4/MedicationAdministration"
SR_URL = "/fhir/r4/ServiceRequest"
PATIENT_SYSTEM = "http://127.0.0.1:8000/fhir/r4/sid/patient-ref"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.SITE_TIME_ZONE = "Europe/Amsterdam"


@pytest.fixture
def clock():
    """Two days after the doses below: every record is in the past, at any suite clock."""
    with time_machine.travel(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), tick=False):
        yield


def administered(rp, eos: datetime, patient: str, *, give=True):
    """A dose drawn 30 min after EOS, measured, and (give=True) injected 20 min later."""
    batch = ReleasedBatchFactory(eos_at=eos)
    booking = BookingFactory(
        patient_ref=patient, injection_at=eos + timedelta(minutes=50), prescribed_activity_mbq=150
    )
    draw = eos + timedelta(minutes=30)
    dose = dose_services.dose_assign(
        actor=rp, booking_id=booking.pk, batch_id=batch.pk, draw_at=draw
    )
    dose_services.dose_measure(
        actor=rp, dose_id=dose.pk, activity_mbq=dose.activity_to_draw_mbq, measured_at=draw
    )
    if give:
        dose = dose_services.dose_administer(
            actor=rp,
            dose_id=dose.pk,
            injected_at=eos + timedelta(minutes=50),
            residual_activity_mbq=2.0,
            residual_measured_at=eos + timedelta(minutes=55),
        )
    return dose


@pytest.fixture
def doses(clock, radiopharmacist):
    """Administered on 24 Nov (site day): at 09:20 and at 23:50 CET (22:50 UTC); on 25 Nov at
    00:20 CET (23:20 UTC on the 24th); on 23 Nov; and one only measured on 24 Nov."""
    rp = radiopharmacist
    return {
        "morning": administered(rp, datetime(2026, 11, 24, 8, 30, tzinfo=AMS), "P-1001"),
        "late": administered(rp, datetime(2026, 11, 24, 23, 0, tzinfo=AMS), "P-1002"),
        "after_midnight": administered(rp, datetime(2026, 11, 24, 23, 30, tzinfo=AMS), "P-1003"),
        "day_before": administered(rp, datetime(2026, 11, 23, 9, 0, tzinfo=AMS), "P-1001"),
        "not_given": administered(
            rp, datetime(2026, 11, 24, 10, 0, tzinfo=AMS), "P-1004", give=False
        ),
    }


@pytest.fixture
def reader(api_as, auditor):
    return api_as(auditor)


def ids(bundle: dict) -> list[int]:
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


@pytest.mark.requirement("INT-01")
def test_the_models_are_fhir_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


@pytest.mark.requirement("INT-01")
def test_every_administration_served_validates_as_r4_with_dose_time_and_lot(doses, reader):
    response = reader.get(MA_URL)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.parse_obj(response.json())
    assert bundle.type == "searchset" and bundle.total == 4
    given = {d.pk: d for k, d in doses.items() if k != "not_given"}
    assert sorted(ids(response.json())) == sorted(given)
    for entry in response.json()["entry"]:
        data = entry["resource"]
        resource = MedicationAdministration.parse_obj(data)
        dose = given[int(resource.id)]
        quantity = resource.dosage.dose
        assert (quantity.system, quantity.code, quantity.unit) == (
            "http://unitsofmeasure.org",
            "MBq",
            "MBq",
        )
        assert float(quantity.value) == round(dose.administered_activity_mbq, 1)
        assert data["effectiveDateTime"] == dose.injected_at.astimezone(AMS).isoformat()
        assert data["effectiveDateTime"].endswith("+01:00")
        medication = resource.contained[0]
        assert resource.medicationReference.reference == f"#{medication.id}"
        assert medication.batch.lotNumber == dose.batch.batch_number
        assert resource.subject.identifier.value == dose.booking.patient_ref
        assert resource.subject.identifier.system == PATIENT_SYSTEM
        assert resource.status == "completed"
        assert resource.performer[0].actor.display


@pytest.mark.requirement("INT-01")
def test_administered_activity_is_syringe_minus_residual_in_mbq(doses, reader):
    dose = doses["morning"]
    body = reader.get(f"{MA_URL}/{dose.pk}").json()
    assert body["dosage"]["dose"]["value"] == round(dose.administered_activity_mbq, 1)
    assert 100 < body["dosage"]["dose"]["value"] < 150


@pytest.mark.requirement("INT-01")
def test_search_by_day_returns_exactly_the_site_days_administrations(doses, reader):
    body = reader.get(MA_URL, {"effective-time": "2026-11-24"}).json()
    assert ids(body) == [doses["morning"].pk, doses["late"].pk]
    assert body["total"] == 2
    body = reader.get(MA_URL, {"effective-time": "2026-11-25"}).json()
    assert ids(body) == [doses["after_midnight"].pk]


def test_search_by_time_range_with_prefixes(doses, reader):
    query = "effective-time=ge2026-11-24T09:00:00%2B01:00&effective-time=lt2026-11-24T23:59:00Z"
    body = reader.get(f"{MA_URL}?{query}").json()
    assert ids(body) == [doses["morning"].pk, doses["late"].pk, doses["after_midnight"].pk]


@pytest.mark.requirement("INT-01")
def test_search_by_patient_identifier_and_day(doses, reader):
    body = reader.get(MA_URL, {"patient.identifier": f"{PATIENT_SYSTEM}|P-1001"}).json()
    assert ids(body) == [doses["day_before"].pk, doses["morning"].pk]
    body = reader.get(
        MA_URL, {"subject:identifier": "P-1001", "effective-time": "2026-11-24"}
    ).json()
    assert ids(body) == [doses["morning"].pk]


def test_search_pages_with_count_and_a_next_link(doses, reader):
    body = reader.get(MA_URL, {"_count": 3}).json()
    assert len(body["entry"]) == 3 and body["total"] == 4
    following = next(link["url"] for link in body["link"] if link["relation"] == "next")
    rest = reader.get(following).json()
    assert len(rest["entry"]) == 1


def test_search_runs_a_constant_number_of_queries(doses, reader, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert reader.get(MA_URL).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"effective-time": "yesterday"},
        {"effective-time": "2026-11-24T10:00:00"},
        {"patient": "P-1001"},
        {"patient.identifier": "urn:other|P-1001"},
        {"_count": "many"},
    ],
)
def test_bad_search_is_a_400_operation_outcome(clock, reader, query):
    response = reader.get(MA_URL, query)
    assert response.status_code == 400, response.content
    OperationOutcome.parse_obj(response.json())
    assert response.json()["issue"][0]["severity"] == "error"


@pytest.mark.requirement("INT-01")
def test_read_by_id_and_unknown_or_not_administered_is_a_404_outcome(doses, reader):
    response = reader.get(f"{MA_URL}/{doses['late'].pk}")
    assert response.status_code == 200
    assert response.json()["id"] == str(doses["late"].pk)
    for pk in (doses["not_given"].pk, 999999):
        response = reader.get(f"{MA_URL}/{pk}")
        assert response.status_code == 404
        assert OperationOutcome.parse_obj(response.json()).issue[0].code == "not-found"


def test_an_unknown_fhir_path_is_a_404_outcome(reader):
    response = reader.get("/fhir/r4/Patient/1")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_reading_needs_authentication_and_is_an_outcome(api_client):
    response = api_client.get(MA_URL)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "login"


def test_capability_statement_is_public_and_valid(api_client):
    response = api_client.get("/fhir/r4/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.parse_obj(response.json())
    assert statement.fhirVersion == "4.0.1"
    types = {r.type for r in statement.rest[0].resource}
    assert types == {"MedicationAdministration", "ServiceRequest"}


# --- ServiceRequest in -------------------------------------------------------------------------


def order(**overrides) -> dict:
    data = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "ORD-77"}],
        "contained": [
            {
                "resourceType": "Observation",
                "id": "w",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "valueQuantity": {
                    "value": 82,
                    "unit": "kg",
                    "system": "http://unitsofmeasure.org",
                    "code": "kg",
                },
            }
        ],
        "status": "active",
        "intent": "order",
        "code": {"text": "Ga-68 DOTATATE PET"},
        "subject": {"identifier": {"system": PATIENT_SYSTEM, "value": "MRN4471"}},
        "occurrenceDateTime": "2026-11-25T10:30:00+01:00",
        "supportingInfo": [{"reference": "#w"}],
    }
    data.update(overrides)
    return data


def weighing(kg: float) -> list:
    observation = order()["contained"][0]
    observation["valueQuantity"]["value"] = kg
    return [observation]


@pytest.fixture
def scheduling_client(api_as, scheduler):
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, tzinfo=AMS), tick=False):
        yield api_as(scheduler)


@pytest.mark.requirement("INT-02")
def test_posted_order_with_weight_books_two_mbq_per_kg(scheduling_client):
    response = scheduling_client.post(SR_URL, order(), format="json")
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert booking.patient_ref == "MRN4471" and booking.weight_kg == 82
    assert booking.prescribed_activity_mbq == 164.0
    assert booking.injection_at == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    assert "ORD-77" in booking.notes
    body = ServiceRequest.parse_obj(response.json())
    assert body.id == str(booking.pk)
    assert float(body.quantityQuantity.value) == 164.0 and body.quantityQuantity.code == "MBq"
    assert response["Location"].endswith(f"/fhir/r4/ServiceRequest/{booking.pk}")
    assert scheduling_client.get(f"{SR_URL}/{booking.pk}").json()["id"] == str(booking.pk)


@pytest.mark.requirement("INT-02")
def test_posted_order_for_a_heavy_patient_is_capped_at_200_mbq(scheduling_client):
    response = scheduling_client.post(SR_URL, order(contained=weighing(130)), format="json")
    assert response.status_code == 201, response.content
    assert Booking.objects.get().prescribed_activity_mbq == 200.0


@pytest.mark.requirement("INT-02")
def test_posted_order_with_a_prescribed_activity_keeps_it(scheduling_client):
    quantity = {"value": 4, "unit": "mCi", "system": "http://unitsofmeasure.org", "code": "mCi"}
    response = scheduling_client.post(SR_URL, order(quantityQuantity=quantity), format="json")
    assert response.status_code == 201, response.content
    assert Booking.objects.get().prescribed_activity_mbq == 148.0


def test_order_posted_as_fhir_json_media_type(scheduling_client):
    import json

    response = scheduling_client.post(
        SR_URL, json.dumps(order()), content_type="application/fhir+json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("overrides", "expression"),
    [
        ({"status": "sideways"}, "ServiceRequest.status"),  # not R4: fhir.resources refuses
        ({"intent": None}, "ServiceRequest.intent"),  # required in R4
        ({"status": "completed"}, "ServiceRequest.status"),
        ({"intent": "proposal"}, "ServiceRequest.intent"),
        ({"subject": {"reference": "Patient/12"}}, "ServiceRequest.subject.identifier"),
        ({"occurrenceDateTime": "2026-11-25T10:30:00"}, "ServiceRequest.occurrenceDateTime"),
        ({"supportingInfo": []}, "ServiceRequest.supportingInfo"),
        ({"contained": weighing(900)}, "ServiceRequest.supportingInfo"),
        ({"subject": {"identifier": {"value": "Jan Jansen"}}}, "ServiceRequest.subject"),
        ({"occurrenceDateTime": "2031-11-25T10:30:00+01:00"}, "ServiceRequest.occurrence"),
        ({"resourceType": "Patient"}, "ServiceRequest"),
    ],
)
@pytest.mark.requirement("INT-02")
def test_invalid_order_is_a_400_outcome_and_books_nothing(scheduling_client, overrides, expression):
    response = scheduling_client.post(SR_URL, order(**overrides), format="json")
    assert response.status_code == 400, response.content
    outcome = OperationOutcome.parse_obj(response.json())
    expressions = [e for issue in outcome.issue for e in (issue.expression or [])]
    assert any(e.startswith(expression) for e in expressions), response.json()
    assert not Booking.objects.exists()


@pytest.mark.requirement("INT-02")
def test_malformed_json_is_a_400_outcome(scheduling_client):
    response = scheduling_client.post(SR_URL, "{not json", content_type="application/fhir+json")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_only_a_scheduler_posts_orders(api_as, radiopharmacist, auditor):
    for user in (radiopharmacist, auditor):
        response = api_as(user).post(SR_URL, order(), format="json")
        assert response.status_code == 403
        assert response.json()["issue"][0]["code"] == "forbidden"
    assert not Booking.objects.exists()


def test_every_administration_of_the_demo_validates_and_each_day_search_is_exact(reader):
    import io

    from django.core.management import call_command

    from radiopharmacy.core.sitetime import site_date

    call_command("load_demo", stdout=io.StringIO())
    given = list(_administered())
    assert given, "the demo has administered doses"
    body = reader.get(MA_URL, {"_count": 500}).json()
    assert body["total"] == len(given)
    for entry in body["entry"]:
        resource = MedicationAdministration.parse_obj(entry["resource"])
        assert resource.dosage.dose.code == "MBq" and resource.contained[0].batch.lotNumber
    for day in {site_date(d.injected_at) for d in given}:
        found = ids(reader.get(MA_URL, {"effective-time": day.isoformat()}).json())
        assert sorted(found) == sorted(d.pk for d in given if site_date(d.injected_at) == day)


def _administered():
    from scheduling.models import Dose

    return Dose.objects.filter(status="administered")
