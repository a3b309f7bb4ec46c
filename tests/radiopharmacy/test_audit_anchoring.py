"""The audit trail's anchoring: an HMAC on every entry (key outside the database) and signed
checkpoints outside the database, so that what an owner of the table can do behind the
application's back (lift the triggers, edit, delete, reorder, recompute every hash) is named by
`verify_audit`."""

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from radiopharmacy.core import audit, audit_sql
from radiopharmacy.core.audit import AuditAction, checkpoint_write, verify_chain
from radiopharmacy.models import AuditCheckpoint, AuditEvent

# The owner's changes must be visible to it: committed rows (a session of its own on PostgreSQL
# with the two roles, see as_table_owner in tests/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)
TABLE = audit_sql.TABLE


def _entries(count: int) -> list[AuditEvent]:
    return [
        audit.record(
            actor=None,
            action=AuditAction.CHANGED,
            object_type="test.thing",
            object_id=n,
            changes={"n": {"old": n, "new": n + 1}},
        )
        for n in range(count)
    ]


@pytest.fixture
def tamper(as_table_owner):
    """Run SQL as the table's owner with the append-only triggers lifted, then put them back."""

    def run(*statements):
        audit_sql.apply(as_table_owner, install=False)
        try:
            with as_table_owner.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
        finally:
            audit_sql.apply(as_table_owner, install=True)

    return run


def _broken(match: str) -> str:
    with pytest.raises(CommandError, match=match) as caught:
        call_command("verify_audit")
    return str(caught.value)


def _rewrite_from(tamper, first_id: int, *, resign: bool) -> None:
    """Edit entry `first_id` and recompute the hash of it and of every later entry, as someone
    who knows the hash recipe would; `resign`: and their HMACs too, as someone who also stole
    the key."""
    events = list(AuditEvent.objects.filter(id__gte=first_id).order_by("id"))
    previous = AuditEvent.objects.get(id=first_id - 1).hash if first_id > 1 else "0" * 64
    statements = []
    for event in events:
        if event.id == first_id:
            event.reason = "forged"
        event.prev_hash = previous
        event.hash = audit.content_hash(event)
        mac = audit.entry_mac(event.id, event.hash) if resign else event.hmac
        statements.append(
            (
                f"UPDATE {TABLE} SET reason = %s, prev_hash = %s, hash = %s, hmac = %s "
                "WHERE id = %s",
                [event.reason, event.prev_hash, event.hash, mac, event.id],
            )
        )
        previous = event.hash
    tamper(*statements)


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_an_intact_chain_passes_against_its_checkpoints(capsys):
    _entries(30)
    checkpoint_write()
    _entries(5)
    checkpoint_write()
    report = verify_chain()
    assert report.ok and report.checked == 35 and report.checkpoints == 2
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "intact: 35 entries, signed, consistent with 2 signed checkpoints" in out
    assert "entry 35" in out


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_every_entry_carries_an_hmac_under_the_key_from_the_settings():
    event = _entries(1)[0]
    assert event.hmac == audit.entry_mac(event.id, event.hash)
    assert len(event.hmac) == 64 and event.hmac != event.hash
    assert settings.AUDIT_HMAC_KEY not in json.dumps(list(AuditEvent.objects.values()), default=str)


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_an_edited_entry_is_named(tamper):
    events = _entries(10)
    checkpoint_write()
    tamper((f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["nothing happened", events[4].id]))
    message = _broken(f"broken at entry {events[4].id}")
    assert f"entry {events[4].id} was changed" in message
    assert "4 entries before it are intact" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_a_deleted_middle_entry_is_named_as_a_missing_id(tamper):
    events = _entries(10)
    checkpoint_write()
    tamper((f"DELETE FROM {TABLE} WHERE id = %s", [events[4].id]))
    message = _broken(f"broken at entry {events[5].id}")
    assert f"entry {events[4].id} is missing (deleted)" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_a_deleted_range_is_named(tamper):
    events = _entries(12)
    tamper((f"DELETE FROM {TABLE} WHERE id BETWEEN %s AND %s", [events[3].id, events[7].id]))
    message = _broken(f"broken at entry {events[8].id}")
    assert f"entries {events[3].id} to {events[7].id} are missing (deleted)" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_two_swapped_entries_are_named_as_reordered(tamper):
    events = _entries(10)
    checkpoint_write()
    a, b = events[4].id, events[5].id
    tamper(
        (f"UPDATE {TABLE} SET id = %s WHERE id = %s", [-1, a]),
        (f"UPDATE {TABLE} SET id = %s WHERE id = %s", [a, b]),
        (f"UPDATE {TABLE} SET id = %s WHERE id = %s", [b, -1]),
    )
    message = _broken(f"broken at entry {a}")
    assert f"entries were reordered: entry {a} chains to entry {b}" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_the_last_entry_deleted_is_named_against_the_checkpoint(tamper):
    events = _entries(10)
    checkpoint_write()
    tamper((f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].id]))
    message = _broken(f"broken at entry {events[-1].id}")
    assert f"entry {events[-1].id} is missing at the end (deleted)" in message
    assert f"the trail ends at entry {events[-2].id}" in message
    assert "covers 10 entries" in message


def test_the_last_twenty_deleted_are_named_against_the_checkpoint(tamper):
    events = _entries(30)
    checkpoint_write()
    tamper((f"DELETE FROM {TABLE} WHERE id >= %s", [events[10].id]))
    message = _broken(f"broken at entry {events[10].id}")
    assert f"entries {events[10].id} to {events[-1].id} are missing at the end (deleted)" in message


def test_every_entry_deleted_is_named_against_the_checkpoint(tamper):
    _entries(10)
    checkpoint_write()
    tamper((f"DELETE FROM {TABLE}", []))
    assert AuditEvent.objects.count() == 0
    message = _broken("broken at entry 1")
    assert "the trail is empty but the checkpoint" in message
    assert "covers 10 entries" in message and "every entry was deleted" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_an_edit_with_every_later_hash_recomputed_is_named_by_its_hmac(tamper):
    events = _entries(10)
    checkpoint_write()
    _rewrite_from(tamper, events[3].id, resign=False)
    report = verify_chain()
    assert report.first_broken_id == events[3].id
    message = _broken(f"broken at entry {events[3].id}")
    assert f"entry {events[3].id} was rewritten: its signature (HMAC) does not match" in message
    # ... and the checkpoint's head hash no longer matches either.
    assert f"entry {events[-1].id} does not match the checkpoint" in message


@pytest.mark.requirement("AUD-03", "P11-11.10(a)", "A11-7")
def test_an_edit_recomputed_and_resigned_with_a_stolen_key_is_caught_by_the_checkpoint(tamper):
    events = _entries(10)
    checkpoint_write()
    _rewrite_from(tamper, events[3].id, resign=True)
    message = _broken(f"broken at entry {events[-1].id}")
    assert f"entry {events[-1].id} does not match the checkpoint" in message
    assert "the chain up to it was rewritten" in message


def test_a_checkpoint_line_edited_in_its_file_is_named():
    _entries(3)
    checkpoint_write()
    path = next(settings.AUDIT_CHECKPOINT_DIR.glob("checkpoints-*.jsonl"))
    line = json.loads(path.read_text())
    line["count"] = 2
    path.write_text(json.dumps(line) + "\n")
    report = verify_chain()
    assert not report.ok
    assert any("line 1 has a bad signature" in problem for problem in report.problems)


def test_a_checkpoint_removed_from_the_files_is_named_from_the_table():
    _entries(3)
    checkpoint_write()
    for path in settings.AUDIT_CHECKPOINT_DIR.glob("checkpoints-*.jsonl"):
        path.write_text("")
    message = _broken("Audit checkpoints broken")
    assert "is in no checkpoint file" in message


def test_a_checkpoint_is_written_after_every_hundred_entries():
    _entries(99)
    assert AuditCheckpoint.objects.count() == 0
    _entries(106)
    assert list(AuditCheckpoint.objects.values_list("last_entry_id", "entry_count")) == [
        (100, 100),
        (200, 200),
    ]
    lines = [
        json.loads(text)
        for path in sorted(settings.AUDIT_CHECKPOINT_DIR.glob("checkpoints-*.jsonl"))
        for text in path.read_text().splitlines()
    ]
    assert [(line["entry_id"], line["count"]) for line in lines] == [(100, 100), (200, 200)]
    assert verify_chain().ok


def test_the_command_and_the_periodic_job_write_checkpoints(capsys):
    from radiopharmacy.tasks import audit_checkpoint_task

    assert "audit-checkpoint" in settings.CELERY_BEAT_SCHEDULE
    _entries(4)
    call_command("audit_checkpoint")
    assert "4 entries up to entry 4" in capsys.readouterr().out
    assert audit_checkpoint_task() is False  # the head has not moved
    _entries(1)
    assert audit_checkpoint_task() is True
    assert list(AuditCheckpoint.objects.values_list("entry_count", flat=True)) == [4, 5]
    assert verify_chain().ok


@pytest.mark.requirement("AUD-02")
def test_the_checkpoint_table_is_append_only(as_table_owner):
    from django.db import DatabaseError, transaction

    _entries(1)
    checkpoint_write()
    assert {"auditcheckpoint_no_update", "auditcheckpoint_no_delete"} <= audit_sql.trigger_names(
        as_table_owner, audit_sql.CHECKPOINT_TABLE
    ) or {"auditcheckpoint_no_change", "auditcheckpoint_no_truncate"} <= audit_sql.trigger_names(
        as_table_owner, audit_sql.CHECKPOINT_TABLE
    )
    with pytest.raises(DatabaseError, match="append-only|permission denied"):
        with transaction.atomic():
            AuditCheckpoint.objects.update(entry_count=0)
    with pytest.raises(DatabaseError, match="append-only|permission denied"):
        with transaction.atomic():
            AuditCheckpoint.objects.all().delete()


def test_a_checkpoint_that_cannot_be_written_raises_a_critical_alert(settings, tmp_path):
    from radiopharmacy.models import Alert
    from radiopharmacy.tasks import audit_checkpoint_task

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.AUDIT_CHECKPOINT_DIR = blocker / "checkpoints"
    _entries(2)
    with pytest.raises(OSError):
        audit_checkpoint_task()
    alert = Alert.objects.get(kind="audit_checkpoint_failed")
    assert alert.level == "critical"
    assert not AuditCheckpoint.objects.exists()  # nothing in the table without its file line
