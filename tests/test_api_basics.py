"""API conventions of SPEC §3: errors are 400s with messages, never 500s; the schema is valid."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework import serializers

from radiopharmacy.core.apibase import AwareDateTimeField

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("API-02")
def test_malformed_json_is_a_400(api_client):
    response = api_client.generic(
        "POST",
        "/api/v1/auth/token/",
        '{"username": "a", "password":',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


class _Probe(serializers.Serializer):
    at = AwareDateTimeField()


@pytest.mark.parametrize("value", ["2026-11-24T08:00:00", "2026-11-24 08:00"])
@pytest.mark.requirement("API-01", "PHY-03")
def test_naive_datetime_is_refused_with_a_field_message(value):
    probe = _Probe(data={"at": value})
    assert not probe.is_valid()
    assert "offset" in str(probe.errors["at"][0])


@pytest.mark.parametrize("value", ["2026-11-24T08:00:00+01:00", "2026-11-24T07:00:00Z"])
@pytest.mark.requirement("API-01", "PHY-03")
def test_datetime_with_offset_is_accepted_as_the_same_instant(value):
    probe = _Probe(data={"at": value})
    assert probe.is_valid(), probe.errors
    # Normalised to UTC before it reaches a service or the database.
    assert probe.validated_data["at"].utcoffset() == timedelta(0)
    assert probe.validated_data["at"].isoformat() == "2026-11-24T07:00:00+00:00"


@pytest.mark.requirement("API-02")
def test_domain_errors_map_to_status_codes():
    from radiopharmacy.core.apibase import exception_handler
    from radiopharmacy.core.errors import (
        ApplicationError,
        InputError,
        NotAllowed,
        NotFound,
        StateConflict,
    )

    conflict = exception_handler(StateConflict("Not releasable", blocking=["rcp missing"]), {})
    assert conflict.status_code == 409
    assert conflict.data == {"detail": "Not releasable", "blocking": ["rcp missing"]}
    assert exception_handler(NotAllowed("no"), {}).status_code == 403
    bad = exception_handler(ApplicationError("bad", fields={"x": ["wrong"]}), {})
    assert bad.status_code == 400 and bad.data["x"] == ["wrong"]
    assert exception_handler(NotFound("No dose 7."), {}).status_code == 404
    assert exception_handler(InputError("naive datetime"), {}).status_code == 400
    # Any other exception is a programming error: not turned into a client error (DRF re-raises
    # it and Django answers 500, logged with its traceback).
    assert exception_handler(ValueError("a bug"), {}) is None
    assert exception_handler(OverflowError("a bug"), {}) is None


def test_a_server_error_is_a_500_logged_with_its_traceback(client, auditor, caplog, monkeypatch):
    from radiopharmacy.api import decay

    def broken(*args, **kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(decay.physics, "get_nuclide", broken)
    client.raise_request_exception = False
    client.force_login(auditor)
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get(
            "/api/v1/decay/",
            {
                "nuclide": "Ga-68",
                "activity_mbq": 100,
                "from": "2026-11-24T08:00:00+01:00",
                "to": "2026-11-24T09:00:00+01:00",
            },
        )
    assert response.status_code == 500
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and logged[0].exc_info and "a bug, not bad input" in str(logged[0].exc_info[1])


@pytest.mark.requirement("API-04")
def test_openapi_schema_is_valid_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert "/api/v1/audit/" in (tmp_path / "s.yaml").read_text()


@pytest.mark.requirement("API-04")
def test_schema_and_docs_are_served_offline(client, auditor):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "http://" not in body.replace("http://testserver", "") and "https://" not in body


@pytest.mark.requirement("API-02")
def test_ids_too_large_for_the_database_are_bad_input_not_a_server_error(api_as, radiopharmacist):
    client = api_as(radiopharmacist)
    huge = 10**30
    assert client.get("/api/v1/doses/", {"batch": huge}).status_code == 400
    assert client.get("/api/v1/elutions/", {"generator": huge}).status_code == 400
    assert client.get(f"/api/v1/batches/{huge}/").status_code == 404
    created = client.post(
        "/api/v1/doses/",
        {"booking": huge, "batch": 1, "draw_at": "2026-11-24T09:00:00+01:00"},
        format="json",
    )
    assert created.status_code == 400 and "booking" in created.json()
