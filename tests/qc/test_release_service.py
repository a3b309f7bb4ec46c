"""batch_release: the e-signed release and rejection (SPEC §2.5, 21 CFR 11)."""

from datetime import UTC, timedelta

import pytest
import time_machine

from qc.models import BatchSignature, Certificate
from qc.services.release import batch_release, canonical_batch_record, sha256_hex
from radiopharmacy.core.errors import ApplicationError, NotAllowed, StateConflict
from radiopharmacy.models import AuditEvent, Batch, OutboxJob
from tests.factories import (
    PASSING_RELEASE_VALUES,
    QC_TIME,
    RELEASE_TIME,
    TEST_PASSWORD,
    BatchFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


def release(batch, user, *, password=TEST_PASSWORD, decision="release", comment=""):
    return batch_release(
        batch_id=batch.pk, actor=user, password=password, decision=decision, comment=comment
    )


def assert_unchanged(batch):
    fresh = Batch.objects.get(pk=batch.pk)
    assert fresh.status == "qc_pending"
    assert not BatchSignature.objects.filter(batch=batch).exists()
    assert not OutboxJob.objects.filter(task_name="qc.render_certificate").exists()
    assert not AuditEvent.objects.filter(action__in=["released", "rejected", "signed"]).exists()


@pytest.mark.requirement("REL-02", "P11-11.50", "P11-11.70", "A11-14")
def test_release_signs_with_printed_name_utc_time_meaning_and_record_hash(
    radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    expected_record = canonical_batch_record(batch)
    result = release(batch, qualified_person, comment="All within specification.")
    assert result.status == "released"
    signature = BatchSignature.objects.get(batch=batch)
    assert signature.printed_name == "Quentin Peters"
    assert signature.user == qualified_person
    assert signature.meaning == "Released for human use"
    assert signature.decision == "release"
    assert signature.comment == "All within specification."
    assert signature.signed_at == RELEASE_TIME
    assert signature.signed_at.utcoffset() == timedelta(0)
    assert signature.record_json.encode() == expected_record
    assert signature.record_sha256 == sha256_hex(expected_record)


@pytest.mark.requirement("REL-04", "AUD-01")
def test_release_writes_audit_entries_and_queues_the_certificate_job(
    radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    release(batch, qualified_person, comment="ok")
    released = AuditEvent.objects.get(action="released", object_id=str(batch.pk))
    assert released.changes == {"status": {"old": "qc_pending", "new": "released"}}
    assert released.username == qualified_person.username
    assert released.reason == "ok"
    signed = AuditEvent.objects.get(action="signed")
    assert signed.changes["meaning"]["new"] == "Released for human use"
    job = OutboxJob.objects.get(task_name="qc.render_certificate")
    signature = BatchSignature.objects.get(batch=batch)
    assert job.key == f"certificate:{signature.pk}"
    assert job.kwargs == {"signature_id": signature.pk}


@pytest.mark.requirement("REL-04", "AUD-01")
def test_release_renders_the_certificate_after_commit(
    radiopharmacist, qualified_person, celery_eager, django_capture_on_commit_callbacks
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with django_capture_on_commit_callbacks(execute=True):
        release(batch, qualified_person)
    certificate = Certificate.objects.get(batch=batch)
    assert certificate.certificate_number == f"CERT-{batch.batch_number}"
    assert bytes(certificate.pdf).startswith(b"%PDF")
    assert certificate.sha256 == sha256_hex(bytes(certificate.pdf))
    assert OutboxJob.objects.get(task_name="qc.render_certificate").status == "done"


@pytest.mark.parametrize("role", ["radiopharmacist", "scheduler", "auditor", None])
@pytest.mark.requirement("REL-03", "P11-11.10(g)")
def test_release_refused_for_anyone_but_a_qualified_person(radiopharmacist, make_user, role):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(NotAllowed, match="Only a qualified person"):
        release(batch, make_user(role))
    assert_unchanged(batch)


@pytest.mark.requirement("REL-01", "P11-11.200")
def test_release_refused_on_wrong_password_and_the_failure_is_logged(
    radiopharmacist, qualified_person
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(NotAllowed, match="password") as refused:
        release(batch, qualified_person, password="not-my-password")
    assert refused.value.status_code == 403
    assert refused.value.fields == {"password": ["The password is not correct."]}
    assert_unchanged(batch)
    failure = AuditEvent.objects.get(action="signature_reauth_failed")
    assert failure.username == qualified_person.username
    assert failure.object_type == "radiopharmacy.batch"
    assert failure.object_id == str(batch.pk)


@pytest.mark.requirement("REL-01", "P11-11.200")
def test_release_refused_on_empty_password(radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(NotAllowed):
        release(batch, qualified_person, password="")
    assert_unchanged(batch)


@pytest.mark.requirement("REL-03", "GRPP-04")
def test_release_refused_for_the_batch_operator_four_eyes(make_user):
    # A qualified person who also works as a radiopharmacist made this batch.
    both = make_user("qualified_person")
    from django.contrib.auth.models import Group

    both.groups.add(Group.objects.get(name="radiopharmacist"))
    batch = BatchFactory(operator=both, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(NotAllowed, match="four eyes"):
        release(batch, both)
    assert_unchanged(batch)
    with pytest.raises(NotAllowed, match="four eyes"):
        release(batch, both, decision="reject")
    assert_unchanged(batch)


@pytest.mark.requirement("REL-03")
def test_release_refused_when_a_release_test_is_missing(radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist, qc="passing", skip={"endotoxin"}, recorded_at=QC_TIME
    )
    with pytest.raises(StateConflict) as refused:
        release(batch, qualified_person)
    assert refused.value.status_code == 409
    assert refused.value.blocking == ["Bacterial endotoxins result missing"]
    assert_unchanged(batch)


@pytest.mark.requirement("REL-03")
def test_release_refused_when_rcp_below_limit(radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0},
        recorded_at=QC_TIME,
    )
    with pytest.raises(StateConflict) as refused:
        release(batch, qualified_person)
    assert "RCP 94.0 % is below the 95 % limit" in refused.value.blocking
    assert_unchanged(batch)


@pytest.mark.requirement("REL-03")
def test_release_refused_when_the_batch_has_expired(radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with time_machine.travel(batch.expires_at + timedelta(minutes=1), tick=False):
        with pytest.raises(StateConflict) as refused:
            release(batch, qualified_person)
    local = batch.expires_at.astimezone(UTC)
    assert any(b.startswith("Batch expired at") for b in refused.value.blocking), local
    assert_unchanged(batch)


@pytest.mark.requirement("REL-05", "P11-11.100")
def test_double_release_gives_one_signature_and_one_certificate(
    radiopharmacist, qualified_person, celery_eager, django_capture_on_commit_callbacks
):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with django_capture_on_commit_callbacks(execute=True):
        first = release(batch, qualified_person)
    with django_capture_on_commit_callbacks(execute=True):
        second = release(batch, qualified_person)
    assert first.pk == second.pk and second.status == "released"
    assert BatchSignature.objects.filter(batch=batch).count() == 1
    assert Certificate.objects.filter(batch=batch).count() == 1
    assert OutboxJob.objects.filter(task_name="qc.render_certificate").count() == 1
    assert AuditEvent.objects.filter(action="released").count() == 1


@pytest.mark.requirement("REL-05", "P11-11.100")
def test_unique_constraint_refuses_a_second_disposition_signature(
    radiopharmacist, qualified_person
):
    from django.db import IntegrityError, transaction

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    release(batch, qualified_person)
    signature = BatchSignature.objects.get(batch=batch)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchSignature.objects.create(
            batch=batch,
            user=qualified_person,
            printed_name="x",
            meaning="Rejected",
            decision="reject",
            signed_at=signature.signed_at,
            record_sha256=signature.record_sha256,
            record_json=signature.record_json,
        )


@pytest.mark.requirement("REL-01", "GRPP-08")
def test_rejection_signs_rejected_and_needs_no_passing_qc(radiopharmacist, qualified_person):
    batch = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 94.0},
        recorded_at=QC_TIME,
    )
    result = release(batch, qualified_person, decision="reject", comment="RCP out of spec")
    assert result.status == "rejected"
    signature = BatchSignature.objects.get(batch=batch)
    assert (signature.meaning, signature.decision) == ("Rejected", "reject")
    assert signature.printed_name == "Quentin Peters"
    assert AuditEvent.objects.get(action="rejected").changes["status"]["new"] == "rejected"
    assert not OutboxJob.objects.filter(task_name="qc.render_certificate").exists()
    # a repeated rejection click changes nothing; a release after it is refused
    release(batch, qualified_person, decision="reject")
    assert BatchSignature.objects.filter(batch=batch).count() == 1
    with pytest.raises(StateConflict, match="already been signed"):
        release(batch, qualified_person)


def test_rejection_of_an_expired_batch_is_allowed(radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with time_machine.travel(batch.expires_at + timedelta(hours=1), tick=False):
        assert release(batch, qualified_person, decision="reject").status == "rejected"


def test_unknown_decision_is_a_400(radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(ApplicationError) as refused:
        release(batch, qualified_person, decision="approve")
    assert refused.value.status_code == 400
    assert_unchanged(batch)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.requirement("REL-01")
def test_failed_reauthentication_entry_is_committed_although_the_signature_rolls_back(
    radiopharmacist, qualified_person
):
    from django.db import connection

    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    with pytest.raises(NotAllowed):
        release(batch, qualified_person, password="wrong-password-1")
    assert connection.get_autocommit()  # no transaction is open: what is there is committed
    assert AuditEvent.objects.filter(
        action="signature_reauth_failed", object_id=str(batch.pk)
    ).exists()
    assert_unchanged(batch)
