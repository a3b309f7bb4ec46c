"""Tests of radiopharmacy.physics: known values, an independent oracle, DST, and properties."""

import ast
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from radiopharmacy import physics
from radiopharmacy.physics import (
    BREAKTHROUGH_LIMIT_PERCENT,
    BREAKTHROUGH_MIN_DELAY,
    GA68,
    GE68,
    MBQ_PER_MCI,
    NUCLIDES,
    ColumnState,
    ElutionRecord,
    Nuclide,
    breakthrough_passed,
    breakthrough_percent,
    column_advance,
    column_state,
    columns_at_elutions,
    decay_activity,
    decay_factor,
    decay_over_minutes,
    efficiency_estimate_percent,
    elapsed_minutes,
    elution_efficiency_percent,
    equilibrium_ga68_mbq,
    expected_eluate_mbq,
    gbq_to_mbq,
    ge68_activity_mbq,
    get_nuclide,
    ingrowth_fraction,
    ingrowth_ga68_mbq,
    mbq_to_gbq,
    mbq_to_mci,
    mci_to_mbq,
    require_aware,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTES_PER_DAY = 24 * 60
REL = 1e-9


def close(a: float, b: float, *, rel: float = REL, abs_: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# --- Independent oracle: the closed forms in decimal arithmetic at 40 digits ----------------------
# Constants restated from domain/REFERENCE.md §1 rather than imported, so a wrong constant in
# physics.py is caught too.
ORACLE_GA68_HALF_LIFE_MIN = Decimal("67.71")
ORACLE_GE68_HALF_LIFE_MIN = Decimal("270.95") * 24 * 60


def _lam(half_life_min: Decimal) -> Decimal:
    return Decimal(2).ln() / half_life_min


def oracle_decay(activity_mbq: float, minutes: float, half_life_min: Decimal) -> float:
    with localcontext() as ctx:
        ctx.prec = 40
        return float(Decimal(activity_mbq) * (-_lam(half_life_min) * Decimal(minutes)).exp())


def oracle_ingrowth(ge68_mbq: float, residual_mbq: float, minutes: float) -> float:
    with localcontext() as ctx:
        ctx.prec = 40
        lam_ga = _lam(ORACLE_GA68_HALF_LIFE_MIN)
        lam_ge = _lam(ORACLE_GE68_HALF_LIFE_MIN)
        t = Decimal(minutes)
        grown = (
            Decimal(ge68_mbq)
            * lam_ga
            / (lam_ga - lam_ge)
            * ((-lam_ge * t).exp() - (-lam_ga * t).exp())
        )
        return float(Decimal(residual_mbq) * (-lam_ga * t).exp() + grown)


def bateman_rk4(ge68_mbq: float, residual_mbq: float, minutes: float, step_min: float = 0.25):
    """Integrate the parent/daughter activity ODE numerically (no closed form involved).

    dA_Ge/dt = −λGe·A_Ge;  dA_Ga/dt = λGa·(A_Ge − A_Ga)   (activities, 100 % EC branching).
    """
    lam_ga = math.log(2) / 67.71
    lam_ge = math.log(2) / (270.95 * 24 * 60)

    def f(ge: float, ga: float) -> tuple[float, float]:
        return -lam_ge * ge, lam_ga * (ge - ga)

    steps = max(1, round(minutes / step_min))
    h = minutes / steps
    ge, ga = ge68_mbq, residual_mbq
    for _ in range(steps):
        k1 = f(ge, ga)
        k2 = f(ge + h / 2 * k1[0], ga + h / 2 * k1[1])
        k3 = f(ge + h / 2 * k2[0], ga + h / 2 * k2[1])
        k4 = f(ge + h * k3[0], ga + h * k3[1])
        ge += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        ga += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return ga


# --- Strategies -----------------------------------------------------------------------------------

activities = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
# A week of Ga-68 is ~150 half-lives: far from float underflow for these activities.
ga_minutes = st.floats(min_value=0, max_value=7 * MINUTES_PER_DAY, allow_nan=False)
signed_ga_minutes = st.floats(
    min_value=-7 * MINUTES_PER_DAY, max_value=7 * MINUTES_PER_DAY, allow_nan=False
)
nuclides = st.sampled_from([GA68, GE68])
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
zones = st.sampled_from(
    [UTC, AMSTERDAM, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]
)
nominals = st.floats(min_value=100, max_value=4000, allow_nan=False)
# Elution histories: distinct whole-second offsets from calibration over ~400 days, any E.
histories = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400 * 86400),
        st.floats(min_value=0, max_value=5000, allow_nan=False),
    ),
    max_size=8,
    unique_by=lambda pair: pair[0],
)


def to_records(history: list[tuple[int, float]]) -> list[ElutionRecord]:
    return [ElutionRecord(T0 + timedelta(seconds=s), e) for s, e in history]


def equilibrium_at(nominal: float, at: datetime) -> float:
    return equilibrium_ga68_mbq(
        ge68_activity_mbq(nominal_activity_mbq=nominal, calibrated_at=T0, at=at)
    )


# --- Nuclear data ---------------------------------------------------------------------------------


@pytest.mark.requirement("PHY-01")
def test_half_lives_are_the_reference_values():
    assert GA68.name == "Ga-68" and GA68.half_life_min == 67.71
    assert GE68.name == "Ge-68" and GE68.half_life_min == 270.95 * 24 * 60
    assert NUCLIDES == {"Ga-68": GA68, "Ge-68": GE68}
    assert GA68.decay_constant_per_min == math.log(2) / 67.71


@pytest.mark.requirement("PHY-01")
def test_get_nuclide_returns_known_and_rejects_unknown():
    assert get_nuclide("Ga-68") is GA68
    assert get_nuclide("Ge-68") is GE68
    with pytest.raises(ValueError, match="Unknown nuclide"):
        get_nuclide("F-18")


def test_nuclide_rejects_non_positive_half_life():
    with pytest.raises(ValueError):
        Nuclide("X", 0.0)
    with pytest.raises(ValueError):
        Nuclide("X", math.nan)


@pytest.mark.parametrize("nuclide", [GA68, GE68])
@pytest.mark.requirement("PHY-01")
def test_one_half_life_gives_exactly_half(nuclide):
    assert decay_over_minutes(1.0, nuclide.half_life_min, nuclide) == 0.5
    assert decay_over_minutes(1.0, 2 * nuclide.half_life_min, nuclide) == 0.25
    assert decay_over_minutes(1.0, -nuclide.half_life_min, nuclide) == 2.0
    start = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    one_half_life = timedelta(minutes=nuclide.half_life_min)
    assert decay_factor(nuclide, start, start + one_half_life) == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize(
    ("minutes", "fraction"),
    [(0, 1.000), (15, 0.858), (30, 0.736), (60, 0.541), (90, 0.398), (120, 0.293), (180, 0.158)],
)
@pytest.mark.requirement("PHY-02")
def test_fda_label_decay_chart(minutes, fraction):
    assert round(decay_over_minutes(1.0, minutes), 3) == fraction


@pytest.mark.parametrize(
    ("hours", "percent"), [(1, 45.9), (2, 70.7), (3, 84.2), (4, 91.4), (6, 97.5)]
)
@pytest.mark.requirement("GEN-03")
def test_ingrowth_table(hours, percent):
    assert round(100 * ingrowth_fraction(hours * 60), 1) == percent
    # The same through the column model: a complete elution, then `hours` of ingrowth, relative
    # to the equilibrium content at that time.
    ge68 = 1850.0
    on_column = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=0.0, minutes=hours * 60)
    equilibrium_then = equilibrium_ga68_mbq(decay_over_minutes(ge68, hours * 60, GE68))
    assert round(100 * on_column / equilibrium_then, 1) == percent


@pytest.mark.requirement("GEN-03")
def test_equilibrium_ratio_is_transient_equilibrium():
    lam_ga = math.log(2) / 67.71
    lam_ge = math.log(2) / (270.95 * 24 * 60)
    assert close(equilibrium_ga68_mbq(1000.0), 1000.0 * lam_ga / (lam_ga - lam_ge), rel=1e-14)
    # λGe/λGa = 67.71 min / 270.95 d ≈ 1.7e-4: equilibrium Ga-68 is 0.017 % above the Ge-68.
    assert 1000.17 < equilibrium_ga68_mbq(1000.0) < 1000.18


# --- Independent implementations agree ------------------------------------------------------------


@settings(max_examples=500)
@given(activity=activities, minutes=signed_ga_minutes)
@pytest.mark.requirement("PHY-02")
def test_decay_matches_decimal_oracle_ga68(activity, minutes):
    expected = oracle_decay(activity, minutes, ORACLE_GA68_HALF_LIFE_MIN)
    assert close(decay_over_minutes(activity, minutes, GA68), expected, abs_=0)


@settings(max_examples=500)
@given(activity=activities, days=st.floats(min_value=-3000, max_value=3000, allow_nan=False))
@pytest.mark.requirement("PHY-02")
def test_decay_matches_decimal_oracle_ge68(activity, days):
    minutes = days * MINUTES_PER_DAY
    expected = oracle_decay(activity, minutes, ORACLE_GE68_HALF_LIFE_MIN)
    assert close(decay_over_minutes(activity, minutes, GE68), expected, abs_=0)


@settings(max_examples=500)
@given(
    ge68=activities,
    residual=st.floats(min_value=0, max_value=1e5, allow_nan=False),
    minutes=st.floats(min_value=0, max_value=30 * MINUTES_PER_DAY, allow_nan=False),
)
@pytest.mark.requirement("GEN-03")
def test_ingrowth_matches_decimal_oracle(ge68, residual, minutes):
    expected = oracle_ingrowth(ge68, residual, minutes)
    actual = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=minutes)
    assert close(actual, expected, abs_=1e-12)


@pytest.mark.parametrize("residual", [0.0, 400.0, 1850.0, 5000.0])
@pytest.mark.parametrize("minutes", [1.0, 30.0, 67.71, 180.0, 360.0, 900.0])
@pytest.mark.requirement("GEN-03")
def test_ingrowth_matches_numerical_bateman_integration(residual, minutes):
    ge68 = 1850.0
    expected = bateman_rk4(ge68, residual, minutes)
    actual = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=minutes)
    assert close(actual, expected)


# --- Time: aware datetimes, real elapsed time -----------------------------------------------------


@pytest.mark.requirement("PHY-03")
def test_dst_end_counts_real_minutes():
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 01:30 → 03:30 is three real hours.
    start = datetime(2026, 10, 25, 1, 30, tzinfo=AMSTERDAM)
    end = datetime(2026, 10, 25, 3, 30, tzinfo=AMSTERDAM)
    assert end - start == timedelta(hours=2)  # the Python pitfall: wall-clock subtraction
    assert elapsed_minutes(start, end) == 180.0
    assert decay_factor(GA68, start, end) == decay_over_minutes(1.0, 180.0)
    assert decay_activity(1000.0, from_time=start, to_time=end) == decay_over_minutes(1000.0, 180)


@pytest.mark.requirement("PHY-03")
def test_dst_start_counts_real_minutes():
    # 2026-03-29: 02:00 CET springs forward to 03:00 CEST, so 01:30 → 03:30 is one real hour.
    start = datetime(2026, 3, 29, 1, 30, tzinfo=AMSTERDAM)
    end = datetime(2026, 3, 29, 3, 30, tzinfo=AMSTERDAM)
    assert end - start == timedelta(hours=2)
    assert elapsed_minutes(start, end) == 60.0
    assert decay_factor(GA68, start, end) == decay_over_minutes(1.0, 60.0)


@pytest.mark.requirement("PHY-03")
def test_elapsed_minutes_across_zones_and_backwards():
    utc = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    amsterdam = datetime(2026, 6, 1, 13, 0, tzinfo=AMSTERDAM)  # 11:00 UTC (CEST)
    assert elapsed_minutes(utc, amsterdam) == 60.0
    assert elapsed_minutes(amsterdam, utc) == -60.0
    assert decay_factor(GA68, amsterdam, utc) > 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda naive, aware: elapsed_minutes(naive, aware),
        lambda naive, aware: elapsed_minutes(aware, naive),
        lambda naive, aware: decay_factor(GA68, naive, aware),
        lambda naive, aware: decay_activity(10.0, from_time=aware, to_time=naive),
        lambda naive, aware: ge68_activity_mbq(
            nominal_activity_mbq=1850, calibrated_at=naive, at=aware
        ),
        lambda naive, aware: column_state(
            nominal_activity_mbq=1850, calibrated_at=aware, elutions=[], at=naive
        ),
        lambda naive, aware: column_state(
            nominal_activity_mbq=1850,
            calibrated_at=aware,
            elutions=[ElutionRecord(naive, 500.0)],
            at=aware,
        ),
        lambda naive, aware: columns_at_elutions(
            nominal_activity_mbq=1850, calibrated_at=aware, elutions=[ElutionRecord(naive, 5.0)]
        ),
        lambda naive, aware: breakthrough_percent(
            ge68_activity_kbq=1.0,
            measured_at=naive + timedelta(days=3),
            eluted_at=aware,
            ga68_at_elution_mbq=1000.0,
        ),
    ],
)
@pytest.mark.requirement("PHY-03")
def test_naive_datetimes_raise(call):
    naive = datetime(2026, 6, 1, 10, 0)  # noqa: DTZ001 - naive on purpose
    aware = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        call(naive, aware)


@pytest.mark.requirement("PHY-03")
def test_require_aware():
    aware = datetime(2026, 6, 1, 10, 0, tzinfo=AMSTERDAM)
    assert require_aware(aware) is aware
    with pytest.raises(ValueError, match="eluted_at must be timezone-aware"):
        require_aware(datetime(2026, 6, 1, 10, 0), "eluted_at")  # noqa: DTZ001
    with pytest.raises(ValueError, match="must be a datetime"):
        require_aware("2026-06-01T10:00Z")  # type: ignore[arg-type]


# --- Validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
def test_bad_activities_raise(bad):
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="activity_mbq"):
        decay_over_minutes(bad, 10.0)
    with pytest.raises(ValueError, match="activity_mbq"):
        decay_activity(bad, from_time=start, to_time=start)
    with pytest.raises(ValueError, match="nominal_activity_mbq"):
        ge68_activity_mbq(nominal_activity_mbq=bad, calibrated_at=start, at=start)
    with pytest.raises(ValueError, match="residual_mbq"):
        ingrowth_ga68_mbq(ge68_at_start_mbq=1.0, residual_mbq=bad, minutes=1.0)
    with pytest.raises(ValueError, match="activity_at_elution_mbq"):
        column_state(
            nominal_activity_mbq=1850,
            calibrated_at=start,
            elutions=[ElutionRecord(start, bad)],
            at=start + timedelta(hours=1),
        )
    with pytest.raises(ValueError, match="ge68_activity_kbq"):
        breakthrough_percent(
            ge68_activity_kbq=bad,
            measured_at=start + timedelta(days=3),
            eluted_at=start,
            ga68_at_elution_mbq=1000.0,
        )
    with pytest.raises(ValueError):
        mbq_to_mci(bad)


def test_negative_activity_message_names_the_quantity():
    with pytest.raises(ValueError, match="ge68_activity_mbq must not be negative"):
        equilibrium_ga68_mbq(-5.0)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_bad_ingrowth_minutes_raise(bad):
    with pytest.raises(ValueError, match="minutes"):
        ingrowth_ga68_mbq(ge68_at_start_mbq=1.0, residual_mbq=0.0, minutes=bad)
    with pytest.raises(ValueError, match="minutes"):
        ingrowth_fraction(bad)


def test_non_finite_decay_minutes_raise():
    with pytest.raises(ValueError, match="minutes"):
        decay_over_minutes(1.0, math.nan)


def test_decay_correction_overflow_is_a_value_error():
    with pytest.raises(ValueError, match="overflows"):
        decay_over_minutes(1.0, -1e9)


# --- Decay properties -----------------------------------------------------------------------------


@settings(max_examples=500)
@given(activity=activities, minutes=ga_minutes, nuclide=nuclides)
@pytest.mark.requirement("PHY-02")
def test_decay_forward_then_back_is_identity(activity, minutes, nuclide):
    there = decay_over_minutes(activity, minutes, nuclide)
    assert close(decay_over_minutes(there, -minutes, nuclide), activity, abs_=0)


@settings(max_examples=500)
@given(activity=activities, start=instants, minutes=signed_ga_minutes, zone=zones)
@pytest.mark.requirement("PHY-02")
def test_decay_activity_forward_then_back_is_identity(activity, start, minutes, zone):
    end = (start + timedelta(minutes=minutes)).astimezone(zone)
    there = decay_activity(activity, from_time=start, to_time=end)
    assert close(decay_activity(there, from_time=end, to_time=start), activity, abs_=0)


@settings(max_examples=500)
@given(activity=activities, a=ga_minutes, b=ga_minutes, nuclide=nuclides)
@pytest.mark.requirement("PHY-02")
def test_decay_over_a_plus_b_is_decay_over_a_then_b(activity, a, b, nuclide):
    once = decay_over_minutes(activity, a + b, nuclide)
    twice = decay_over_minutes(decay_over_minutes(activity, a, nuclide), b, nuclide)
    assert close(once, twice, abs_=1e-300)


@settings(max_examples=500)
@given(activity=activities, a=ga_minutes, b=ga_minutes, nuclide=nuclides)
@pytest.mark.requirement("PHY-02")
def test_activity_never_grows_with_time(activity, a, b, nuclide):
    early, late = sorted((a, b))
    assert decay_over_minutes(activity, late, nuclide) <= decay_over_minutes(
        activity, early, nuclide
    )
    assert decay_over_minutes(activity, late, nuclide) <= activity


@settings(max_examples=500)
@given(start=instants, minutes=signed_ga_minutes, zone_a=zones, zone_b=zones)
@pytest.mark.requirement("PHY-03")
def test_elapsed_minutes_does_not_depend_on_the_zone(start, minutes, zone_a, zone_b):
    end = start + timedelta(minutes=minutes)
    expected = elapsed_minutes(start, end)
    assert close(elapsed_minutes(start.astimezone(zone_a), end.astimezone(zone_b)), expected)
    # Same tzinfo on both ends: the case where plain subtraction is wrong across DST.
    assert close(elapsed_minutes(start.astimezone(zone_a), end.astimezone(zone_a)), expected)


# --- Ingrowth properties --------------------------------------------------------------------------


@settings(max_examples=500)
@given(
    ge68=activities,
    a=st.floats(min_value=0, max_value=12 * 60, allow_nan=False),
    b=st.floats(min_value=0, max_value=12 * 60, allow_nan=False),
)
def test_ingrowth_after_complete_elution_is_monotonic(ge68, a, b):
    # Up to ~14 h after a complete elution the Ga-68 content only grows (afterwards it follows
    # the slow Ge-68 decay); the fraction of equilibrium grows for ever.
    early, late = sorted((a, b))

    def grown(t):
        return ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=0.0, minutes=t)

    assert grown(early) <= grown(late)
    assert ingrowth_fraction(early) <= ingrowth_fraction(late)
    assert 0.0 <= ingrowth_fraction(early) <= 1.0


@settings(max_examples=500)
@given(
    ge68=activities,
    residual_share=st.floats(min_value=0, max_value=1, allow_nan=False),
    minutes=st.floats(min_value=0, max_value=365 * MINUTES_PER_DAY, allow_nan=False),
)
def test_ingrowth_never_exceeds_and_tends_to_equilibrium(ge68, residual_share, minutes):
    residual = residual_share * equilibrium_ga68_mbq(ge68)
    on_column = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=minutes)
    equilibrium_then = equilibrium_ga68_mbq(decay_over_minutes(ge68, minutes, GE68))
    assert on_column <= equilibrium_then * (1 + 1e-12)
    # 40 Ga-68 half-lives later the column is in equilibrium to 1e-12.
    later = minutes + 40 * GA68.half_life_min
    settled = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=later)
    assert close(settled, equilibrium_ga68_mbq(decay_over_minutes(ge68, later, GE68)), rel=1e-11)


@settings(max_examples=500)
@given(
    ge68=activities,
    residual=st.floats(min_value=0, max_value=1e5, allow_nan=False),
    a=st.floats(min_value=0, max_value=3 * MINUTES_PER_DAY, allow_nan=False),
    b=st.floats(min_value=0, max_value=3 * MINUTES_PER_DAY, allow_nan=False),
)
def test_ingrowth_is_memoryless(ge68, residual, a, b):
    direct = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=a + b)
    midway = ingrowth_ga68_mbq(ge68_at_start_mbq=ge68, residual_mbq=residual, minutes=a)
    stepped = ingrowth_ga68_mbq(
        ge68_at_start_mbq=decay_over_minutes(ge68, a, GE68), residual_mbq=midway, minutes=b
    )
    assert close(direct, stepped, abs_=1e-12)


@settings(max_examples=500)
@given(ge68=activities, minutes=st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_equilibrium_stays_equilibrium(ge68, minutes):
    on_column = ingrowth_ga68_mbq(
        ge68_at_start_mbq=ge68, residual_mbq=equilibrium_ga68_mbq(ge68), minutes=minutes
    )
    assert close(on_column, equilibrium_ga68_mbq(decay_over_minutes(ge68, minutes, GE68)))


# --- Generator: a sequence computed by hand -------------------------------------------------------


@pytest.mark.requirement("GEN-03")
def test_generator_sequence_by_hand():
    lam_ga = math.log(2) / 67.71
    lam_ge = math.log(2) / (270.95 * 24 * 60)
    k = lam_ga / (lam_ga - lam_ge)  # transient equilibrium A_Ga/A_Ge

    calibrated_at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    nominal = 1850.0
    # Elution 1: 7 days after calibration. Elution 2: 3 h later, given in local time (CET).
    t1 = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    t2 = datetime(2026, 1, 12, 16, 0, tzinfo=AMSTERDAM)  # 15:00 UTC
    e1, e2 = 1100.0, 700.0
    at = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)  # 2 h after elution 2

    # Before elution 1 nothing was eluted: equilibrium with the Ge-68 of day 7.
    ge_t1 = nominal * math.exp(-lam_ge * 7 * 24 * 60)
    g1 = ge_t1 * k
    r1 = g1 - e1
    # Elution 2: the residual decays for 180 min while Ge-68 grows Ga-68 back in.
    g2 = r1 * math.exp(-lam_ga * 180) + ge_t1 * k * (
        math.exp(-lam_ge * 180) - math.exp(-lam_ga * 180)
    )
    r2 = g2 - e2
    # State at `at`, 120 min after elution 2.
    ge_t2 = nominal * math.exp(-lam_ge * (7 * 24 * 60 + 180))
    ge_at = nominal * math.exp(-lam_ge * (7 * 24 * 60 + 300))
    g_at = r2 * math.exp(-lam_ga * 120) + ge_t2 * k * (
        math.exp(-lam_ge * 120) - math.exp(-lam_ga * 120)
    )
    # Rough magnitudes, to make a silent formula change visible in review.
    assert round(g1, 1) == 1817.5 and round(g2, 1) == 1642.7 and round(g_at, 1) == 1560.6

    # Given out of order on purpose: the model sorts the history.
    elutions = [ElutionRecord(t2, e2), ElutionRecord(t1, e1)]
    before = columns_at_elutions(
        nominal_activity_mbq=nominal, calibrated_at=calibrated_at, elutions=elutions
    )
    assert len(before) == 2
    assert close(before[0], g1) and close(before[1], g2)

    state = column_state(
        nominal_activity_mbq=nominal, calibrated_at=calibrated_at, elutions=elutions, at=at
    )
    assert state.at == at
    assert state.last_elution_at == t2
    assert close(state.residual_mbq, r2)
    assert close(state.ge68_activity_mbq, ge_at)
    assert close(state.ga68_on_column_mbq, g_at)

    # Between the elutions only elution 1 counts; at t2 itself elution 2 has not happened yet.
    at_t2 = column_state(
        nominal_activity_mbq=nominal, calibrated_at=calibrated_at, elutions=elutions, at=t2
    )
    assert at_t2.last_elution_at == t1 and close(at_t2.ga68_on_column_mbq, g2)
    assert close(at_t2.residual_mbq, r1)

    # Efficiencies and the expected next eluate at `at`.
    eff = [
        elution_efficiency_percent(activity_at_elution_mbq=e, on_column_mbq=g)
        for e, g in zip((e1, e2), before, strict=True)
    ]
    assert close(eff[0], 100 * e1 / g1) and close(eff[1], 100 * e2 / g2)
    eta = efficiency_estimate_percent(eff)
    assert close(eta, (eff[0] + eff[1]) / 2)
    expected = expected_eluate_mbq(
        ga68_on_column_mbq=state.ga68_on_column_mbq, efficiency_percent=eta
    )
    assert close(expected, g_at * eta / 100)


@pytest.mark.requirement("GEN-03")
def test_column_without_elutions_is_in_equilibrium():
    at = T0 + timedelta(days=30)
    state = column_state(nominal_activity_mbq=1850.0, calibrated_at=T0, elutions=[], at=at)
    ge = 1850.0 * 0.5 ** (30 / 270.95)
    assert close(state.ge68_activity_mbq, ge)
    assert close(state.ga68_on_column_mbq, equilibrium_ga68_mbq(ge))
    assert state.last_elution_at is None and state.residual_mbq == 0.0
    # Before calibration the Ge-68 is decay-corrected back (more activity).
    earlier = column_state(
        nominal_activity_mbq=1850.0, calibrated_at=T0, elutions=[], at=T0 - timedelta(days=10)
    )
    assert earlier.ge68_activity_mbq > 1850.0


@pytest.mark.requirement("GEN-03")
def test_eluate_larger_than_column_leaves_nothing_behind():
    t1 = T0 + timedelta(days=1)
    state = column_state(
        nominal_activity_mbq=1000.0,
        calibrated_at=T0,
        elutions=[ElutionRecord(t1, 5000.0)],
        at=t1 + timedelta(hours=1),
    )
    assert state.residual_mbq == 0.0
    assert close(state.ga68_on_column_mbq, equilibrium_at(1000.0, state.at) * ingrowth_fraction(60))


# --- Generator properties -------------------------------------------------------------------------


@settings(max_examples=500)
@given(nominal=nominals, history=histories, after_s=st.integers(min_value=1, max_value=86400 * 3))
@pytest.mark.requirement("GEN-03")
def test_column_state_incremental_equals_whole_history(nominal, history, after_s):
    assume(history)
    records = sorted(to_records(history), key=lambda r: r.eluted_at)
    at = records[-1].eluted_at + timedelta(seconds=after_s)
    whole = column_state(nominal_activity_mbq=nominal, calibrated_at=T0, elutions=records, at=at)

    # Walk the history by hand: equilibrium up to the first elution, then for each elution take
    # E off the column and let it grow in (column_advance) up to the next event.
    state = column_state(
        nominal_activity_mbq=nominal, calibrated_at=T0, elutions=[], at=records[0].eluted_at
    )
    for record, next_time in zip(records, [r.eluted_at for r in records[1:]] + [at], strict=True):
        assert state.at == record.eluted_at
        residual = max(0.0, state.ga68_on_column_mbq - record.activity_at_elution_mbq)
        after_elution = ColumnState(
            at=record.eluted_at,
            ge68_activity_mbq=state.ge68_activity_mbq,
            ga68_on_column_mbq=residual,
            last_elution_at=record.eluted_at,
            residual_mbq=residual,
        )
        state = column_advance(after_elution, to=next_time)

    assert state.last_elution_at == whole.last_elution_at
    assert close(state.residual_mbq, whole.residual_mbq, rel=1e-8, abs_=1e-6)
    assert close(state.ge68_activity_mbq, whole.ge68_activity_mbq)
    assert close(state.ga68_on_column_mbq, whole.ga68_on_column_mbq, rel=1e-8, abs_=1e-6)


@settings(max_examples=500)
@given(nominal=nominals, history=histories)
def test_columns_at_elutions_match_column_state_and_prefixes(nominal, history):
    records = to_records(history)
    ordered = sorted(records, key=lambda r: r.eluted_at)
    before = columns_at_elutions(nominal_activity_mbq=nominal, calibrated_at=T0, elutions=records)
    assert len(before) == len(records)
    for i, record in enumerate(ordered):
        # G just before elution i = the state at t_i, which excludes elution i itself.
        state = column_state(
            nominal_activity_mbq=nominal, calibrated_at=T0, elutions=records, at=record.eluted_at
        )
        assert close(state.ga68_on_column_mbq, before[i])
        # A later elution does not change the past.
        prefix = columns_at_elutions(
            nominal_activity_mbq=nominal, calibrated_at=T0, elutions=ordered[: i + 1]
        )
        assert prefix == before[: i + 1]


@settings(max_examples=500)
@given(nominal=nominals, history=histories, at_s=st.integers(min_value=0, max_value=401 * 86400))
def test_column_state_ignores_input_order_and_future_elutions(nominal, history, at_s):
    records = to_records(history)
    at = T0 + timedelta(seconds=at_s)

    def state_of(elutions):
        return column_state(
            nominal_activity_mbq=nominal, calibrated_at=T0, elutions=elutions, at=at
        )

    whole = state_of(records)
    assert state_of(list(reversed(records))) == whole
    past_only = state_of([r for r in records if r.eluted_at < at])
    assert past_only == whole
    # Physical bounds: never more Ga-68 than equilibrium with the Ge-68 present.
    assert 0.0 <= whole.ga68_on_column_mbq <= equilibrium_at(nominal, at) * (1 + 1e-12)
    assert 0.0 <= whole.residual_mbq


@settings(max_examples=500)
@given(
    nominal=nominals,
    history=histories,
    gap_s=st.integers(min_value=0, max_value=86400),
    step_s=st.integers(min_value=0, max_value=86400 * 2),
)
def test_column_advance_equals_column_state(nominal, history, gap_s, step_s):
    records = to_records(history)
    last = max((r.eluted_at for r in records), default=T0)
    t1 = last + timedelta(seconds=gap_s + 1)
    t2 = t1 + timedelta(seconds=step_s)
    s1 = column_state(nominal_activity_mbq=nominal, calibrated_at=T0, elutions=records, at=t1)
    s2 = column_state(nominal_activity_mbq=nominal, calibrated_at=T0, elutions=records, at=t2)
    advanced = column_advance(s1, to=t2)
    assert advanced.at == t2 and advanced.last_elution_at == s2.last_elution_at
    assert close(advanced.ge68_activity_mbq, s2.ge68_activity_mbq)
    assert close(advanced.ga68_on_column_mbq, s2.ga68_on_column_mbq, abs_=1e-6)


@settings(max_examples=500)
@given(nominal=nominals, offset_s=st.integers(min_value=0, max_value=400 * 86400), after=ga_minutes)
def test_an_empty_elution_leaves_the_column_in_equilibrium(nominal, offset_s, after):
    t1 = T0 + timedelta(seconds=offset_s)
    at = t1 + timedelta(minutes=after, seconds=1)
    state = column_state(
        nominal_activity_mbq=nominal,
        calibrated_at=T0,
        elutions=[ElutionRecord(t1, 0.0)],
        at=at,
    )
    assert close(state.ga68_on_column_mbq, equilibrium_at(nominal, at))


def test_column_advance_refuses_going_back():
    state = column_state(nominal_activity_mbq=1850.0, calibrated_at=T0, elutions=[], at=T0)
    with pytest.raises(ValueError, match="back in time"):
        column_advance(state, to=T0 - timedelta(minutes=1))


# --- Efficiency -----------------------------------------------------------------------------------


@pytest.mark.requirement("GEN-04")
def test_efficiency_estimate_uses_last_five_or_nominal():
    assert efficiency_estimate_percent([]) == 65.0
    assert efficiency_estimate_percent([], nominal_percent=70.0) == 70.0
    assert efficiency_estimate_percent([10, 20, 30, 40, 50, 60, 70]) == 50.0
    assert efficiency_estimate_percent([60.0, 62.0]) == 61.0
    assert efficiency_estimate_percent([10, 20, 30], window=2) == 25.0
    with pytest.raises(ValueError, match="window"):
        efficiency_estimate_percent([60.0], window=0)
    with pytest.raises(ValueError, match="efficiency_percent"):
        efficiency_estimate_percent([60.0, math.nan])


@pytest.mark.requirement("GEN-04")
def test_elution_efficiency_and_expected_eluate():
    assert elution_efficiency_percent(activity_at_elution_mbq=650.0, on_column_mbq=1000.0) == 65.0
    assert expected_eluate_mbq(ga68_on_column_mbq=1000.0, efficiency_percent=65.0) == 650.0
    with pytest.raises(ValueError, match="on_column_mbq"):
        elution_efficiency_percent(activity_at_elution_mbq=650.0, on_column_mbq=0.0)
    with pytest.raises(ValueError, match="efficiency_percent"):
        expected_eluate_mbq(ga68_on_column_mbq=1000.0, efficiency_percent=-1.0)


# --- Ge-68 breakthrough ---------------------------------------------------------------------------

ELUTED_AT = datetime(2026, 3, 27, 9, 0, tzinfo=AMSTERDAM)


@pytest.mark.requirement("GEN-05")
def test_breakthrough_before_48_hours_raises():
    assert BREAKTHROUGH_MIN_DELAY == timedelta(hours=48)
    with pytest.raises(ValueError, match="at least 48 h after elution"):
        breakthrough_percent(
            ge68_activity_kbq=5.0,
            measured_at=ELUTED_AT + timedelta(hours=47, minutes=59),
            eluted_at=ELUTED_AT,
            ga68_at_elution_mbq=1000.0,
        )


@pytest.mark.requirement("GEN-05")
def test_breakthrough_48_hours_is_real_time_across_dst():
    # 2026-03-29 loses an hour: 48 wall-clock hours after 09:00 CET on the 27th is only 47 real h.
    wall_clock_48h = datetime(2026, 3, 29, 9, 0, tzinfo=AMSTERDAM)
    with pytest.raises(ValueError, match="48 h"):
        breakthrough_percent(
            ge68_activity_kbq=5.0,
            measured_at=wall_clock_48h,
            eluted_at=ELUTED_AT,
            ga68_at_elution_mbq=1000.0,
        )
    real_48h = datetime(2026, 3, 29, 10, 0, tzinfo=AMSTERDAM)
    assert (
        breakthrough_percent(
            ge68_activity_kbq=5.0,
            measured_at=real_48h,
            eluted_at=ELUTED_AT,
            ga68_at_elution_mbq=1000.0,
        )
        > 0
    )


@pytest.mark.requirement("GEN-05")
def test_breakthrough_is_decay_corrected_back_to_elution():
    # Three calendar days later, but the clocks went forward on 2026-03-29: 71 real hours.
    measured_at = datetime(2026, 3, 30, 9, 0, tzinfo=AMSTERDAM)
    # 10 kBq Ge-68 at the elution = 0.001 % of 1000 MBq; 71 h later the sample holds less.
    measured_kbq = 10.0 * 0.5 ** (71 / 24 / 270.95)
    percent = breakthrough_percent(
        ge68_activity_kbq=measured_kbq,
        measured_at=measured_at,
        eluted_at=ELUTED_AT,
        ga68_at_elution_mbq=1000.0,
    )
    assert close(percent, BREAKTHROUGH_LIMIT_PERCENT)
    # Reading the measured 10 kBq as if it were the activity at elution would pass a failing
    # eluate: corrected back it is above the limit.
    uncorrected_trap = breakthrough_percent(
        ge68_activity_kbq=10.0,
        measured_at=measured_at,
        eluted_at=ELUTED_AT,
        ga68_at_elution_mbq=1000.0,
    )
    assert uncorrected_trap > BREAKTHROUGH_LIMIT_PERCENT
    assert not breakthrough_passed(uncorrected_trap)


@pytest.mark.requirement("GEN-05")
def test_breakthrough_pass_fail_at_the_limit():
    assert BREAKTHROUGH_LIMIT_PERCENT == 0.001
    assert breakthrough_passed(0.001)
    assert breakthrough_passed(0.000999)
    assert breakthrough_passed(0.0)
    assert not breakthrough_passed(0.001001)
    with pytest.raises(ValueError):
        breakthrough_passed(math.nan)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_breakthrough_needs_a_positive_eluate_activity(bad):
    with pytest.raises(ValueError, match="ga68_at_elution_mbq"):
        breakthrough_percent(
            ge68_activity_kbq=1.0,
            measured_at=ELUTED_AT + timedelta(days=3),
            eluted_at=ELUTED_AT,
            ga68_at_elution_mbq=bad,
        )


# --- Units ----------------------------------------------------------------------------------------


@pytest.mark.requirement("PHY-04")
def test_unit_conversions():
    assert MBQ_PER_MCI == 37.0
    assert mci_to_mbq(1.0) == 37.0 and mbq_to_mci(37.0) == 1.0
    assert mci_to_mbq(5.4) == pytest.approx(199.8)
    assert gbq_to_mbq(1.85) == 1850.0 and mbq_to_gbq(1850.0) == 1.85


@settings(max_examples=500)
@given(activity=st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_subnormal=False))
@pytest.mark.requirement("PHY-04")
def test_unit_round_trips(activity):
    assert close(mci_to_mbq(mbq_to_mci(activity)), activity, abs_=0)
    assert close(gbq_to_mbq(mbq_to_gbq(activity)), activity, abs_=0)


def _imported_modules(path) -> set[str]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return imported


@pytest.mark.requirement("PHY-01")
def test_module_imports_only_the_standard_library():
    # and the pure error class it raises, which itself imports nothing at all
    from radiopharmacy.core import errors

    imported = _imported_modules(physics.__file__)
    assert {m.split(".")[0] for m in imported - {"radiopharmacy.core.errors"}} <= {
        "__future__",
        "math",
        "collections",
        "dataclasses",
        "datetime",
    }
    assert _imported_modules(errors.__file__) == set()
