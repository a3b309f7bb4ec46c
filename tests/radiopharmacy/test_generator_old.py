"""A generator calibrated long ago (retired, or still in use) has no prediction to show: the
API gives null, the pages "—" with the reason, and nothing answers 500 (SPEC §2.2)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from radiopharmacy.selectors import generators as selectors
from tests.factories import REFERENCE_TIME, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + hours(6)
THREE_YEARS_AGO = NOW - timedelta(days=3 * 365)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def old_generators():
    retired = GeneratorFactory(calibrated_at=THREE_YEARS_AGO, status="retired")
    in_use = GeneratorFactory(calibrated_at=THREE_YEARS_AGO, status="in_use")
    ElutionFactory(generator=in_use, eluted_at=THREE_YEARS_AGO + timedelta(days=30))
    current = GeneratorFactory()  # calibrated 90 days ago: still predicted
    return {"retired": retired, "in_use": in_use, "current": current}


def test_the_reason_names_retired_old_and_expired(old_generators):
    assert selectors.shown_prediction(old_generators["retired"], at=NOW) == (None, "retired")
    prediction, reason = selectors.shown_prediction(old_generators["in_use"], at=NOW)
    assert prediction is None and "2 years" in reason
    expired = GeneratorFactory(
        calibrated_at=NOW - timedelta(days=400), expires_at=NOW - timedelta(days=35)
    )
    prediction, reason = selectors.shown_prediction(expired, at=NOW)
    assert prediction is None and reason.startswith("expired on ")
    prediction, reason = selectors.shown_prediction(old_generators["current"], at=NOW)
    assert prediction is not None and reason == ""


def test_api_list_and_detail_give_null_prediction(api_as, make_user, old_generators):
    client = api_as(make_user("radiopharmacist"))
    listing = client.get(reverse("api-generators"))
    assert listing.status_code == 200
    body = listing.json()
    rows = {row["id"]: row for row in body.get("results", body)}
    assert rows[old_generators["retired"].pk]["expected_eluate_now_mbq"] is None
    assert rows[old_generators["in_use"].pk]["expected_eluate_now_mbq"] is None
    assert rows[old_generators["current"].pk]["expected_eluate_now_mbq"] > 0
    for key in ("retired", "in_use"):
        detail = client.get(reverse("api-generator", args=[old_generators[key].pk]))
        assert detail.status_code == 200
        assert detail.json()["expected_eluate_now_mbq"] is None


def test_api_prediction_at_now_of_an_old_generator_is_a_400(api_as, make_user, old_generators):
    client = api_as(make_user("radiopharmacist"))
    url = reverse("api-generator-prediction", args=[old_generators["in_use"].pk])
    response = client.get(url)
    assert response.status_code == 400
    assert "within 2 years" in response.json()["at"][0]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_home_and_generator_pages_answer_for_every_role(client, make_user, old_generators, role):
    client.force_login(make_user(role))
    assert client.get(reverse("home")).status_code == 200
    listing = client.get(reverse("generator-list"))
    assert listing.status_code == 200
    assert "No prediction: more than 2 years from its calibration." in listing.content.decode()
    everything = client.get(reverse("generator-list"), {"status": "all"})
    assert everything.status_code == 200
    assert "No prediction: retired." in everything.content.decode()
    for key in ("retired", "in_use"):
        detail = client.get(reverse("generator-detail", args=[old_generators[key].pk]))
        assert detail.status_code == 200
        assert "No prediction:" in detail.content.decode()


def test_radiopharmacist_home_shows_the_old_generator_without_prediction(
    client, radiopharmacist, old_generators
):
    client.force_login(radiopharmacist)
    html = client.get(reverse("home")).content.decode()
    assert old_generators["in_use"].serial_number in html
    assert "No prediction: more than 2 years from its calibration." in html
    assert f'id="dash-gen-{old_generators["in_use"].pk}"' not in html  # no curve to draw
    assert f'id="dash-gen-{old_generators["current"].pk}"' in html


def test_elution_form_of_an_old_generator_answers(client, radiopharmacist, old_generators):
    client.force_login(radiopharmacist)
    url = reverse("elution-create", args=[old_generators["in_use"].pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "no prediction: more than 2 years from its calibration" in response.content.decode()


def test_forecast_and_plan_inputs_of_an_old_generator_answer(api_as, make_user, old_generators):
    from scheduling.plan_inputs import build_inputs

    client = api_as(make_user("radiopharmacist"))
    url = reverse("api-generator-forecast", args=[old_generators["in_use"].pk])
    assert client.get(url).status_code == 200
    # The planner reads the stored column state directly: no window to refuse.
    inputs = build_inputs(
        day=(NOW + timedelta(days=1)).date(), generator=old_generators["in_use"], now=NOW
    )
    assert inputs["generator_state"]["ge68_activity_mbq"] > 0
