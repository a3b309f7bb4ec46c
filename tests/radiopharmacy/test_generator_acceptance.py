"""Generators start in quarantine and a radiopharmacist accepts them into use after the receipt
check; warnings on an elution and on the batches made from it (SPEC §2.2)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from qc.services.breakthrough import breakthrough_record
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.models import AuditEvent, Generator
from radiopharmacy.services.elutions import elution_correct, elution_record
from radiopharmacy.services.generators import (
    generator_accept,
    generator_register,
    generator_set_status,
)
from tests.factories import REFERENCE_TIME, BatchFactory, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

CHECKS = {
    "documents_checked": True,
    "certificate_activity_checked": True,
    "first_eluate_checked": True,
}


@pytest.fixture(autouse=True)
def _that_morning():
    with time_machine.travel(REFERENCE_TIME + hours(2), tick=True):
        yield


def register(actor, **kwargs):
    values = {
        "manufacturer": "Eckert & Ziegler",
        "model": "GalliaPharm",
        "serial_number": "GP-NEW-1",
        "nominal_activity_mbq": 1850.0,
        "calibrated_at": REFERENCE_TIME - timedelta(days=3),
        "received_at": REFERENCE_TIME - timedelta(days=1),
    }
    return generator_register(actor=actor, **{**values, **kwargs})


RECEIPT_ELUATE_AT = REFERENCE_TIME - hours(3)


def first_eluate(actor, generator, *, at=RECEIPT_ELUATE_AT):
    return elution_record(
        actor=actor,
        generator_id=generator.pk,
        eluted_at=at,
        activity_mbq=1100.0,
        measured_at=at,
        volume_ml=5.0,
    )


def test_a_new_generator_starts_in_quarantine_and_cannot_be_registered_in_use(radiopharmacist):
    generator = register(radiopharmacist)
    assert generator.status == "quarantine" and generator.accepted_at is None
    with pytest.raises(ApplicationError) as err:
        register(radiopharmacist, serial_number="GP-NEW-2", status="in_use")
    assert "starts in quarantine" in err.value.fields["status"][0]


def test_the_receipt_check_eluate_is_recorded_but_no_batch_may_use_it(radiopharmacist):
    generator = register(radiopharmacist)
    elution = first_eluate(radiopharmacist, generator)
    with pytest.raises(ApplicationError) as err:
        BatchFactory(elutions=[elution.pk], operator=radiopharmacist)
    assert "quarantine" in err.value.fields["elutions"][0]


def test_acceptance_records_who_when_and_the_note_and_is_audited(radiopharmacist):
    generator = register(radiopharmacist)
    first_eluate(radiopharmacist, generator)
    accepted = generator_accept(
        actor=radiopharmacist, generator_id=generator.pk, note="Certificate 1850 MBq ok", **CHECKS
    )
    assert accepted.status == "in_use"
    assert accepted.accepted_by == radiopharmacist and accepted.accepted_at is not None
    assert accepted.acceptance_note == "Certificate 1850 MBq ok"
    event = AuditEvent.objects.get(object_type="radiopharmacy.generator", action="accepted")
    assert event.reason == "Certificate 1850 MBq ok"
    assert event.changes["status"] == {"old": "quarantine", "new": "in_use"}
    assert event.changes["accepted_by_id"]["new"] == radiopharmacist.pk
    # now its eluate goes into batches
    later = first_eluate(radiopharmacist, generator, at=REFERENCE_TIME - hours(1))
    batch = BatchFactory(elutions=[later.pk], operator=radiopharmacist, activity_mbq=300.0)
    assert batch.status == "qc_pending"


def test_acceptance_needs_every_check_and_a_note(radiopharmacist):
    generator = register(radiopharmacist)
    with pytest.raises(ApplicationError) as err:
        generator_accept(
            actor=radiopharmacist,
            generator_id=generator.pk,
            note=" ",
            **{**CHECKS, "first_eluate_checked": False},
        )
    assert "note" in err.value.fields
    with pytest.raises(ApplicationError) as err:
        generator_accept(
            actor=radiopharmacist,
            generator_id=generator.pk,
            note="ok",
            **{**CHECKS, "first_eluate_checked": False},
        )
    assert list(err.value.fields) == ["first_eluate_checked"]
    assert Generator.objects.get(pk=generator.pk).status == "quarantine"


def test_a_status_change_cannot_skip_the_receipt_check(radiopharmacist):
    generator = register(radiopharmacist)
    with pytest.raises(ApplicationError) as err:
        generator_set_status(
            actor=radiopharmacist, generator_id=generator.pk, status="in_use", reason="urgent"
        )
    assert "receipt check" in err.value.fields["status"][0]


def test_a_generator_quarantined_after_acceptance_is_not_accepted_again_nor_eluted(
    radiopharmacist,
):
    generator = GeneratorFactory(status="quarantine")  # accepted, then quarantined
    with pytest.raises(StateConflict):
        generator_accept(actor=radiopharmacist, generator_id=generator.pk, note="ok", **CHECKS)
    with pytest.raises(StateConflict):
        first_eluate(radiopharmacist, generator)
    back = generator_set_status(
        actor=radiopharmacist, generator_id=generator.pk, status="in_use", reason="retested"
    )
    assert back.status == "in_use"


def test_acceptance_page_accepts_and_keeps_what_was_typed_when_incomplete(client, radiopharmacist):
    generator = register(radiopharmacist)
    client.force_login(radiopharmacist)
    detail = client.get(reverse("generator-detail", args=[generator.pk])).content.decode()
    assert "Accept into use" in detail and "Record an elution" in detail
    listing = client.get(reverse("generator-list")).content.decode()
    assert reverse("generator-accept", args=[generator.pk]) in listing
    url = reverse("generator-accept", args=[generator.pk])
    incomplete = client.post(url, {"documents_checked": "on", "note": "activity ok"})
    assert incomplete.status_code == 200
    body = incomplete.content.decode()
    assert "Confirm it: The first eluate is checked." in body and "activity ok" in body
    done = client.post(url, {**{k: "on" for k in CHECKS}, "note": "activity ok"})
    assert done.status_code == 302
    assert Generator.objects.get(pk=generator.pk).status == "in_use"
    detail = client.get(reverse("generator-detail", args=[generator.pk])).content.decode()
    assert "activity ok" in detail and "Accept into use" not in detail


def test_acceptance_over_the_api(api_as, radiopharmacist):
    generator = register(radiopharmacist)
    url = f"/api/v1/generators/{generator.pk}/accept/"
    missing = api_as(radiopharmacist).post(url, {"note": "ok"}, format="json")
    assert missing.status_code == 400 and "first_eluate_checked" in missing.json()
    response = api_as(radiopharmacist).post(url, {**CHECKS, "note": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "in_use"
    assert response.json()["accepted_by"] == radiopharmacist.pk
    again = api_as(radiopharmacist).post(url, {**CHECKS, "note": "ok"}, format="json")
    assert again.status_code == 409


# --- Warnings on an elution and its batches ----------------------------------------------------


def low_elution():
    """42.5 % of what the column held, against a nominal 65 % and the 50 % site minimum."""
    return ElutionFactory(
        eluted_at=REFERENCE_TIME - timedelta(minutes=35),
        activity_mbq=637.5,
        predicted_on_column_mbq=1500.0,
    )


def test_an_elution_below_the_minimum_efficiency_is_flagged_on_it_and_its_batches(
    client, radiopharmacist
):
    elution = low_elution()
    batch = BatchFactory(elutions=[elution.pk], activity_mbq=200.0)
    client.force_login(radiopharmacist)
    page = client.get(reverse("generator-detail", args=[elution.generator_id])).content.decode()
    assert "42.5 %" in page and "below 50 %" in page
    record = client.get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "Elution efficiency 42.5 % is below the 50 % minimum (nominal 65 %)." in record
    listing = client.get(reverse("batch-list")).content.decode()
    assert "Eluate flagged" in listing


def test_recording_a_low_elution_warns_at_once(client, radiopharmacist):
    generator = GeneratorFactory()
    client.force_login(radiopharmacist)
    response = client.post(
        reverse("elution-create", args=[generator.pk]),
        {
            "eluted_at": "2026-11-24T08:00",
            "activity_mbq": "20",
            "measured_at": "2026-11-24T08:05",
            "volume_ml": "5",
        },
        follow=True,
    )
    assert "is below the 50 % minimum" in response.content.decode()


def test_the_elution_table_shows_the_activity_as_measured_and_when(client, radiopharmacist):
    elution = ElutionFactory(
        eluted_at=REFERENCE_TIME - timedelta(minutes=30),
        measured_at=REFERENCE_TIME - timedelta(minutes=20),
        activity_mbq=905.4,
        activity_at_elution_mbq=1000.0,
    )
    client.force_login(radiopharmacist)
    page = client.get(reverse("generator-detail", args=[elution.generator_id])).content.decode()
    assert "Measured (MBq)" in page and "905.4" in page and "1000.0" in page
    measured = timezone.localtime(elution.measured_at).isoformat()
    assert f'<time datetime="{measured}">' in page


def test_a_batch_whose_eluate_was_corrected_afterwards_is_flagged(client, radiopharmacist):
    batch = BatchFactory()
    elution = batch.elutions.get()
    elution_correct(
        actor=radiopharmacist,
        elution_id=elution.pk,
        reason="calibrator misread",
        activity_mbq=900.0,
    )
    client.force_login(radiopharmacist)
    record = client.get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "was corrected after the batch was made (calibrator misread)" in record
    untouched = BatchFactory()
    listing = client.get(reverse("batch-list")).content.decode()

    def row(b):
        return listing[listing.index(b.batch_number) :].split("</tr>")[0]

    assert "Eluate flagged" in row(batch) and "Eluate flagged" not in row(untouched)


def test_release_check_warns_of_a_generator_without_breakthrough_result(
    api_as, qualified_person, radiopharmacist
):
    batch = BatchFactory()
    url = f"/api/v1/batches/{batch.pk}/release-check/"
    warnings = api_as(qualified_person).get(url).json()["warnings"]
    assert len(warnings) == 1 and "no passed Ge-68 breakthrough result yet" in warnings[0]
    elution = batch.elutions.get()
    with time_machine.travel(elution.eluted_at + hours(49), tick=False):
        breakthrough_record(
            actor=radiopharmacist,
            elution_id=elution.pk,
            ge68_activity_kbq=0.001,
            measured_at=elution.eluted_at + hours(48),
        )
    assert api_as(qualified_person).get(url).json()["warnings"] == []
