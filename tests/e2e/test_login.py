import pytest

from radiopharmacy.core.roles import ALL_ROLES
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_role_logs_in_and_sees_its_home(page, make_user):
    for role in ALL_ROLES:
        user = make_user(role, username=f"e2e-{role}")
        login(page, user.username, TEST_PASSWORD)
        assert page.get_by_role("heading", level=1).is_visible()
        screenshot(page, f"home-{role}")


def test_wrong_password_keeps_the_user_on_the_login_page(page, make_user):
    user = make_user("auditor", username="e2e-wrong")
    page.goto(f"{page.base_url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
