"""Pure evaluation of a QC result against a specification limit (SPEC §2.4, REFERENCE §3).

No Django import: plain values in, plain values out. Boundaries are inclusive ("≥ 95 %",
"≤ 3 %", "4.0–8.0") unless the limit is strict (endotoxin "< 175/V IU/mL").
"""

import math
from dataclasses import dataclass

from radiopharmacy.core.errors import InputError

RANGE, MIN, MAX, PASS_FAIL = "range", "min", "max", "pass_fail"
KINDS = (RANGE, MIN, MAX, PASS_FAIL)
PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class Limit:
    """A test's limit. With `per_volume`, min/max are divided by `volume_ml` (175/V...)."""

    kind: str
    min_value: float | None = None
    max_value: float | None = None
    unit: str = ""
    per_volume: bool = False
    volume_ml: float | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"Unknown limit kind {self.kind!r}")
        if self.kind in (RANGE, MIN) and self.min_value is None:
            raise InputError(f"A {self.kind} limit needs a minimum")
        if self.kind in (RANGE, MAX) and self.max_value is None:
            raise InputError(f"A {self.kind} limit needs a maximum")
        if self.per_volume and not (self.volume_ml and self.volume_ml > 0):
            raise InputError("A per-volume limit needs a positive volume")

    @property
    def numeric(self) -> bool:
        return self.kind != PASS_FAIL

    def _scaled(self, value: float | None) -> float | None:
        if value is None or not self.per_volume:
            return value
        return value / self.volume_ml

    @property
    def low(self) -> float | None:
        return self._scaled(self.min_value) if self.kind in (RANGE, MIN) else None

    @property
    def high(self) -> float | None:
        return self._scaled(self.max_value) if self.kind in (RANGE, MAX) else None


@dataclass(frozen=True)
class Censored:
    """A result below a detection or quantitation limit, entered as "< x": the true value is
    below `bound` (SPEC §2.4)."""

    bound: float
    qualifier: str = "<"

    def __str__(self) -> str:
        return f"{self.qualifier} {fmt_value(self.bound)}"


@dataclass(frozen=True)
class Evaluation:
    passed: bool
    limit_text: str


def fmt_number(value: float) -> str:
    """A limit or value as people write it: 95, 3450, 0.001, 17.5."""
    text = f"{value:.6g}"
    return text


def fmt_value(value: float) -> str:
    """A measured value: whole numbers with one decimal (94.0), others as given (0.0012)."""
    if float(value).is_integer():
        return f"{value:.1f}"
    return f"{value:.6g}"


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def _range_number(value: float) -> str:
    # pH-like small ranges read with one decimal ("4.0–8.0"); larger ones as integers ("62–74")
    if abs(value) < 10 and float(value).is_integer():
        return f"{value:.1f}"
    return fmt_number(value)


def limit_text(limit: Limit) -> str:
    """Human limit: "≥ 95 %", "4.0–8.0", "≤ 17.5 IU/mL (175/V, V = 10 mL)", "pass"."""
    if limit.kind == PASS_FAIL:
        return PASS
    if limit.kind == RANGE:
        text = _with_unit(f"{_range_number(limit.low)}–{_range_number(limit.high)}", limit.unit)
    elif limit.kind == MIN:
        text = _with_unit(f"{'>' if limit.strict else '≥'} {fmt_number(limit.low)}", limit.unit)
    else:
        text = _with_unit(f"{'<' if limit.strict else '≤'} {fmt_number(limit.high)}", limit.unit)
    if limit.per_volume:
        base = limit.max_value if limit.kind == MAX else limit.min_value
        text += f" ({fmt_number(base)}/V, V = {fmt_number(limit.volume_ml)} mL)"
    return text


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def parse_value(limit: Limit, raw) -> float | str | Censored:
    """The typed value of a result: a finite number for numeric tests, "pass"/"fail" otherwise,
    and "< x" (a Censored) below a detection or quantitation limit.

    Raises InputError with a message a person can act on.
    """
    if limit.kind == PASS_FAIL:
        text = str(raw).strip().lower() if raw is not None else ""
        if text not in (PASS, FAIL):
            raise InputError('Enter "pass" or "fail" for this test.')
        return text
    if isinstance(raw, bool) or raw is None:
        raise InputError("Enter a number for this test.")
    censored = isinstance(raw, str) and raw.strip().startswith("<")
    try:
        if censored:
            number = _number(raw.strip()[1:])
        else:
            number = _number(raw) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise InputError(
            'Enter a number for this test, or "< x" below the detection limit.'
        ) from None
    if not math.isfinite(number):
        raise InputError("Enter a finite number for this test.")
    if censored:
        if number <= 0:
            raise InputError('A "< x" result needs a detection limit x above 0.')
        return Censored(number)
    return number


def passes(limit: Limit, value: float | str) -> bool:
    """Whether an already parsed value meets the limit."""
    if limit.kind == PASS_FAIL:
        return value == PASS
    low, high = limit.low, limit.high
    if isinstance(value, Censored):
        # The true value is below x: it meets a maximum when x <= the limit (a strict one too),
        # and can never be shown to meet a minimum.
        return low is None and value.bound <= high
    if low is not None and (value <= low if limit.strict else value < low):
        return False
    if high is not None and (value >= high if limit.strict else value > high):
        return False
    return True


def evaluate(limit: Limit, raw) -> Evaluation:
    """Parse `raw` and judge it: Evaluation(passed, limit_text). InputError on a bad value."""
    value = parse_value(limit, raw)
    return Evaluation(passed=passes(limit, value), limit_text=limit_text(limit))


def failure_text(name: str, limit: Limit, value: float | str) -> str:
    """A failed result in a radiopharmacist's words: "RCP 94.0 % is below the 95 % limit"."""
    short = name.split(" (")[0]
    if limit.kind == PASS_FAIL:
        return f"{short} failed"
    low, high = limit.low, limit.high
    if isinstance(value, Censored):
        shown = _with_unit(str(value), limit.unit)
        if low is not None:
            return f"{short} {shown} cannot show the {limit_text(limit)} limit is met"
        return f"{short} {shown} does not show it is within the {limit_text(limit)} limit"
    shown = _with_unit(fmt_value(value), limit.unit)
    if low is not None and (value <= low if limit.strict else value < low):
        if limit.kind == RANGE:
            return f"{short} {shown} is outside the {limit_text(limit)} limit"
        return f"{short} {shown} is below the {_with_unit(fmt_number(low), limit.unit)} limit"
    if limit.kind == RANGE:
        return f"{short} {shown} is outside the {limit_text(limit)} limit"
    if limit.strict:
        return f"{short} {shown} is not below the {_with_unit(fmt_number(high), limit.unit)} limit"
    return f"{short} {shown} is above the {_with_unit(fmt_number(high), limit.unit)} limit"
