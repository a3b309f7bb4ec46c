"""The administrator's accounts in the admin: user, group and role changes are audited in the
chain (and `verify_audit` still passes), users are deactivated and never deleted, and no secret
(API token, authenticator key) is shown."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from radiopharmacy.core.accounts import UserDeletionRefused
from radiopharmacy.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def change_form_data(user, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def verify_audit() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)  # raises CommandError on a broken chain
    return out.getvalue()


@pytest.mark.requirement("A11-12")
def test_adding_a_user_to_a_group_in_the_admin_is_an_audit_entry_in_the_chain(
    admin_client, admin_user
):
    person = UserFactory(role="radiopharmacist")
    qp = Group.objects.get(name="qualified_person")
    url = reverse("admin:auth_user_change", args=[person.pk])
    groups = [*person.groups.values_list("pk", flat=True), qp.pk]
    response = admin_client.post(url, change_form_data(person, groups=groups))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(person.groups.values_list("name", flat=True)) == {
        "radiopharmacist",
        "qualified_person",
    }
    event = AuditEvent.objects.filter(action="user_roles_changed", object_id=str(person.pk)).last()
    assert event.user == admin_user and event.object_type == "auth.user"
    assert event.changes["groups"] == {
        "old": ["radiopharmacist"],
        "new": ["qualified_person", "radiopharmacist"],
    }
    assert "intact" in verify_audit()


@pytest.mark.requirement("A11-12")
def test_a_group_change_from_the_group_side_is_audited_per_user(admin_user):
    person = UserFactory()
    Group.objects.get(name="auditor").user_set.add(person)
    event = AuditEvent.objects.filter(action="user_roles_changed", object_id=str(person.pk)).last()
    assert event.changes["groups"] == {"old": [], "new": ["auditor"]}
    Group.objects.get(name="auditor").user_set.clear()
    event = AuditEvent.objects.filter(action="user_roles_changed", object_id=str(person.pk)).last()
    assert event.changes["groups"] == {"old": ["auditor"], "new": []}


@pytest.mark.requirement("A11-12")
def test_creating_deactivating_and_renaming_a_user_in_the_admin_is_audited(
    admin_client, admin_user
):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newqp",
            "password1": "a-long-enough-passphrase-2026",
            "password2": "a-long-enough-passphrase-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(username="newqp")
    created = AuditEvent.objects.get(action="user_created", object_id=str(person.pk))
    assert created.user == admin_user and created.changes["username"]["new"] == "newqp"
    assert "password" not in created.changes
    url = reverse("admin:auth_user_change", args=[person.pk])
    response = admin_client.post(
        url, change_form_data(person, is_active="", first_name="Nina", last_name="New")
    )
    assert response.status_code == 302
    deactivated = AuditEvent.objects.get(action="user_deactivated", object_id=str(person.pk))
    assert deactivated.changes == {"is_active": {"old": True, "new": False}}
    changed = AuditEvent.objects.get(action="user_changed", object_id=str(person.pk))
    assert changed.changes == {
        "first_name": {"old": "", "new": "Nina"},
        "last_name": {"old": "", "new": "New"},
    }
    assert "intact" in verify_audit()


def test_a_password_change_in_the_admin_is_audited_without_the_hash(admin_client, admin_user):
    person = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[person.pk])
    response = admin_client.post(
        url,
        {
            "password1": "another-long-passphrase-26",
            "password2": "another-long-passphrase-26",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(
        action="user_password_changed", object_id=str(person.pk)
    ).last()
    assert event.user == admin_user
    assert event.changes == {"password": {"old": "(set)", "new": "(changed)"}}


def test_a_log_in_is_not_a_change_of_the_user(client):
    from tests.factories import TEST_PASSWORD

    person = UserFactory()
    before = AuditEvent.objects.count()
    client.post(reverse("login"), {"username": person.username, "password": TEST_PASSWORD})
    assert client.session["_auth_user_id"] == str(person.pk)
    assert AuditEvent.objects.count() == before


@pytest.mark.requirement("P11-11.100")
def test_users_cannot_be_deleted_in_the_admin_and_the_attempt_is_logged(
    admin_client, admin_user, caplog
):
    person = UserFactory(role="qualified_person")
    page = admin_client.get(reverse("admin:auth_user_change", args=[person.pk]))
    assert page.status_code == 200 and "deletelink" not in page.content.decode()
    with caplog.at_level("WARNING", logger="gallium.security"):
        response = admin_client.post(
            reverse("admin:auth_user_delete", args=[person.pk]), {"post": "yes"}
        )
    assert response.status_code == 403
    assert User.objects.filter(pk=person.pk).exists()
    event = AuditEvent.objects.get(action="user_delete_refused")
    assert event.user == admin_user and event.object_id == str(person.pk)
    assert "refused deletion of user" in caplog.text
    # The bulk action is not offered either.
    changelist = admin_client.get(reverse("admin:auth_user_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert "intact" in verify_audit()


@pytest.mark.requirement("P11-11.100")
def test_a_user_cannot_be_deleted_anywhere():
    from django.db import transaction

    person = UserFactory()
    with pytest.raises(UserDeletionRefused), transaction.atomic():
        person.delete()
    assert User.objects.filter(pk=person.pk).exists()


def test_groups_cannot_be_deleted_and_their_changes_are_audited(admin_client, admin_user):
    group = Group.objects.get(name="scheduler")
    assert (
        admin_client.post(
            reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Group.objects.filter(pk=group.pk).exists()
    response = admin_client.post(reverse("admin:auth_group_add"), {"name": "trainees"})
    assert response.status_code == 302
    created = Group.objects.get(name="trainees")
    event = AuditEvent.objects.get(action="group_changed", object_id=str(created.pk))
    assert event.user == admin_user and event.changes == {"name": {"old": None, "new": "trainees"}}


def test_authenticator_secrets_are_not_shown_in_the_admin(admin_client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    person = UserFactory(role="qualified_person")
    device = TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    page = admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.content.decode()
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    event = AuditEvent.objects.get(action="otp_device_removed")
    assert event.object_id == str(person.pk)


def test_the_superuser_still_manages_products_and_specifications(admin_client):
    assert admin_client.get(reverse("admin:radiopharmacy_product_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:qc_specification_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:auth_user_changelist")).status_code == 200


def test_the_superusers_domain_writes_on_the_web_are_403_and_logged(admin_client, admin_user):
    response = admin_client.post(reverse("generator-create"), {})
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access_denied", user=admin_user)
    assert event.object_type == "generators"
