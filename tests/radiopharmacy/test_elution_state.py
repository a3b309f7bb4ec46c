"""The column state stored with each elution (SPEC §2.2): a prediction starts from the latest
elution's stored state, and is exactly what replaying the whole history gives."""

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiopharmacy import physics
from radiopharmacy.models import Elution, Generator
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.services.elutions import (
    STATE_FIELDS,
    elution_correct,
    elution_record,
    elution_states_refresh,
)
from tests.factories import REFERENCE_TIME, GeneratorFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + timedelta(days=30)


def _replay(generator: Generator, at):
    """The column and η the way they were computed before the states were stored: the pure
    replay of every current elution of the generator."""
    history = list(
        selectors.current_elutions_queryset()
        .filter(generator=generator)
        .order_by("eluted_at", "id")
    )
    column = physics.column_state(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=selectors.elution_records(history),
        at=at,
    )
    eta = physics.efficiency_estimate_percent(
        [e.efficiency_percent for e in history],
        nominal_percent=generator.nominal_efficiency_percent,
    )
    return column, eta, history


def _assert_stored_equals_replay(generator: Generator, moments) -> None:
    column_replayed_states = None
    for at in moments:
        column, eta, history = _replay(generator, at)
        fresh = selectors.generator_get(generator_id=generator.pk)
        predicted = selectors.prediction(fresh, at=at)
        # Identical floats, not approximately equal: the same arithmetic on the same values.
        assert predicted.ga68_on_column_mbq == column.ga68_on_column_mbq
        assert predicted.ge68_activity_mbq == column.ge68_activity_mbq
        assert predicted.last_elution_at == column.last_elution_at
        assert predicted.efficiency_percent == eta
        assert predicted.expected_eluate_mbq == physics.expected_eluate_mbq(
            ga68_on_column_mbq=column.ga68_on_column_mbq, efficiency_percent=eta
        )
        assert selectors.elution_count(fresh) == len(history)
        column_replayed_states = history
    states = physics.elution_states(
        nominal_activity_mbq=generator.nominal_activity_mbq,
        calibrated_at=generator.calibrated_at,
        elutions=selectors.elution_records(column_replayed_states),
    )
    estimates = physics.running_efficiency_estimates(
        [e.efficiency_percent for e in column_replayed_states],
        nominal_percent=generator.nominal_efficiency_percent,
    )
    for number, (elution, state, estimate) in enumerate(
        zip(column_replayed_states, states, estimates, strict=True), start=1
    ):
        assert elution.column_residual_mbq == state.residual_mbq
        assert elution.efficiency_estimate_percent == estimate
        assert elution.elution_number == number


def _record(generator, actor, *, eluted_at, activity_mbq=900.0):
    with time_machine.travel(NOW, tick=False):
        return elution_record(
            actor=actor,
            generator_id=generator.pk,
            eluted_at=eluted_at,
            activity_mbq=activity_mbq,
            measured_at=eluted_at + timedelta(minutes=5),
            volume_ml=5.0,
        )


# --- Stored state equals the replay -------------------------------------------------------------

step = st.tuples(
    st.sampled_from(["record", "record", "record", "correct"]),
    st.integers(min_value=0, max_value=29 * 24 * 60),  # minute of the month of elutions
    st.floats(min_value=50.0, max_value=1800.0, allow_nan=False),
    st.integers(min_value=0, max_value=1000),  # which elution a correction picks
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12), probe=st.integers(0, 31 * 24 * 60))
def test_stored_states_give_exactly_the_replay_over_random_histories(steps, probe):
    """Elutions recorded in any order (back-dated ones too) and corrected (time or activity):
    every prediction from the stored states is identical to the replay of the whole history."""
    actor = UserFactory(role="radiopharmacist")
    generator = GeneratorFactory(
        calibrated_at=REFERENCE_TIME - timedelta(days=20),
        received_at=REFERENCE_TIME - timedelta(days=10),
    )
    used = set()
    for action, minute, activity, pick in steps:
        eluted_at = REFERENCE_TIME + timedelta(minutes=minute)
        if eluted_at in used:
            continue
        current = list(selectors.current_elutions_queryset().filter(generator=generator))
        if action == "correct" and current:
            target = sorted(current, key=lambda e: e.pk)[pick % len(current)]
            used.discard(target.eluted_at)
            used.add(eluted_at)
            with time_machine.travel(NOW, tick=False):
                elution_correct(
                    actor=actor,
                    elution_id=target.pk,
                    reason="Typed the wrong time and activity.",
                    eluted_at=eluted_at,
                    activity_mbq=activity,
                    measured_at=eluted_at + timedelta(minutes=3),
                )
        else:
            used.add(eluted_at)
            _record(generator, actor, eluted_at=eluted_at, activity_mbq=activity)
    moments = [
        REFERENCE_TIME + timedelta(minutes=probe),
        NOW,
        *[t + timedelta(microseconds=1) for t in sorted(used)[:3]],
        *sorted(used)[:2],  # at an elution's own time it does not count yet
    ]
    _assert_stored_equals_replay(generator, moments)


def test_a_corrected_elution_recomputes_the_stored_states_after_it():
    actor = UserFactory(role="radiopharmacist")
    generator = GeneratorFactory()
    times = [REFERENCE_TIME - timedelta(hours=h) for h in (10, 8, 6, 4, 2)]
    elutions = [_record(generator, actor, eluted_at=t) for t in times]
    before = {e.pk: e.column_residual_mbq for e in Elution.objects.filter(generator=generator)}
    with time_machine.travel(NOW, tick=False):
        corrected = elution_correct(
            actor=actor,
            elution_id=elutions[1].pk,
            reason="Read 600 MBq, not 900.",
            activity_mbq=600.0,
        )
    # The elutions after the corrected one follow a different history now: more was left.
    for later in elutions[2:]:
        later.refresh_from_db()
        assert later.column_residual_mbq > before[later.pk]
    elutions[0].refresh_from_db()
    assert elutions[0].column_residual_mbq == before[elutions[0].pk]
    assert corrected.elution_number == 2
    # The superseded one keeps the state it had when it counted.
    elutions[1].refresh_from_db()
    assert elutions[1].column_residual_mbq == before[elutions[1].pk]
    _assert_stored_equals_replay(generator, [NOW, times[3]])


def test_a_correction_moving_an_elution_later_renumbers_the_ones_in_between():
    actor = UserFactory(role="radiopharmacist")
    generator = GeneratorFactory()
    times = [REFERENCE_TIME - timedelta(hours=h) for h in (50, 30, 10)]
    first, _, _ = [_record(generator, actor, eluted_at=t) for t in times]
    with time_machine.travel(NOW, tick=False):
        moved = elution_correct(
            actor=actor,
            elution_id=first.pk,
            reason="Wrong day typed.",
            eluted_at=REFERENCE_TIME - timedelta(hours=2),
            measured_at=REFERENCE_TIME - timedelta(hours=2),
        )
    assert moved.elution_number == 3
    _assert_stored_equals_replay(generator, [NOW, REFERENCE_TIME - timedelta(hours=20)])


# --- One read, whatever the length of the history ---------------------------------------------


def _generator_with_elutions(count: int) -> Generator:
    """A generator with `count` elutions (bulk-created, then their states derived once)."""
    actor = UserFactory(role="radiopharmacist")
    generator = GeneratorFactory(
        calibrated_at=REFERENCE_TIME - timedelta(days=300),
        received_at=REFERENCE_TIME - timedelta(days=299),
    )
    start = REFERENCE_TIME - timedelta(days=298)
    Elution.objects.bulk_create(
        Elution(
            generator=generator,
            eluted_at=start + timedelta(hours=7 * i),
            activity_mbq=800.0,
            measured_at=start + timedelta(hours=7 * i),
            volume_ml=5.0,
            activity_at_elution_mbq=800.0,
            predicted_on_column_mbq=1200.0,
            efficiency_percent=66.0 + i % 3,
            column_residual_mbq=0.0,
            efficiency_estimate_percent=0.0,
            elution_number=0,
            performed_by=actor,
        )
        for i in range(count)
    )
    with CaptureQueriesContext(connection):
        assert elution_states_refresh(generator=generator) == count
    return generator


def _prediction_queries(generator: Generator, at) -> int:
    with CaptureQueriesContext(connection) as queries:
        fresh = selectors.generator_get(generator_id=generator.pk)
        predicted = selectors.prediction(fresh, at=at)
        selectors.expected_eluate_curve(fresh, start=at, prediction_at_start=predicted)
        selectors.generator_warnings(fresh, now=at)
    return len(queries.captured_queries)


def test_a_prediction_costs_the_same_queries_with_1000_elutions_as_with_10(monkeypatch):
    small, large = _generator_with_elutions(10), _generator_with_elutions(1000)

    def no_replay(*args, **kwargs):
        raise AssertionError("the history was replayed")

    # Neither the replay of the column nor the mean over the elutions runs.
    monkeypatch.setattr(physics, "column_state", no_replay)
    monkeypatch.setattr(physics, "_walk", no_replay)
    monkeypatch.setattr(physics, "efficiency_estimate_percent", no_replay)
    monkeypatch.setattr(selectors, "elutions_of", no_replay)
    assert _prediction_queries(small, NOW) == _prediction_queries(large, NOW)
    # In the past too: the latest elution before that moment, one more query.
    past = REFERENCE_TIME - timedelta(days=298, hours=-30)  # in the middle of both histories
    assert _prediction_queries(small, past) == _prediction_queries(large, past)


def test_the_migration_derives_the_same_states_as_the_service():
    from importlib import import_module

    migration = import_module("radiopharmacy.migrations.0010_elution_state")
    actor = UserFactory(role="radiopharmacist")
    generator = GeneratorFactory()
    times = [REFERENCE_TIME - timedelta(hours=h) for h in (80, 60, 40, 20, 3)]
    elutions = [_record(generator, actor, eluted_at=t) for t in times]
    with time_machine.travel(NOW, tick=False):
        elution_correct(actor=actor, elution_id=elutions[2].pk, reason="Typo.", activity_mbq=500.0)
    expected = {e.pk: tuple(getattr(e, f) for f in STATE_FIELDS) for e in Elution.objects.all()}
    Elution.objects.update(column_residual_mbq=0.0, efficiency_estimate_percent=0.0)
    migration.derive_states(django_apps, None)
    assert {
        e.pk: tuple(getattr(e, f) for f in STATE_FIELDS) for e in Elution.objects.all()
    } == expected


# --- Lists ---------------------------------------------------------------------------------------


def test_the_generator_list_leaves_retired_generators_out_unless_asked():
    active = GeneratorFactory()
    retired = GeneratorFactory(status="retired")
    assert list(selectors.generator_list()) == [active]
    assert list(selectors.generator_list(status="retired")) == [retired]
    assert set(selectors.generator_list(status=selectors.ALL_STATUSES)) == {active, retired}


def test_the_generator_list_reads_no_elution_rows():
    _generator_with_elutions(30)
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.generator_list())
        for generator in rows:
            selectors.prediction(generator, at=NOW)
            selectors.efficiency_percent(generator)
            selectors.elution_count(generator)
    assert len(queries.captured_queries) == 1


def test_the_generator_page_lists_retired_generators_only_when_asked(client, auditor):
    active = GeneratorFactory(serial_number="GP-ACTIVE")
    retired = GeneratorFactory(serial_number="GP-RETIRED", status="retired")
    client.force_login(auditor)
    default = client.get("/generators/").content.decode()
    assert active.serial_number in default and retired.serial_number not in default
    everything = client.get("/generators/", {"status": "all"}).content.decode()
    assert active.serial_number in everything and retired.serial_number in everything
