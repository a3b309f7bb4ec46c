"""Prediction benchmark: `python -m tests.bench.prediction` (`make bench-prediction`).

The cost of one prediction of a generator's column from its recorded history (the replay of
every elution, as before the state was stored with each elution) and from the state stored with
its latest elution (what the selectors do now), at 10, 100, 1,500 and 5,000 elutions, with the
pure model only (no database). It prints the median time of each and asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from radiopharmacy import physics

CALIBRATED_AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _history(count: int) -> list[physics.ElutionRecord]:
    start = CALIBRATED_AT + timedelta(days=2)
    return [
        physics.ElutionRecord(
            eluted_at=start + timedelta(hours=5 * i), activity_at_elution_mbq=700.0 + i % 7
        )
        for i in range(count)
    ]


def _median_ms(work, repeat: int = 25) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    print(f"{'elutions':>9} {'replay ms':>10} {'stored ms':>10}")
    for count in (10, 100, 1500, 5000):
        history = _history(count)
        at = history[-1].eluted_at + timedelta(hours=3)
        last = physics.elution_states(
            nominal_activity_mbq=1850.0, calibrated_at=CALIBRATED_AT, elutions=history
        )[-1]
        replay = _median_ms(
            lambda h=history, t=at: physics.column_state(
                nominal_activity_mbq=1850.0, calibrated_at=CALIBRATED_AT, elutions=h, at=t
            )
        )
        stored = _median_ms(
            lambda s=last, t=at: physics.column_state_after(
                nominal_activity_mbq=1850.0, calibrated_at=CALIBRATED_AT, last=s, at=t
            )
        )
        print(f"{count:>9} {replay:>10.3f} {stored:>10.4f}")


if __name__ == "__main__":
    main()
