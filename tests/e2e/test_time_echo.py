"""A time typed in a form is shown back in the site's zone with its UTC offset before saving."""

import pytest

from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_typed_time_is_echoed_with_its_offset_across_dst(page, make_user):
    user = make_user("scheduler", username="e2e-echo")
    login(page, user.username, TEST_PASSWORD)
    page.goto(f"{page.base_url}/bookings/new/")
    field = page.get_by_label("Injection time", exact=False)
    echo = page.locator(".time-echo")

    field.fill("2026-11-24T10:30")
    assert echo.inner_text() == "Read as 24 Nov 2026 10:30 Europe/Amsterdam (UTC+01:00)"
    field.fill("2026-07-01T10:30")
    assert echo.inner_text() == "Read as 1 Jul 2026 10:30 Europe/Amsterdam (UTC+02:00)"
    field.fill("2026-03-29T02:30")  # the hour the clocks skip
    assert "does not exist" in echo.inner_text()
