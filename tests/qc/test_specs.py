"""Pure limit evaluation: each kind at and around its limits, per-volume and strict limits."""

import pytest

from qc.specs import Limit, evaluate, failure_text, limit_text, parse_value

RCP = Limit("min", min_value=95.0, unit="%")
PH = Limit("range", min_value=4.0, max_value=8.0)
COLLOID = Limit("max", max_value=3.0, unit="%")
ENDOTOXIN = Limit(
    "max", max_value=175.0, unit="IU/mL", per_volume=True, volume_ml=10.0, strict=True
)
HEPES = Limit("max", max_value=200.0, unit="µg/mL", per_volume=True, volume_ml=10.0)
STERILITY = Limit("pass_fail")


@pytest.mark.parametrize(
    ("limit", "value", "passed"),
    [
        (RCP, 94.99, False),
        (RCP, 95.0, True),
        (RCP, 95.01, True),
        (PH, 3.99, False),
        (PH, 4.0, True),
        (PH, 6.5, True),
        (PH, 8.0, True),
        (PH, 8.01, False),
        (COLLOID, 2.99, True),
        (COLLOID, 3.0, True),
        (COLLOID, 3.01, False),
        (ENDOTOXIN, 17.49, True),
        (ENDOTOXIN, 17.5, False),  # "< 175/V" is strict
        (ENDOTOXIN, 17.51, False),
        (HEPES, 20.0, True),  # "≤ 200/V" includes the boundary
        (HEPES, 20.01, False),
        (STERILITY, "pass", True),
        (STERILITY, "fail", False),
        (STERILITY, " PASS ", True),
    ],
)
@pytest.mark.requirement("QC-01", "QC-03")
def test_limit_boundaries(limit, value, passed):
    assert evaluate(limit, value).passed is passed


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (RCP, "≥ 95 %"),
        (PH, "4.0–8.0"),
        (Limit("range", min_value=3.2, max_value=3.8), "3.2–3.8"),
        (Limit("range", min_value=62, max_value=74, unit="min"), "62–74 min"),
        (COLLOID, "≤ 3 %"),
        (ENDOTOXIN, "< 17.5 IU/mL (175/V, V = 10 mL)"),
        (HEPES, "≤ 20 µg/mL (200/V, V = 10 mL)"),
        (Limit("max", max_value=0.001, unit="%"), "≤ 0.001 %"),
        (STERILITY, "pass"),
    ],
)
def test_limit_text_is_human(limit, text):
    assert limit_text(limit) == text


@pytest.mark.requirement("QC-10")
def test_per_volume_limit_follows_the_volume():
    small = Limit("max", max_value=175.0, unit="IU/mL", per_volume=True, volume_ml=5.0, strict=True)
    assert limit_text(small).startswith("< 35 IU/mL")
    assert evaluate(small, 34.9).passed and not evaluate(small, 35.0).passed


@pytest.mark.parametrize("raw", ["abc", None, True, "nan", float("inf"), "pass", [1]])
def test_numeric_test_refuses_non_numbers(raw):
    with pytest.raises(ValueError, match="number"):
        parse_value(RCP, raw)


@pytest.mark.parametrize("raw", [1, 0, "ok", "", None, "passed"])
@pytest.mark.requirement("QC-01", "QC-03")
def test_pass_fail_test_accepts_only_pass_or_fail(raw):
    with pytest.raises(ValueError, match="pass"):
        parse_value(STERILITY, raw)


def test_numbers_may_be_typed_as_text_with_a_comma():
    assert parse_value(RCP, "96,5") == 96.5


@pytest.mark.parametrize(
    ("name", "limit", "value", "sentence"),
    [
        ("RCP (ITLC)", RCP, 94.0, "RCP 94.0 % is below the 95 % limit"),
        ("Colloidal Ga-68 (ITLC)", COLLOID, 3.5, "Colloidal Ga-68 3.5 % is above the 3 % limit"),
        ("pH", PH, 8.5, "pH 8.5 is outside the 4.0–8.0 limit"),
        (
            "Bacterial endotoxins",
            ENDOTOXIN,
            17.5,
            "Bacterial endotoxins 17.5 IU/mL is not below the 17.5 IU/mL limit",
        ),
        ("Sterility", STERILITY, "fail", "Sterility failed"),
    ],
)
def test_failure_sentence(name, limit, value, sentence):
    assert failure_text(name, limit, value) == sentence


@pytest.mark.requirement("QC-01", "QC-03")
def test_incomplete_limit_is_refused():
    with pytest.raises(ValueError):
        Limit("range", min_value=1.0)
    with pytest.raises(ValueError):
        Limit("max", max_value=1.0, per_volume=True)
