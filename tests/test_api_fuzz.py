"""Property-based API fuzzing from the OpenAPI schema (schemathesis): bad input is never a 500.

Every operation of /api/schema/ gets generated requests (boundary values, wrong types, naive
times, huge numbers) as every role and as the superuser, with the demo data loaded so ids
exist. Anything but a server error is acceptable here; the other tests check the exact answers.
"""

import io

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error

from radiopharmacy.wsgi import application

EXAMPLES_PER_OPERATION = 6
# Roles whose writes are refused (403) before any input is read: fewer examples reach as far.
READ_ONLY_EXAMPLES_PER_OPERATION = 3
WRITERS = ("radiopharmacist", "scheduler", "qp")


@pytest.fixture
def keep_test_connection():
    """The WSGI app would close the test's connection after each request, as Django's test
    client prevents: disconnect the same signal handlers for the duration."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
@pytest.mark.parametrize("username", [*WRITERS, "auditor", "admin"])  # every role, the superuser
@pytest.mark.requirement("API-02")
def test_no_generated_request_is_answered_with_a_server_error(username):
    # The app runs in-process on this test's connection, so it sees the demo data of this
    # transaction, and everything the fuzzing writes is rolled back afterwards.
    call_command("load_demo", stdout=io.StringIO())
    _, token = AuthToken.objects.create(user=get_user_model().objects.get(username=username))
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # Logging out would delete the token every later request is made with.
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path != "/api/v1/auth/logout/"
    ]
    assert len(operations) > 30
    statuses: dict[int, int] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION
            if username in WRITERS
            else READ_ONLY_EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call(headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        check()
    # The requests reached the views: most were refused as bad input, many succeeded.
    assert statuses.get(401, 0) == 0
    if username in WRITERS:
        assert statuses.get(400, 0) > 10 and sum(n for c, n in statuses.items() if c < 300) > 10
    else:
        assert statuses.get(403, 0) > 10  # their writes were refused, not crashed
