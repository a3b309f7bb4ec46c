"""`verify_audit` reading rows without model objects, its incremental mode from the latest signed
checkpoint, and the pure check of entry rows an offline export uses."""

import datetime as dt
import json

import orjson
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from radiopharmacy.core import audit, audit_sql
from radiopharmacy.core.audit import AuditAction, checkpoint_write, verify_chain
from radiopharmacy.models import AuditEvent

# The owner's changes must be visible to it: committed rows (see as_table_owner in conftest).
pytestmark = pytest.mark.django_db(transaction=True)
TABLE = audit_sql.TABLE


@pytest.fixture(autouse=True)
def _checkpoints_only_when_asked(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 10**9


def _entries(count: int) -> list[AuditEvent]:
    return [
        audit.record(
            actor=None,
            action=AuditAction.CHANGED,
            object_type="test.thing",
            object_id=n,
            changes={"n": {"old": n, "new": n + 1}, "note": {"old": None, "new": "é ✓"}},
        )
        for n in range(count)
    ]


@pytest.fixture
def tamper(as_table_owner):
    """Run SQL as the table's owner with the append-only triggers lifted, then put them back."""

    def run(sql, params):
        audit_sql.apply(as_table_owner, install=False)
        try:
            with as_table_owner.cursor() as cursor:
                cursor.execute(sql, params)
        finally:
            audit_sql.apply(as_table_owner, install=True)

    return run


def test_the_hash_is_byte_identical_to_the_canonical_form_of_the_trail():
    """The digest of a fixed entry as the trail has always computed it: a change of the
    canonical form would break every stored hash."""
    event = AuditEvent(
        occurred_at=dt.datetime(2026, 11, 24, 8, 15, 2, 123456, tzinfo=dt.UTC),
        user_id=3,
        username="rp",
        action="corrected",
        object_type="radiopharmacy.batch",
        object_id="12",
        object_repr="GA-20261124-01",
        changes={
            "activity_eos_mbq": {"old": "812.40", "new": "821.40"},
            "note": {"old": None, "new": "é ✓"},
        },
        reason="transcription error",
        prev_hash="ab" * 32,
    )
    expected = "4135724e77f5ff5a68a2f253e3c0eca0f1312c1c7f6f3ee9ed87460b7725c639"
    assert audit.content_hash(event) == expected
    # The verifier's orjson path makes the same digest of the entry as stored.
    stored = [getattr(event, name) for name in audit.HASHED_FIELDS]
    stored[0], stored[7] = audit.jsonable(event.occurred_at), json.dumps(event.changes)
    assert audit._confirmed((None, *stored, expected, ""))


def test_stored_rows_hash_to_the_hash_each_entry_was_written_with():
    events = _entries(5)
    rows = {row[0]: row for row in audit._stored_rows(events[0].id - 1)}
    for event in events:
        assert rows[event.id][11] == event.hash
        assert audit.entry_row_problem(rows[event.id], audit._keyed()) is None


def test_an_entry_written_on_a_whole_second_reads_back_to_its_hash():
    """Its stored time has no fraction of a second (nor then has its ISO form)."""
    with time_machine.travel(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC), tick=False):
        (event,) = _entries(1)
    (row,) = list(audit._stored_rows(event.id - 1))
    assert row[1] == "2026-11-24T08:00:00+00:00" == audit.jsonable(event.occurred_at)
    assert audit.entry_row_problem(row, audit._keyed()) is None
    assert verify_chain().ok


@pytest.mark.parametrize("microsecond", [250_000, 123_456, 5])
def test_an_entry_written_within_a_second_reads_back_to_its_time(microsecond):
    """PostgreSQL drops a fraction's trailing zeros (".25"), SQLite keeps six digits."""
    at = dt.datetime(2026, 11, 24, 8, 0, 0, microsecond, tzinfo=dt.UTC)
    with time_machine.travel(at, tick=False):
        (event,) = _entries(1)
    (row,) = list(audit._stored_rows(event.id - 1))
    assert row[1] == audit.jsonable(event.occurred_at) == at.isoformat()
    assert audit.entry_row_problem(row, audit._keyed()) is None


def test_verify_entry_rows_checks_rows_offline_as_tuples_or_mappings():
    _entries(4)
    rows = list(audit._stored_rows(0))
    key = audit.settings.AUDIT_HMAC_KEY
    assert audit.verify_entry_rows(rows, key=key, chained=True) == []
    as_dicts = [dict(zip(audit.ENTRY_COLUMNS, row, strict=True)) for row in rows]
    assert audit.verify_entry_rows(as_dicts[-3:], key=key) == []
    # A changed reason, a wrong key, and a row left out of a consecutive run:
    edited = list(rows[-1])
    edited[9] = "forged"
    assert audit.verify_entry_rows([tuple(edited)]) == [
        (rows[-1][0], f"entry {rows[-1][0]} was changed: its content no longer matches its hash")
    ]
    wrong_key = audit.verify_entry_rows(rows[-1:], key="another key" * 4)
    assert "HMAC" in wrong_key[0][1]
    gap = audit.verify_entry_rows([rows[-3], rows[-1]], chained=True)
    assert gap == [(rows[-1][0], f"entry {rows[-1][0]} does not link to entry {rows[-3][0]}")]


def test_incremental_reads_only_the_entries_after_the_latest_checkpoint(capsys):
    _entries(6)
    checkpoint = checkpoint_write()
    _entries(3)
    report = verify_chain(since_checkpoint=True)
    assert report.ok, report.problem
    assert report.since == checkpoint
    assert report.read == 4  # the checkpoint's head entry, then the three after it
    assert report.checked == AuditEvent.objects.count() == verify_chain().checked
    call_command("verify_audit", "--since-checkpoint")
    out = capsys.readouterr().out
    assert f"intact: {report.checked} entries (4 read from the checkpoint" in out


def test_incremental_without_a_checkpoint_reads_the_whole_chain():
    _entries(3)
    report = verify_chain(since_checkpoint=True)
    assert report.ok and report.since is None
    assert report.read == AuditEvent.objects.count()


def test_incremental_names_an_entry_changed_after_the_checkpoint(tamper):
    _entries(4)
    checkpoint_write()
    events = _entries(3)
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["forged", events[1].id])
    for since in (True, False):
        report = verify_chain(since_checkpoint=since)
        assert report.first_broken_id == events[1].id
        assert "was changed" in report.problem
    with pytest.raises(CommandError, match=f"broken at entry {events[1].id}"):
        call_command("verify_audit", "--since-checkpoint")


def test_incremental_checks_the_checkpoints_head_entry_itself(tamper):
    events = _entries(4)
    checkpoint_write()
    _entries(2)
    tamper(f"UPDATE {TABLE} SET username = %s WHERE id = %s", ["mallory", events[-1].id])
    report = verify_chain(since_checkpoint=True)
    assert report.first_broken_id == events[-1].id and "was changed" in report.problem


def test_incremental_names_entries_deleted_before_the_checkpoint_by_its_count(tamper):
    events = _entries(5)
    checkpoint_write()
    _entries(2)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[1].id])
    report = verify_chain(since_checkpoint=True)
    assert report.first_broken_id == events[-1].id
    assert "1 entries up to entry" in report.problem and "missing (deleted)" in report.problem
    assert verify_chain().first_broken_id == events[2].id  # the full check names the gap


def test_incremental_names_a_deleted_tail_against_the_checkpoint(tamper):
    _entries(3)
    head = _entries(2)[-1]
    checkpoint_write()
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [head.id])
    report = verify_chain(since_checkpoint=True)
    assert report.first_broken_id == head.id and "missing at the end" in report.problem


def test_an_entry_changed_before_the_checkpoint_is_named_by_the_full_check(tamper):
    """The hourly job reads from the checkpoint on; the daily full check reads everything."""
    events = _entries(5)
    checkpoint_write()
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["forged", events[1].id])
    assert verify_chain().first_broken_id == events[1].id


def test_the_hourly_job_checks_incrementally_and_the_daily_job_fully(tamper):
    from radiopharmacy.models import Alert
    from radiopharmacy.tasks import audit_verify_task

    events = _entries(5)
    checkpoint_write()
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["forged", events[1].id])
    assert audit_verify_task() is True  # before the checkpoint: beyond the hourly job's reach
    assert audit_verify_task(full=True) is False
    assert str(events[1].id) in Alert.objects.get(kind="audit_chain_broken").message


# The verifier's fast path (`audit._confirmed`, orjson) against the reference (`entry_hash`).
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses them, the reference decides
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)
_FIELDS = ("2026-11-24T08:15:02.123456+00:00", 3, "rp", "changed", "qc.qcresult", "12", "QC ✓")


def _row(stored_changes: str, hashed_changes) -> tuple:
    """A stored row whose `changes` text is `stored_changes`, hashed as if it were
    `hashed_changes` (its text as written: the same value; a tampered row: another)."""
    digest = audit.entry_hash(*_FIELDS, hashed_changes, "why", "ab" * 32)
    return (7, *_FIELDS, stored_changes, "why", "ab" * 32, digest, "")


def _canonical(value) -> bytes:
    return audit._CANONICAL.encode(value).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_orjson_writes_json_values_the_stdlib_reads_back_exactly(value):
    """The fast path's premise: orjson's text of a value is read back by the stdlib as that very
    value (ints, floats to the bit, strings), and it is the canonical text, byte for byte, but
    for some floats the stdlib writes with a negative exponent (1e-05; orjson 0.00001), which
    the reference decides, as it does values orjson refuses (integers beyond 64 bits)."""
    try:
        text = orjson.dumps(value, option=audit._ORJSON_SORTED)
    except orjson.JSONEncodeError:
        assert not _fast(value)
        return
    assert _canonical(json.loads(text)) == _canonical(value)
    if _fast(value):
        assert text == _canonical(value)


@settings(max_examples=300, deadline=None)
@given(_json_values, st.booleans())
def test_the_fast_path_confirms_an_intact_row_as_stored_on_either_engine(value, as_jsonb):
    # SQLite stores json.dumps' text; PostgreSQL's jsonb gives its own (here: other spacing,
    # unicode unescaped), read back the same.
    text = json.dumps(value, ensure_ascii=not as_jsonb, separators=(", ", ": "))
    row = _row(text, json.loads(text))
    assert audit.entry_row_problem(row) is None
    assert audit._confirmed(row) or not _fast(value)


@settings(max_examples=300, deadline=None)
@given(_json_values, _json_values)
def test_the_fast_path_never_confirms_what_the_reference_rejects(stored, hashed):
    row = _row(json.dumps(stored), hashed)
    reference_ok = _canonical(json.loads(json.dumps(stored))) == _canonical(hashed)
    assert (audit.entry_row_problem(row) is None) is reference_ok
    if audit._confirmed(row):
        assert reference_ok


@pytest.mark.parametrize(
    ("stored", "hashed"),
    [
        ('{"a": NaN}', {"a": None}),  # orjson would write NaN and infinities as null
        ('{"a": Infinity}', {"a": None}),
        ('{"a": 1e400}', {"a": None}),
        ('{"a": 123456789012345678901234567890}', {"a": 1.2345678901234568e29}),  # orjson: float
        ('{"a": 1}', {"a": 1.0}),
        ('{"a": -0.0}', {"a": 0.0}),
        ('{"a": "\\u00e9"}', {"a": "e"}),
    ],
)
def test_values_orjson_would_conflate_are_named_as_changed(stored, hashed):
    row = _row(stored, hashed)
    assert not audit._confirmed(row)
    assert "was changed" in audit.entry_row_problem(row)


def test_stored_text_with_surrounding_space_is_checked_by_the_reference():
    row = _row(' {"a": 1} ', {"a": 1})
    assert not audit._confirmed(row) and audit.entry_row_problem(row) is None


def _fast(value) -> bool:
    """Whether the fast path confirms this value for sure: no integer beyond 64 bits, no float
    written with a negative exponent."""
    return not any(
        (isinstance(leaf, int) and not -(2**63) <= leaf < 2**64)
        or (isinstance(leaf, float) and "e-" in repr(leaf))
        for leaf in _leaves(value)
    )


def _leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _reports_alike(monkeypatch, **kwargs):
    """The report of one process and of two, chunks of 3 ids: the same."""
    monkeypatch.setattr(audit, "VERIFY_CHUNK", 3)
    assert audit._can_fork()
    one = verify_chain(processes=1, **kwargs)
    two = verify_chain(processes=2, **kwargs)
    assert one == two
    return two


def test_processes_find_an_intact_chain_intact(monkeypatch, capsys):
    _entries(14)
    checkpoint_write()
    _entries(4)
    report = _reports_alike(monkeypatch)
    assert report.ok and report.read == AuditEvent.objects.count()
    call_command("verify_audit", "--processes", "2")
    assert f"intact: {report.checked} entries" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (f"UPDATE {TABLE} SET reason = 'forged' WHERE id = %s", "was changed"),
        (f"DELETE FROM {TABLE} WHERE id = %s", "missing (deleted)"),  # at a chunk's border
        (f"UPDATE {TABLE} SET hmac = 'x' WHERE id = %s", "HMAC"),
    ],
)
def test_processes_name_the_same_tampering(monkeypatch, tamper, sql, named):
    events = _entries(16)
    checkpoint_write()
    _entries(3)
    tamper(sql, [events[6].id])  # ids 1 to 3, 4 to 6, 7 to 9...: the first of a chunk
    report = _reports_alike(monkeypatch)
    assert report.first_broken_id == events[6].id + (named == "missing (deleted)")
    assert named in report.problem
    with pytest.raises(CommandError, match=named.replace("(", r"\(").replace(")", r"\)")):
        call_command("verify_audit", "--processes", "2")


def test_processes_name_entries_swapped_across_a_chunk_border(monkeypatch, tamper):
    events = _entries(12)
    checkpoint_write()
    a, b = events[5].id, events[6].id  # the last of a chunk and the first of the next
    for new_id, old_id in ((-1, a), (a, b), (b, -1)):
        tamper(f"UPDATE {TABLE} SET id = %s WHERE id = %s", [new_id, old_id])
    report = _reports_alike(monkeypatch)
    assert report.first_broken_id == a
    assert f"entries were reordered: entry {a} chains to entry {b}" in report.problem
