"""Errors (issue 13): JSON 404/405 under /api/, a request id on every response and log line,
and a 500 logged with its traceback and that id whatever DEBUG says."""

import io
import logging

import pytest
from rest_framework.test import APIClient

from radiopharmacy.core import apibase
from radiopharmacy.core.requestid import HEADER

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nothing-here/"),
        ("post", "/api/v1/nothing-here/"),
        ("delete", "/api/v1/generators/1/nothing/"),
        ("get", "/api/v2/generators/"),
        ("get", "/api/"),
        ("get", "/api/v1/generators"),  # without its slash
    ],
)
@pytest.mark.requirement("API-02")
def test_an_unknown_api_path_is_a_json_404(api_as, auditor, method, path):
    for client in (APIClient(), api_as(auditor)):
        response = getattr(client, method)(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


@pytest.mark.requirement("API-02")
def test_the_404_handler_answers_json_under_api_and_html_elsewhere(rf):
    response = apibase.page_not_found(rf.get("/api/v1/x/"))
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    page = apibase.page_not_found(rf.get("/nowhere/"), Exception("nope"))
    assert page.status_code == 404 and "text/html" in page["Content-Type"]


def test_a_method_not_allowed_is_a_json_405(api_as, radiopharmacist):
    client = api_as(radiopharmacist)
    for method, path in (("delete", "/api/v1/generators/"), ("put", "/api/v1/batches/")):
        response = getattr(client, method)(path)
        assert response.status_code == 405
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


def test_every_response_carries_a_request_id_and_a_proxys_id_is_kept(client):
    first = client.get("/login/")
    second = client.get("/login/")
    assert len(first[HEADER]) >= 16 and first[HEADER] != second[HEADER]
    given = client.get("/login/", headers={HEADER: "proxy-4c1e2f9a"})
    assert given[HEADER] == "proxy-4c1e2f9a"
    junk = client.get("/login/", headers={HEADER: "<script>"})
    assert junk[HEADER] != "<script>"
    assert APIClient().get("/api/v1/nothing/")[HEADER]


@pytest.fixture
def request_log():
    """What the configured django.request handler writes (the production formatter/filter)."""
    handler = logging.getLogger("django.request").handlers[0]
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_a_500_is_logged_with_its_traceback_and_request_id_and_answered_in_json(
    api_as, auditor, monkeypatch, request_log, settings
):
    from radiopharmacy.api import decay

    settings.DEBUG = False

    def broken(self, request):
        raise RuntimeError("a bug, not bad input")

    monkeypatch.setattr(decay.Decay, "get", broken)
    client = api_as(auditor)
    client.raise_request_exception = False
    response = client.get("/api/v1/decay/", headers={HEADER: "trace-me-0001"})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["request_id"] == "trace-me-0001"
    log = request_log.getvalue()
    assert "[request trace-me-0001]" in log
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: a bug, not bad input" in log


def test_log_lines_outside_a_request_carry_a_dash(request_log):
    logging.getLogger("django.request").error("outside any request")
    assert "[request -] outside any request" in request_log.getvalue()
