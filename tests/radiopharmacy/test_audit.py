import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from radiopharmacy.core import audit, audit_sql
from radiopharmacy.core.audit import GENESIS_HASH, verify_chain
from radiopharmacy.models import AuditEvent, Product

pytestmark = pytest.mark.django_db
# The triggers' message; on PostgreSQL as the application's role the rights refuse it first.
REFUSED = "append-only|permission denied"


def _three_entries(actor):
    product = Product.objects.get(code="GA68DOTATATE")
    events = [
        audit.record(
            actor=actor,
            action=audit.AuditAction.CREATED,
            obj=product,
            changes=audit.created(product),
        ),
        audit.record(
            actor=actor,
            action=audit.AuditAction.CHANGED,
            obj=product,
            changes=audit.diff({"name": "a"}, {"name": "b"}),
            reason="typo",
        ),
        audit.record(
            actor=None, action=audit.AuditAction.CHANGED, object_type="x", object_id=7, changes={}
        ),
    ]
    return events


@pytest.mark.requirement("AUD-03")
def test_record_chains_each_entry_to_the_previous(radiopharmacist):
    first, second, third = _three_entries(radiopharmacist)
    before = AuditEvent.objects.filter(id__lt=first.id).order_by("-id").first()
    assert first.prev_hash == (before.hash if before else GENESIS_HASH)
    assert (first.id, second.id, third.id) == (first.id, first.id + 1, first.id + 2)
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert second.changes == {"name": {"old": "a", "new": "b"}}
    assert second.reason == "typo"
    assert first.username == radiopharmacist.username
    assert third.username == "system"


@pytest.mark.requirement("AUD-02", "P11-11.10(e)", "P11-11.10(c)", "A11-7")
def test_update_of_an_audit_row_is_refused_by_the_database(radiopharmacist):
    event = _three_entries(radiopharmacist)[0]
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {audit_sql.TABLE} SET username = 'mallory'")
    event.refresh_from_db()
    assert event.reason == ""


@pytest.mark.requirement("AUD-02", "P11-11.10(e)", "P11-11.10(c)", "A11-7")
def test_delete_of_an_audit_row_is_refused_by_the_database(radiopharmacist):
    event = _three_entries(radiopharmacist)[1]
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {audit_sql.TABLE}")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.requirement("AUD-02", "P11-11.10(e)", "P11-11.10(c)", "A11-7")
def test_append_only_triggers_are_installed():
    names = audit_sql.trigger_names(connection)
    expected = (
        {"auditevent_no_update", "auditevent_no_delete"}
        if connection.vendor == "sqlite"
        else {"auditevent_no_change", "auditevent_no_truncate"}
    )
    assert expected <= names


@pytest.mark.requirement("AUD-03", "P11-11.10(a)")
def test_verify_audit_passes_on_an_intact_chain(radiopharmacist, capsys):
    _three_entries(radiopharmacist)
    call_command("verify_audit")
    assert f"intact: {AuditEvent.objects.count()} entries" in capsys.readouterr().out


@pytest.fixture
def tamper(as_table_owner):
    """What a DBA with rights to lift the triggers could do behind the application's back (on
    PostgreSQL the application's role cannot: tests/integration/test_db_roles.py)."""

    def run(sql, params):
        audit_sql.apply(as_table_owner, install=False)
        try:
            with as_table_owner.cursor() as cursor:
                cursor.execute(sql, params)
        finally:
            audit_sql.apply(as_table_owner, install=True)

    return run


# The owner's changes must be visible to it: committed rows (a session of its own on PostgreSQL).
tampering = pytest.mark.django_db(transaction=True)


@tampering
@pytest.mark.requirement("AUD-03", "P11-11.10(a)")
def test_verify_audit_names_the_first_changed_entry(radiopharmacist, tamper):
    events = _three_entries(radiopharmacist)
    tamper(f"UPDATE {audit_sql.TABLE} SET reason = %s WHERE id = %s", ["no typo", events[1].pk])
    report = verify_chain()
    assert report.first_broken_id == events[1].pk
    assert report.checked == AuditEvent.objects.filter(id__lt=events[1].pk).count()
    with pytest.raises(CommandError, match=f"broken at entry {events[1].pk}"):
        call_command("verify_audit")


@tampering
@pytest.mark.requirement("AUD-03", "P11-11.10(a)")
def test_verify_audit_names_the_entry_after_a_removed_one(radiopharmacist, tamper):
    events = _three_entries(radiopharmacist)
    tamper(f"DELETE FROM {audit_sql.TABLE} WHERE id = %s", [events[1].pk])
    assert verify_chain().first_broken_id == events[2].pk


@tampering
@pytest.mark.requirement("AUD-03", "P11-11.10(a)")
def test_a_rehashed_entry_still_breaks_the_link_to_the_next(radiopharmacist, tamper):
    """Even someone who has the HMAC key and re-signs the entry breaks the link to the next."""
    events = _three_entries(radiopharmacist)
    event = AuditEvent.objects.get(pk=events[0].pk)
    event.reason = "forged"
    forged_hash = audit.content_hash(event)
    tamper(
        f"UPDATE {audit_sql.TABLE} SET reason = %s, hash = %s, hmac = %s WHERE id = %s",
        ["forged", forged_hash, audit.entry_mac(event.pk, forged_hash), events[0].pk],
    )
    assert verify_chain().first_broken_id == events[1].pk


@tampering
def test_audit_task_raises_a_critical_alert_once_for_a_broken_chain(radiopharmacist, tamper):
    from radiopharmacy.models import Alert
    from radiopharmacy.tasks import audit_verify_task

    events = _three_entries(radiopharmacist)
    assert audit_verify_task() is True
    tamper(f"UPDATE {audit_sql.TABLE} SET username = %s WHERE id = %s", ["x", events[2].pk])
    assert audit_verify_task() is False
    assert audit_verify_task() is False
    alert = Alert.objects.get(kind="audit_chain_broken")
    assert alert.level == "critical" and str(events[2].pk) in alert.message


@pytest.mark.requirement("AUD-04")
def test_audit_api_filters_by_object_and_user(api_as, auditor, radiopharmacist):
    _three_entries(radiopharmacist)
    client = api_as(auditor)
    for object_type in ("product", "radiopharmacy.product"):  # short, or as stored
        response = client.get("/api/v1/audit/", {"object_type": object_type})
        assert response.status_code == 200
        assert len(response.json()["results"]) == 2
        assert {e["object_type"] for e in response.json()["results"]} == {"product"}
    # (The users of the test, created outside a request, are "system" entries too.)
    response = client.get("/api/v1/audit/", {"user": "system", "object_type": "product"})
    assert response.json()["results"] == []
    response = client.get("/api/v1/audit/", {"user": radiopharmacist.username})
    assert len(response.json()["results"]) == 2


@pytest.mark.requirement("AUD-04")
def test_audit_filters_by_an_action_of_the_vocabulary_only(
    api_as, client, auditor, radiopharmacist
):
    _three_entries(radiopharmacist)
    api = api_as(auditor)
    changed = api.get("/api/v1/audit/", {"action": audit.AuditAction.CHANGED})
    assert changed.status_code == 200
    assert {e["action"] for e in changed.json()["results"]} == {"changed"}
    assert len(changed.json()["results"]) == 2
    unknown = api.get("/api/v1/audit/", {"action": "status_whatever"})
    assert unknown.status_code == 400 and "action" in unknown.json()
    with pytest.raises(ValueError):
        audit.record(actor=None, action="status_whatever", object_type="x", object_id=1)
    client.force_login(auditor)
    page = client.get("/audit/", {"action": audit.AuditAction.CREATED})
    assert page.status_code == 200
    assert {e.action for e in page.context["page"].entries} == {"created"}


@pytest.mark.requirement("API-01")
def test_audit_api_refuses_a_naive_since(api_as, auditor):
    response = api_as(auditor).get("/api/v1/audit/", {"since": "2026-11-24T08:00:00"})
    assert response.status_code == 400
    assert "offset" in response.json()["since"][0]
    ok = api_as(auditor).get("/api/v1/audit/", {"since": "2026-11-24T08:00:00+01:00"})
    assert ok.status_code == 200


def test_audit_list_runs_a_constant_number_of_queries(
    api_as, auditor, radiopharmacist, django_assert_max_num_queries
):
    for _ in range(20):
        _three_entries(radiopharmacist)
    client = api_as(auditor)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/audit/", {"page_size": 60})
    assert len(response.json()["results"]) == 60


@pytest.mark.requirement("AUD-01")
def test_record_change_records_only_the_fields_that_changed(radiopharmacist):
    product = Product.objects.get(code="GA68DOTATATE")
    before = audit.snapshot(product, ["name", "shelf_life_min"])
    product.shelf_life_min = 180
    event = audit.record_change(
        actor=radiopharmacist,
        action="changed",
        obj=product,
        before=before,
        reason="new stability data",
    )
    assert event.changes == {"shelf_life_min": {"old": 240, "new": 180}}
    assert event.reason == "new stability data" and event.object_id == str(product.pk)
