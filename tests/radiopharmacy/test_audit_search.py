"""The audit trail as people read it (SPEC §2.8): search by batch number with everything linked
to it, local times with their offset, labels in words, old → new in display units, corrections
side by side, CSV export; and at scale: keyset pages, no COUNT, OFFSET or DISTINCT over the
table, a bounded number of queries whatever the size of the trail."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qc.services.results import qc_result_record
from radiopharmacy.core import audit
from radiopharmacy.core.sitetime import site_local
from radiopharmacy.models import AuditEvent
from radiopharmacy.services.batches import batch_correct
from radiopharmacy.site.audit_trail import local_time, record_types
from tests.factories import BatchFactory, DoseFactory, as_of

pytestmark = pytest.mark.django_db
LOCAL_TIME = re.compile(r"^\d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC[+-]\d\d:\d\d$")


@pytest.fixture
def traced_batch(radiopharmacist):
    """A batch with passing QC, a corrected activity, a corrected QC result and a dose; and
    another batch that a search of the first must not list."""
    batch = BatchFactory(qc="passing", operator=radiopharmacist)
    with as_of(batch.eos_at + audit.dt.timedelta(minutes=30)):
        batch_correct(
            actor=radiopharmacist,
            batch_id=batch.pk,
            changes={"activity_mbq": 650.0},
            reason="calibrator read wrongly",
        )
        old_ph = batch.qc_results.get(test_code="ph")
        qc_result_record(
            actor=radiopharmacist,
            batch_id=batch.pk,
            test="ph",
            value=4.1,
            performed_at=old_ph.performed_at,
            supersedes=old_ph.pk,
            reason="transcription error",
        )
    dose = DoseFactory(batch=batch)
    # The factories write the elution and the dose rows directly: their entries, as the
    # services write them.
    for obj, action in ((batch.elutions.get(), "created"), (dose, "dose_assigned")):
        audit.record(actor=radiopharmacist, action=action, obj=obj, changes=audit.created(obj))
    other = BatchFactory(operator=radiopharmacist)
    return batch, other, dose


def _page(client, auditor, **params):
    client.force_login(auditor)
    response = client.get("/audit/", params)
    assert response.status_code == 200
    return response


def test_a_search_by_batch_number_lists_the_batch_and_its_linked_records(
    client, auditor, traced_batch, radiopharmacist
):
    batch, other, dose = traced_batch
    response = _page(client, auditor, batch=batch.batch_number.lower())
    entries = response.context["entries"]
    types = {e.record_type.label for e in entries}
    assert {"Batch", "Elution", "QC result", "Dose"} <= types
    assert all(
        other.batch_number not in e.record for e in entries if e.record_type.short == "batch"
    )
    # Every entry of the batch itself carries its batch number, whatever its object_repr.
    batch_entries = [e for e in entries if e.record_type.short == "batch"]
    assert {e.record for e in batch_entries} == {batch.batch_number}
    # Local times with their offset, to the second, the same as the record shows.
    for entry in entries:
        assert LOCAL_TIME.match(entry.time), entry.time
        assert entry.time.startswith(f"{site_local(entry.event.occurred_at):%d %b %Y %H:%M:%S}")
    # The correction: label, old → new in display units, side by side.
    correction = next(e for e in batch_entries if e.event.action == "corrected")
    change = next(c for c in correction.changes if c.field == "activity_mbq")
    assert (change.label, change.old, change.new) == ("Activity (MBq)", "700 MBq", "650 MBq")
    assert "Activity (MBq): 700 MBq" in correction.corrected
    assert "Activity (MBq): 650 MBq" in correction.correcting
    # A QC result corrected by a new result: the old and the new result side by side.
    qc_correction = next(
        e for e in entries if e.record_type.short == "qcresult" and e.event.action == "corrected"
    )
    assert qc_correction.record == f"pH of {batch.batch_number}"
    assert qc_correction.corrected == f"pH of {batch.batch_number}: 6.5 (pass)"
    assert qc_correction.correcting == f"pH of {batch.batch_number}: 4.1 (pass)"
    # Foreign keys by the record's name, datetimes local without microseconds.
    created = next(e for e in batch_entries if e.event.action == "created")
    shown = {c.field: c for c in created.changes}
    assert shown["operator_id"].new == (radiopharmacist.get_full_name() or radiopharmacist.username)
    assert LOCAL_TIME.match(shown["eos_at"].new)
    assert shown["eos_at"].new == local_time(batch.eos_at)
    result_created = next(
        e for e in entries if e.record_type.short == "qcresult" and e.event.action == "created"
    )
    assert {c.field: c.new for c in result_created.changes}["batch_id"] == batch.batch_number
    dose_entry = next(e for e in entries if e.record_type.short == "dose")
    assert dose_entry.record == f"Dose for {dose.booking.patient_ref} from {batch.batch_number}"
    html = response.content.decode()
    assert batch.batch_number in html and "QC result" in html and "qc.qcresult" not in html
    assert "Activity (MBq): 700 MBq → 650 MBq" in html


def test_the_batch_record_names_its_trail_from_the_records_it_loaded(
    client, radiopharmacist, traced_batch, monkeypatch
):
    """The record page's trail reads the same as the trail looked up record by record, with
    fewer queries: the batch, its elutions, results, events, doses and bookings name their own
    entries and give their ids."""
    from django.urls import reverse

    from radiopharmacy.site import audit_trail

    batch, _, dose = traced_batch
    looked_up = audit_trail.present(audit_trail.batch_audit_events(batch))
    assert f"Dose for {dose.booking.patient_ref} from {batch.batch_number}" in {
        e.record for e in looked_up
    }

    def readable(entries):
        return [
            (e.time, e.user, e.action, e.record, e.corrected, e.correcting)
            + tuple((c.label, c.old, c.new) for c in e.changes)
            for e in entries
        ]

    def page():  # an hour after EOS, whatever the suite's clock: the record shows activity now
        with as_of(batch.eos_at + audit.dt.timedelta(hours=1)):
            client.force_login(radiopharmacist)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("batch-detail", args=[batch.pk]))
        return readable(response.context["audit_entries"]), len(queries)

    entries, queries = page()
    assert entries == readable(looked_up)
    # Without the loaded records: a lookup per record type and a query per linked list.
    monkeypatch.setattr(audit_trail.Names, "know", lambda self, records: None)
    monkeypatch.setattr(
        audit_trail,
        "_linked_ids",
        lambda batch, relation, field="pk": [
            str(pk) for pk in getattr(batch, relation).values_list(field, flat=True)
        ],
    )
    entries_looked_up, queries_looked_up = page()
    assert entries_looked_up == entries
    assert queries <= queries_looked_up - 8


def test_an_unknown_batch_number_is_a_field_error(client, auditor, api_as):
    response = _page(client, auditor, batch="NO-SUCH-BATCH")
    assert "No batch has this number." in response.context["form"].errors["batch"]
    assert response.context["entries"] == []
    api = api_as(auditor).get("/api/v1/audit/", {"batch": "NO-SUCH-BATCH"})
    assert api.status_code == 400 and "batch" in api.json()


def test_the_api_searches_by_batch_with_short_record_types_and_display_values(
    api_as, auditor, traced_batch
):
    batch, other, _ = traced_batch
    client = api_as(auditor)
    response = client.get("/api/v1/audit/", {"batch": batch.batch_number, "page_size": 500})
    assert response.status_code == 200
    results = response.json()["results"]
    assert {"batch", "elution", "qcresult", "dose"} <= {r["object_type"] for r in results}
    assert {r["object_model"] for r in results if r["object_type"] == "qcresult"} == {"qc.qcresult"}
    assert {r["object_type_label"] for r in results if r["object_type"] == "qcresult"} == {
        "QC result"
    }
    assert all(re.search(r"[+-]\d\d:\d\d$", r["occurred_at"]) for r in results)
    correction = next(
        r for r in results if r["object_type"] == "batch" and r["action"] == "corrected"
    )
    assert correction["record"] == batch.batch_number
    assert {
        "field": "activity_mbq",
        "label": "Activity (MBq)",
        "old": "700 MBq",
        "new": "650 MBq",
    } in correction["changes_display"]
    only_batches = client.get("/api/v1/audit/", {"object_type": "batch"}).json()["results"]
    assert {r["record"] for r in only_batches} == {batch.batch_number, other.batch_number}


def test_an_unknown_record_type_is_a_400_listing_the_valid_ones(api_as, auditor):
    response = api_as(auditor).get("/api/v1/audit/", {"object_type": "qc.nothing"})
    assert response.status_code == 400
    message = response.json()["object_type"][0]
    assert "Valid record types" in message and "batch" in message and "qcresult" in message


def test_record_types_come_from_the_vocabulary_not_the_table(client, auditor):
    assert not AuditEvent.objects.filter(object_type="qc.capa").exists()
    choices = dict(_page(client, auditor).context["form"].fields["object_type"].choices)
    assert choices["batch"] == "Batch" and choices["qcresult"] == "QC result"
    assert choices["capa"] == "CAPA"
    assert record_types()["dose"].stored == "scheduling.dose"


def _csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_any_search_exports_as_csv_from_the_page_and_the_api(client, auditor, api_as, traced_batch):
    batch, _, _ = traced_batch
    client.force_login(auditor)
    page = client.get("/audit/", {"batch": batch.batch_number, "export": "csv"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/csv")
    rows = _csv(b"".join(page.streaming_content))
    api = api_as(auditor).get("/api/v1/audit/export/", {"batch": batch.batch_number})
    assert api.status_code == 200
    assert _csv(b"".join(api.streaming_content)) == rows
    shown = _page(client, auditor, batch=batch.batch_number).context["entries"]
    assert [int(r["Entry"]) for r in rows] == sorted(e.event.id for e in shown)
    assert all(LOCAL_TIME.match(r["Time (site, with UTC offset)"]) for r in rows)
    assert any("Activity (MBq): 700 MBq → 650 MBq" in r["Changes (field: old → new)"] for r in rows)
    assert {r["Record type"] for r in rows} >= {"Batch", "QC result"}
    bad = api_as(auditor).get("/api/v1/audit/export/", {"object_type": "nothing"})
    assert bad.status_code == 400


def _entries(count: int, actor) -> None:
    for n in range(count):
        audit.record(
            actor=actor,
            action=audit.AuditAction.CHANGED,
            object_type="radiopharmacy.batch",
            object_id=n,
            changes={"volume_ml": {"old": n, "new": n + 1}},
        )


def test_pages_follow_each_other_by_keyset_newest_first(client, auditor, radiopharmacist):
    _entries(120, radiopharmacist)
    first = _page(client, auditor, user=radiopharmacist.username).context["page"]
    assert len(first.entries) == 50 and first.newer is None and first.older
    second = _page(client, auditor, user=radiopharmacist.username, before=first.older)
    second = second.context["page"]
    ids = [e.id for e in first.entries + second.entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 100
    back = _page(client, auditor, user=radiopharmacist.username, after=second.newer)
    assert [e.id for e in back.context["page"].entries] == [e.id for e in first.entries]


def test_the_api_pages_by_cursor(api_as, auditor, radiopharmacist):
    _entries(30, radiopharmacist)
    client = api_as(auditor)
    first = client.get("/api/v1/audit/", {"user": radiopharmacist.username, "page_size": 20})
    body = first.json()
    assert "count" not in body and len(body["results"]) == 20 and body["next"]
    second = client.get(body["next"]).json()
    ids = [r["id"] for r in body["results"] + second["results"]]
    assert len(ids) == 30 and ids == sorted(ids)


@pytest.fixture(params=[1, 10], ids=["1x", "10x"])
def trail(request, radiopharmacist):
    """A trail of batches with their QC, corrections and doses, once and ten times over."""
    for _ in range(request.param):
        batch = BatchFactory(qc={"ph": 4.0, "rcp_itlc": 97.0}, operator=radiopharmacist)
        with as_of(batch.eos_at + audit.dt.timedelta(minutes=30)):
            batch_correct(
                actor=radiopharmacist,
                batch_id=batch.pk,
                changes={"activity_mbq": 650.0},
                reason="typo",
            )
        dose = DoseFactory(batch=batch)
        audit.record(
            actor=radiopharmacist,
            action=audit.AuditAction.DOSE_ASSIGNED,
            obj=dose,
            changes=audit.created(dose),
        )
    _entries(10 * request.param, radiopharmacist)
    return request.param


# A page: the session and user, the entries, one query per record type on it, the QC results
# of corrections; independent of the number of entries.
MAX_QUERIES = 16


def _no_scan_of_the_table(queries) -> None:
    sql = " ".join(q["sql"].upper() for q in queries)
    assert "COUNT(" not in sql and "OFFSET" not in sql and "DISTINCT" not in sql


def test_the_page_runs_a_bounded_number_of_queries(
    client, auditor, trail, django_assert_max_num_queries
):
    client.force_login(auditor)
    client.get("/audit/")  # the session, once
    with CaptureQueriesContext(connection) as queries:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get("/audit/")
    assert len(response.context["entries"]) == min(50, AuditEvent.objects.count())
    _no_scan_of_the_table(queries.captured_queries)


def test_the_api_runs_a_bounded_number_of_queries(
    api_as, auditor, trail, django_assert_max_num_queries
):
    client = api_as(auditor)
    with CaptureQueriesContext(connection) as queries:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get("/api/v1/audit/", {"page_size": 100})
    assert response.status_code == 200
    _no_scan_of_the_table(queries.captured_queries)


def test_a_batch_search_runs_a_bounded_number_of_queries(
    client, auditor, trail, django_assert_max_num_queries
):
    number = AuditEvent.objects.filter(object_type="radiopharmacy.batch").first().object_repr
    client.force_login(auditor)
    client.get("/audit/")
    with django_assert_max_num_queries(MAX_QUERIES + 12):  # the links of the batch
        response = client.get("/audit/", {"batch": number})
    assert response.context["batch"].batch_number == number
