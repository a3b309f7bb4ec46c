"""mCi are shown with two decimals everywhere (11.85 mCi, not 12), MBq with the decimals each page
asks for; a value already converted by a view reads the same as one converted by the tag."""

import pytest
from django.template import Context, Template

from radiopharmacy.units import display_places


@pytest.mark.parametrize(
    ("unit", "decimals", "places"), [("MBq", 0, 0), ("MBq", 1, 1), ("mCi", 0, 2), ("mCi", 1, 2)]
)
def test_mci_get_at_least_two_decimals(unit, decimals, places):
    assert display_places(unit, decimals) == places


def render(source: str, **context) -> str:
    return Template("{% load gallium_units %}" + source).render(Context(context))


def test_a_headline_activity_in_mci_keeps_two_decimals():
    mbq = 438.45  # 11.85 mCi
    assert render("{% amount v 0 %}", v=mbq, activity_unit="mCi") == "11.85"
    assert render("{% activity v 0 %}", v=mbq, activity_unit="mCi") == "11.85 mCi"
    assert render("{% shown v|in_unit:u u 0 %}", v=mbq, u="mCi") == "11.85"
    assert render("{% shown v|in_unit:u u 0 %}", v=mbq, u="MBq") == "438"
    assert render("{% shown v u 1 %}", v=None, u="mCi") == "—"
