"""GET /api/v1/decay/: activity of Ga-68 or Ge-68 from one time to another."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/decay/"


def params(**overrides):
    values = {
        "nuclide": "Ga-68",
        "activity_mbq": "1000",
        "from": "2026-11-24T08:00:00+01:00",
        "to": "2026-11-24T09:07:42.6+01:00",  # one Ga-68 half-life later
    }
    values.update(overrides)
    return values


@pytest.mark.requirement("PHY-01", "PHY-02")
def test_one_half_life_halves_the_activity(api_as, scheduler):
    response = api_as(scheduler).get(URL, params())
    assert response.status_code == 200, response.content
    assert response.json() == {
        "activity_mbq": pytest.approx(500.0, rel=1e-12),
        "half_life_min": 67.71,
        "elapsed_min": pytest.approx(67.71, rel=1e-12),
    }


@pytest.mark.requirement("PHY-02", "PHY-03")
def test_decay_back_in_time_and_across_zones(api_as, auditor):
    body = (
        api_as(auditor)
        .get(URL, params(**{"from": "2026-11-24T08:07:42.6Z", "to": "2026-11-24T08:00:00+01:00"}))
        .json()
    )
    assert body["elapsed_min"] == pytest.approx(-67.71)
    assert body["activity_mbq"] == pytest.approx(2000.0)


@pytest.mark.requirement("PHY-01", "PHY-02")
def test_ge68_over_one_half_life(api_as, auditor):
    body = (
        api_as(auditor)
        .get(
            URL,
            params(
                nuclide="Ge-68",
                **{"from": "2026-01-01T00:00:00+00:00", "to": "2026-09-28T22:48:00+00:00"},
            ),
        )
        .json()
    )
    assert body["half_life_min"] == pytest.approx(270.95 * 1440)
    assert body["activity_mbq"] == pytest.approx(500.0, rel=1e-9)


@pytest.mark.requirement("PHY-02", "PHY-03")
def test_elapsed_time_is_real_time_across_the_end_of_dst(api_as, auditor):
    span = {"from": "2026-10-25T01:30:00+02:00", "to": "2026-10-25T02:30:00+01:00"}
    body = api_as(auditor).get(URL, params(**span)).json()
    assert body["elapsed_min"] == pytest.approx(120.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nuclide", "F-18"),
        ("activity_mbq", "-5"),
        ("activity_mbq", "nan"),
        ("activity_mbq", "lots"),
        ("from", "2026-11-24T08:00:00"),
        ("to", "2026-11-24 09:00"),
        ("to", "not a time"),
        ("to", "1000-01-01T00:00:00+00:00"),  # correcting back 1000 years overflows
    ],
)
@pytest.mark.requirement("API-02")
def test_bad_decay_input_is_a_400_with_a_field_message(api_as, auditor, field, value):
    response = api_as(auditor).get(URL, params(**{field: value}))
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.requirement("API-02")
def test_missing_parameters_are_named(api_as, auditor):
    response = api_as(auditor).get(URL)
    assert response.status_code == 400
    assert set(response.json()) >= {"nuclide", "activity_mbq", "from", "to"}


@pytest.mark.requirement("API-01")
def test_unencoded_plus_offset_is_understood(api_as, auditor):
    response = api_as(auditor).get(
        URL + "?nuclide=Ga-68&activity_mbq=100&from=2026-11-24T08:00:00+01:00"
        "&to=2026-11-24T08:00:00+01:00"
    )
    assert response.status_code == 200
    assert response.json()["activity_mbq"] == pytest.approx(100.0)
