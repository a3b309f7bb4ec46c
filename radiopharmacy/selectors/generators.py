"""Reads of generators and elutions: querysets with their joins, the column model, warnings.

Each current elution stores the column state right after it (`column_residual_mbq`,
`efficiency_estimate_percent`, `elution_number`; see services.elutions.elution_states_refresh),
so a prediction, a warning or a list row starts from the generator's latest elution and never
replays its history. `generators_with_state()` annotates each generator with that latest state
and its latest breakthrough test in one query, whatever the number of elutions; the functions
below then issue no query of their own for such a generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core import keyset
from radiopharmacy.models import BreakthroughTest, Elution, Generator, SiteSettings

EFFICIENCY_WINDOW = physics.EFFICIENCY_WINDOW

# What a state read needs of an elution row.
STATE_COLUMNS = (
    "eluted_at",
    "predicted_on_column_mbq",
    "column_residual_mbq",
    "efficiency_estimate_percent",
    "elution_number",
)


def current_elutions_queryset() -> QuerySet[Elution]:
    """Elutions that count: not replaced by a correction.

    As NOT EXISTS rather than `superseded_by__isnull` (a LEFT JOIN ... IS NULL): PostgreSQL then
    estimates the rows it keeps, so the latest elution of a generator is read backwards off the
    (generator, eluted_at, id) index and stops at the first one, instead of a hash join over
    every elution for each generator of a list.
    """
    return Elution.objects.filter(~Exists(Elution.objects.filter(supersedes=OuterRef("pk"))))


def _latest_first(elutions: QuerySet[Elution]) -> QuerySet[Elution]:
    return elutions.order_by("-eluted_at", "-id")


def generators_with_state() -> QuerySet[Generator]:
    """Generators with the stored state of their latest current elution (`state_*`) and their
    latest breakthrough test (`last_bt_measured_at`, `last_bt_passed`, `last_bt_percent`): one
    query, no elution rows."""
    latest = _latest_first(current_elutions_queryset().filter(generator=OuterRef("pk")))
    latest_test = BreakthroughTest.objects.filter(elution__generator=OuterRef("pk")).order_by(
        "-measured_at", "-id"
    )
    return (
        Generator.objects.select_related("registered_by")
        .annotate(
            **{f"state_{column}": Subquery(latest.values(column)[:1]) for column in STATE_COLUMNS}
        )
        .annotate(
            last_bt_id=Subquery(latest_test.values("id")[:1]),
            last_bt_measured_at=Subquery(latest_test.values("measured_at")[:1]),
            last_bt_passed=Subquery(latest_test.values("passed")[:1]),
            last_bt_percent=Subquery(latest_test.values("breakthrough_percent")[:1]),
        )
    )


ALL_STATUSES = "all"


def generator_list(*, status: str | None = None) -> QuerySet[Generator]:
    """Generators with their latest state; retired ones only when asked (`status` "retired" or
    "all"): the list people work from holds the few generators in the lab."""
    qs = generators_with_state()
    if status == ALL_STATUSES:
        return qs
    if status:
        return qs.filter(status=status)
    return qs.exclude(status=GeneratorStatus.RETIRED)


def generator_get(*, generator_id: int) -> Generator:
    """One generator with its latest state (raises Generator.DoesNotExist)."""
    return generators_with_state().get(pk=generator_id)


def elutions_of(generator: Generator) -> list[Elution]:
    """The generator's current elutions, oldest first (the whole history: not for lists)."""
    return list(current_elutions_queryset().filter(generator=generator).order_by("eluted_at", "id"))


def elution_list(*, include_superseded: bool = False) -> QuerySet[Elution]:
    """Elutions as the API shows them: related records by id (read from the row), the
    correction that replaced one (`superseded_by`) and its breakthrough tests."""
    qs = Elution.objects if include_superseded else current_elutions_queryset()
    return qs.select_related("superseded_by").prefetch_related("breakthrough_tests")


def elution_history_page(
    generator: Generator, *, before: int | None = None, after: int | None = None, size: int
) -> keyset.KeysetPage:
    """A page of the generator's elutions, newest first, superseded ones included (for the
    record), by keyset on (eluted_at, id): the same cost at the 10th and the 1,000th elution."""
    rows = (
        Elution.objects.filter(generator=generator)
        .select_related("performed_by", "supersedes", "superseded_by")
        .prefetch_related("breakthrough_tests")
    )
    return keyset.keyset_page(rows, before=before, after=after, size=size, field="eluted_at")


def recent_elutions(generator: Generator, *, limit: int) -> list[Elution]:
    """The generator's latest `limit` current elutions, oldest first (a chart, a trend)."""
    return list(_latest_first(current_elutions_queryset().filter(generator=generator))[:limit])[
        ::-1
    ]


# --- The column model from the stored states ------------------------------------------------


def elution_records(elutions) -> list[physics.ElutionRecord]:
    return [
        physics.ElutionRecord(
            eluted_at=e.eluted_at, activity_at_elution_mbq=e.activity_at_elution_mbq
        )
        for e in elutions
    ]


def stored_state(elution: Elution) -> physics.ElutionState:
    """The column state stored with `elution` (its G as recorded, the residual R derived)."""
    return physics.ElutionState(
        eluted_at=elution.eluted_at,
        on_column_mbq=elution.predicted_on_column_mbq,
        residual_mbq=elution.column_residual_mbq,
    )


def _annotated_latest(generator: Generator) -> tuple[bool, Elution | None]:
    """The latest current elution from the `state_*` annotations (without a query), if there."""
    if not hasattr(generator, "state_elution_number"):
        return False, None
    if generator.state_eluted_at is None:
        return True, None
    return True, Elution(
        generator_id=generator.pk,
        **{column: getattr(generator, f"state_{column}") for column in STATE_COLUMNS},
    )


def latest_elution(generator: Generator, *, before: datetime | None = None) -> Elution | None:
    """The generator's latest current elution (strictly before `before` when given), with its
    stored state: from the annotations when they answer, else one query."""
    known, latest = _annotated_latest(generator)
    if known and (latest is None or before is None or latest.eluted_at < before):
        return latest
    qs = current_elutions_queryset().filter(generator=generator)
    if before is not None:
        qs = qs.filter(eluted_at__lt=before)
    return _latest_first(qs).only(*STATE_COLUMNS).first()


def elution_count(generator: Generator) -> int:
    """How many current elutions the generator has (stored, no count query)."""
    latest = latest_elution(generator)
    return 0 if latest is None else latest.elution_number


def generator_column_at(
    generator: Generator, *, at: datetime, elutions: list[Elution] | None = None
) -> physics.ColumnState:
    """What the column of `generator` holds at `at` (SPEC §2.2): Ge-68, and Ga-68 grown in since
    the last of its current elutions before `at`, from that elution's stored state. Given
    `elutions` (a history other than the recorded one), it replays them instead."""
    if elutions is not None:
        return physics.column_state(
            nominal_activity_mbq=generator.nominal_activity_mbq,
            calibrated_at=generator.calibrated_at,
            elutions=elution_records(elutions),
            at=at,
        )
    last = latest_elution(generator, before=at)
    return physics.column_state_after(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        last=None if last is None else stored_state(last),
        at=at,
    )


def efficiency_percent(generator: Generator, elutions: list[Elution] | None = None) -> float:
    """η: mean efficiency of the last 5 current elutions, or the nominal efficiency (stored with
    the latest elution; computed from `elutions` when given)."""
    if elutions is None:
        latest = latest_elution(generator)
        if latest is None:
            return float(generator.nominal_efficiency_percent)
        return latest.efficiency_estimate_percent
    ordered = sorted(elutions, key=lambda e: (e.eluted_at, e.pk or 0))
    return physics.efficiency_estimate_percent(
        [e.efficiency_percent for e in ordered],
        nominal_percent=generator.nominal_efficiency_percent,
        window=EFFICIENCY_WINDOW,
    )


@dataclass(frozen=True)
class Prediction:
    at: datetime
    ge68_activity_mbq: float
    ga68_on_column_mbq: float
    expected_eluate_mbq: float
    efficiency_percent: float
    last_elution_at: datetime | None
    column: physics.ColumnState | None = field(default=None, compare=False, repr=False)


# Beyond this a prediction means nothing (the shelf life is 12 months) and the back-decay of
# Ge-68 grows without bound.
PREDICTION_WINDOW = timedelta(days=2 * 365)


def prediction(generator: Generator, *, at: datetime) -> Prediction:
    """What the column holds at `at` and what an elution then would give (SPEC §2.2).

    Only elutions before `at` count; η is the estimate from the elutions recorded so far.
    Preconditions: `at` aware, else ValueError.
    """
    if abs(at - generator.calibrated_at) > PREDICTION_WINDOW:
        raise ValueError(
            "Give a time within 2 years of the generator's calibration "
            f"({generator.calibrated_at:%Y-%m-%d}); its shelf life is 12 months."
        )
    state = generator_column_at(generator, at=at)
    eta = efficiency_percent(generator)
    return Prediction(
        at=at,
        ge68_activity_mbq=state.ge68_activity_mbq,
        ga68_on_column_mbq=state.ga68_on_column_mbq,
        expected_eluate_mbq=physics.expected_eluate_mbq(
            ga68_on_column_mbq=state.ga68_on_column_mbq, efficiency_percent=eta
        ),
        efficiency_percent=eta,
        last_elution_at=state.last_elution_at,
        column=state,
    )


def prediction_unavailable_reason(generator: Generator, *, at: datetime) -> str:
    """Why a page or list shows no prediction of `generator` at `at` ("" when it shows one).

    A retired generator is out of use and an expired one past its shelf life (its "expired"
    warning says so), and past PREDICTION_WINDOW `prediction` refuses the time: a list or a
    page shows "—" with this reason (the API null) instead of failing on one old generator.
    """
    if generator.status == GeneratorStatus.RETIRED:
        return "retired"
    if abs(at - generator.calibrated_at) > PREDICTION_WINDOW:
        return "more than 2 years from its calibration"
    if at >= generator.expires_at:
        return f"expired on {timezone.localtime(generator.expires_at):%Y-%m-%d}"
    return ""


def shown_prediction(generator: Generator, *, at: datetime) -> tuple[Prediction | None, str]:
    """The prediction a page or list shows at `at`, or None with the reason why not (see
    `prediction_unavailable_reason`)."""
    reason = prediction_unavailable_reason(generator, at=at)
    return (None, reason) if reason else (prediction(generator, at=at), "")


def expected_eluate_curve(
    generator: Generator,
    *,
    start: datetime,
    hours: int = 8,
    step_min: int = 10,
    prediction_at_start: Prediction | None = None,
) -> list[tuple[datetime, float]]:
    """Expected eluate every `step_min` minutes over the next `hours`, if nobody elutes.

    Steps are added in UTC (real elapsed time across a DST change). Pass the prediction at
    `start` when already computed (a list row): the curve then reads nothing more.
    """
    if prediction_at_start is None or prediction_at_start.at != start:
        prediction_at_start = prediction(generator, at=start)
    eta = prediction_at_start.efficiency_percent
    state = prediction_at_start.column
    start_utc = physics.require_aware(start, "start").astimezone(UTC)
    points = []
    for i in range(hours * 60 // step_min + 1):
        at = start_utc + timedelta(minutes=i * step_min)
        advanced = physics.column_advance(state, to=at)
        points.append(
            (
                at,
                physics.expected_eluate_mbq(
                    ga68_on_column_mbq=advanced.ga68_on_column_mbq, efficiency_percent=eta
                ),
            )
        )
    return points


# --- Warnings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratorWarning:
    code: str
    message: str
    ref: str = ""  # distinguishes occurrences (e.g. the failed test), for alert keys

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def _latest_breakthrough(generator: Generator) -> tuple[int | None, datetime | None, bool | None]:
    if hasattr(generator, "last_bt_measured_at"):
        return generator.last_bt_id, generator.last_bt_measured_at, generator.last_bt_passed
    test = (
        BreakthroughTest.objects.filter(elution__generator=generator)
        .order_by("-measured_at", "-id")
        .first()
    )
    if test is None:
        return None, None, None
    return test.pk, test.measured_at, test.passed


def generator_warnings(
    generator: Generator,
    *,
    now: datetime | None = None,
    site: SiteSettings | None = None,
) -> list[GeneratorWarning]:
    """The generator's warnings (SPEC §2.2): expired, elution count, efficiency, breakthrough.

    Pass `site` when computing for many generators, so the settings are read once.
    """
    now = now or timezone.now()
    site = site or SiteSettings.current()
    count = elution_count(generator)
    warnings: list[GeneratorWarning] = []
    if generator.expires_at <= now:
        warnings.append(
            GeneratorWarning(
                "expired",
                f"Generator expired on {timezone.localtime(generator.expires_at):%Y-%m-%d}.",
            )
        )
    if generator.max_elutions is not None and count >= generator.max_elutions:
        warnings.append(
            GeneratorWarning(
                "max_elutions",
                f"{count} elutions recorded; the generator allows {generator.max_elutions}.",
            )
        )
    if count:
        eta = efficiency_percent(generator)
        if eta < site.min_efficiency_percent:
            warnings.append(
                GeneratorWarning(
                    "low_efficiency",
                    f"Elution efficiency {eta:.1f} % is below {site.min_efficiency_percent:g} %.",
                )
            )
    test_id, tested_at, passed = _latest_breakthrough(generator)
    if passed is False:
        warnings.append(
            GeneratorWarning(
                "breakthrough_failed",
                "The last Ge-68 breakthrough test was over the "
                f"{physics.BREAKTHROUGH_LIMIT_PERCENT:g} % limit.",
                ref=str(test_id),
            )
        )
    if generator.status != GeneratorStatus.RETIRED:
        overdue_after = timedelta(days=site.breakthrough_overdue_days)
        since = tested_at or generator.received_at
        if now - since > overdue_after:
            what = (
                f"since {timezone.localtime(tested_at):%Y-%m-%d}"
                if tested_at
                else "since the generator was received"
            )
            warnings.append(
                GeneratorWarning(
                    "breakthrough_overdue",
                    f"No Ge-68 breakthrough test {what} "
                    f"(due every {site.breakthrough_overdue_days} days).",
                    ref=str(test_id or "none"),
                )
            )
    return warnings
