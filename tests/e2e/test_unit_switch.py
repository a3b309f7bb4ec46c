import pytest

from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.requirement("WEB-04")
def test_unit_switch_submits_itself_and_is_remembered_at_the_next_login(page, make_user):
    user = make_user("radiopharmacist", username="e2e-unit")
    login(page, user.username, TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Unit").select_option("mCi")  # no click on "Set": the script submits
    assert "activities in mCi" in page.locator("main").inner_text()
    login(page, user.username, TEST_PASSWORD)  # a new session
    assert page.get_by_label("Unit").input_value() == "mCi"
