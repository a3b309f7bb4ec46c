"""The role matrix of SPEC §3, at the rules level and over HTTP for every endpoint.

EXPECTED is written from the SPEC independently of radiopharmacy.core.roles.MATRIX, so a change to
the code's matrix that the SPEC does not allow fails here. Each area adds its endpoints to
ENDPOINTS (method, path, resource); the HTTP test checks every role against them.
"""

import pytest

from radiopharmacy.core.roles import ALL_ROLES, CHANGE, MATRIX, VIEW, can
from radiopharmacy.models import AuditEvent

RP, QP, SCH, AUD = "radiopharmacist", "qualified_person", "scheduler", "auditor"
EVERYONE = {RP, QP, SCH, AUD}

# resource: (who may read, who may write) — SPEC §3 "Permissions".
EXPECTED = {
    "decay": (EVERYONE, set()),
    "generators": (EVERYONE, {RP}),
    "elutions": (EVERYONE, {RP}),
    "batches": (EVERYONE, {RP}),
    "qc_results": (EVERYONE, {RP}),
    "specifications": (EVERYONE, set()),
    "release": (EVERYONE, {QP}),
    "certificates": (EVERYONE, set()),
    "bookings": (EVERYONE, {SCH}),
    "plans": (EVERYONE, {SCH}),
    "doses": (EVERYONE, {RP}),
    "alerts": (EVERYONE, {RP, QP, SCH}),
    "audit": ({AUD, QP}, set()),
    "audit_reviews": ({AUD, QP}, {AUD, QP}),  # SPEC §2.8: they sign the review
    "inspector_export": ({AUD, QP}, set()),  # SPEC §2.10
    "deviations": (EVERYONE, {RP, QP}),
    "deviation_close": (EVERYONE, {QP}),
    "capas": (EVERYONE, {RP, QP}),
    "recall": (EVERYONE, {QP}),
    "lookback": (EVERYONE, set()),
    "trends": (EVERYONE, set()),
    "quality_reviews": (EVERYONE, {RP, QP}),
}

# (method, path, resource). Paths with ids use 999999: permission is checked before the lookup.
ENDPOINTS = [
    ("get", "/api/v1/audit/", "audit"),
    ("get", "/api/v1/audit/export/", "audit"),
    ("get", "/api/v1/audit-reviews/", "audit_reviews"),
    ("post", "/api/v1/audit-reviews/", "audit_reviews"),
    ("get", "/api/v1/batches/999999/inspector-export/", "inspector_export"),
    ("get", "/api/v1/decay/", "decay"),
    ("get", "/api/v1/generators/", "generators"),
    ("post", "/api/v1/generators/", "generators"),
    ("get", "/api/v1/generators/999999/", "generators"),
    ("post", "/api/v1/generators/999999/status/", "generators"),
    ("post", "/api/v1/generators/999999/accept/", "generators"),
    ("get", "/api/v1/generators/999999/prediction/", "generators"),
    ("get", "/api/v1/elutions/", "elutions"),
    ("post", "/api/v1/elutions/", "elutions"),
    ("get", "/api/v1/elutions/999999/", "elutions"),
    ("post", "/api/v1/elutions/999999/correction/", "elutions"),
    ("post", "/api/v1/elutions/999999/breakthrough/", "elutions"),
    ("get", "/api/v1/batches/", "batches"),
    ("post", "/api/v1/batches/", "batches"),
    ("get", "/api/v1/batches/999999/", "batches"),
    ("post", "/api/v1/batches/999999/correction/", "batches"),
    ("get", "/api/v1/batches/999999/activity/", "batches"),
    ("get", "/api/v1/batches/999999/release-check/", "batches"),
    ("get", "/api/v1/batches/999999/qc-results/", "qc_results"),
    ("post", "/api/v1/batches/999999/qc-results/", "qc_results"),
    ("get", "/api/v1/specifications/", "specifications"),
    # Quality events, CAPA, recall
    ("get", "/api/v1/deviations/", "deviations"),
    ("post", "/api/v1/deviations/", "deviations"),
    ("get", "/api/v1/deviations/999999/", "deviations"),
    ("post", "/api/v1/deviations/999999/investigation/", "deviations"),
    ("post", "/api/v1/deviations/999999/close/", "deviation_close"),
    ("get", "/api/v1/capas/", "capas"),
    ("post", "/api/v1/capas/", "capas"),
    ("post", "/api/v1/capas/999999/complete/", "capas"),
    ("post", "/api/v1/capas/999999/verify/", "capas"),
    ("post", "/api/v1/batches/999999/recall/", "recall"),
    ("get", "/api/v1/batches/999999/lookback/", "lookback"),
    # Release and certificates
    ("post", "/api/v1/batches/999999/release/", "release"),
    ("get", "/api/v1/batches/999999/certificate/", "certificates"),
    ("get", f"/api/v1/certificates/verify/{'0' * 64}/", "certificates"),
    # Bookings and doses
    ("get", "/api/v1/bookings/", "bookings"),
    ("post", "/api/v1/bookings/", "bookings"),
    ("get", "/api/v1/bookings/999999/", "bookings"),
    ("post", "/api/v1/bookings/999999/cancel/", "bookings"),
    ("post", "/api/v1/bookings/999999/missed/", "bookings"),
    ("post", "/api/v1/bookings/999999/reschedule/", "bookings"),
    ("get", "/api/v1/doses/", "doses"),
    ("post", "/api/v1/doses/", "doses"),
    ("get", "/api/v1/doses/999999/", "doses"),
    ("post", "/api/v1/doses/999999/measurement/", "doses"),
    ("post", "/api/v1/doses/999999/administration/", "doses"),
    ("post", "/api/v1/doses/999999/cancel/", "doses"),
    # Production plans
    ("get", "/api/v1/plans/", "plans"),
    ("post", "/api/v1/plans/", "plans"),
    ("get", "/api/v1/plans/999999/", "plans"),
    ("post", "/api/v1/plans/999999/accept/", "plans"),
    ("get", "/api/v1/plans/slots/", "plans"),
    # Instrument files: dose calibrator (doses), radio-TLC (QC results)
    ("post", "/api/v1/instrument-files/dose-calibrator/preview/", "doses"),
    ("post", "/api/v1/instrument-files/dose-calibrator/", "doses"),
    ("get", "/api/v1/instrument-files/dose-calibrator/999999/raw/", "doses"),
    ("post", "/api/v1/batches/999999/radio-tlc/preview/", "qc_results"),
    ("post", "/api/v1/batches/999999/radio-tlc/", "qc_results"),
    ("get", "/api/v1/radio-tlc-files/999999/raw/", "qc_results"),
    # FHIR R4: administrations are reads of doses, orders writes of bookings
    ("get", "/fhir/r4/MedicationAdministration", "doses"),
    ("get", "/fhir/r4/MedicationAdministration/999999", "doses"),
    ("post", "/fhir/r4/ServiceRequest", "bookings"),
    ("get", "/fhir/r4/ServiceRequest/999999", "bookings"),
    # Quality analytics (SPEC §2.9)
    ("get", "/api/v1/trends/", "trends"),
    ("get", "/api/v1/batches/999999/balance/", "batches"),
    ("get", "/api/v1/generators/999999/forecast/", "generators"),
    ("get", "/api/v1/quality-reviews/", "quality_reviews"),
    ("post", "/api/v1/quality-reviews/", "quality_reviews"),
    ("get", "/api/v1/quality-reviews/999999/pdf/", "quality_reviews"),
]


def test_matrix_covers_exactly_the_expected_resources():
    assert set(MATRIX) == set(EXPECTED)


@pytest.mark.django_db
@pytest.mark.parametrize("resource", sorted(EXPECTED))
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("API-07", "P11-11.10(d)", "P11-11.10(g)", "A11-12")
def test_role_permissions_match_the_spec(make_user, role, resource):
    user = make_user(role)
    readers, writers = EXPECTED[resource]
    assert can(user, VIEW, resource) == (role in readers)
    assert can(user, CHANGE, resource) == (role in writers)


@pytest.mark.django_db
def test_user_without_role_can_do_nothing(make_user):
    user = make_user(None)
    assert not any(can(user, a, r) for r in EXPECTED for a in (VIEW, CHANGE))


def _endpoint_cases():
    for method, path, resource in ENDPOINTS:
        for role in ALL_ROLES:
            yield pytest.param(method, path, resource, role, id=f"{method}-{path}-{role}")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "resource", "role"), list(_endpoint_cases()))
@pytest.mark.requirement("API-07", "P11-11.10(d)", "P11-11.10(g)", "A11-12")
def test_endpoint_allows_and_forbids_by_role(api_as, make_user, method, path, resource, role):
    readers, writers = EXPECTED[resource]
    allowed = role in (readers if method == "get" else writers)
    response = getattr(api_as(make_user(role)), method)(path, {}, format="json")
    if allowed:
        assert response.status_code not in (401, 403), response.content
    else:
        assert response.status_code == 403, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "resource"), ENDPOINTS)
@pytest.mark.requirement("P11-11.10(d)")
def test_endpoint_refuses_anonymous(api_client, method, path, resource):
    response = getattr(api_client, method)(path, {}, format="json")
    assert response.status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.requirement("API-07", "A11-12")
def test_write_outside_role_is_logged_in_audit_trail(api_as, auditor, caplog):
    from django.test import RequestFactory
    from rest_framework.request import Request

    from radiopharmacy.core.permissions import RolePermission

    class View:
        permission_resource = "generators"

    request = Request(RequestFactory().post("/api/v1/generators/"))
    request.user = auditor
    with caplog.at_level("WARNING", logger="gallium.security"):
        assert RolePermission().has_permission(request, View()) is False
    event = AuditEvent.objects.get(action="access_denied")
    assert event.username == auditor.username
    assert event.object_type == "generators"
    assert "denied change generators" in caplog.text


# The administrator's accounts (superuser, staff): users, products, specifications and settings
# in the admin, nothing in the domain (a superuser passes every `has_perm`: `can` does not ask it).
ADMIN_ACCOUNTS = {
    "superuser": {"is_staff": True, "is_superuser": True},
    "staff": {"is_staff": True},
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(ADMIN_ACCOUNTS))
@pytest.mark.requirement("P11-11.10(g)")
def test_administrator_accounts_write_nothing_in_the_domain_even_with_every_role(kind):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(**ADMIN_ACCOUNTS[kind])
    assert not any(can(user, CHANGE, resource) for resource in EXPECTED)
    user.groups.add(*Group.objects.filter(name__in=ALL_ROLES))
    user = type(user).objects.get(pk=user.pk)
    assert all(can(user, VIEW, resource) for resource in EXPECTED)  # reads as its groups allow
    assert not any(can(user, CHANGE, resource) for resource in EXPECTED)


@pytest.mark.django_db
def test_superuser_without_a_role_reads_nothing_in_the_domain():
    from tests.factories import UserFactory

    user = UserFactory(is_staff=True, is_superuser=True)
    assert user.has_perm("gallium.change_generators")  # what Django says of any superuser
    assert not any(can(user, VIEW, resource) for resource in EXPECTED)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["superuser", "staff"])
@pytest.mark.parametrize(
    ("method", "path", "resource"), [e for e in ENDPOINTS if e[0] != "get"], ids=str
)
def test_administrator_domain_writes_are_403_and_logged(api_as, kind, method, path, resource):
    from tests.factories import UserFactory

    admin = UserFactory(**ADMIN_ACCOUNTS[kind])
    response = getattr(api_as(admin), method)(path, {}, format="json")
    assert response.status_code == 403, response.content
    event = AuditEvent.objects.get(action="access_denied", user=admin)
    assert event.object_type == resource
    assert event.changes["request"]["new"] == f"{method.upper()} {path}"
