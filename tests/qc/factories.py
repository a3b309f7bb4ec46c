"""QC test helpers. Batch, Generator and Elution factories live in tests/factories.py."""

from datetime import timedelta

from tests.factories import (  # noqa: F401 - re-exported for the QC tests
    BatchFactory,
    ElutionFactory,
    GeneratorFactory,
    batch_inputs,
)

# Passing values for every release test of the default specification (REFERENCE §3).
PASSING_RELEASE_VALUES = {
    "appearance": "pass",
    "ph": 6.0,
    "rcp_itlc": 98.5,
    "colloid_itlc": 1.0,
    "free_ga68": 0.5,
    "half_life": 68.0,
    "gamma_spectrum": "pass",
    "filter_integrity": 3600.0,
    "endotoxin": 2.0,
    "ethanol": 5.0,
    "hepes": 10.0,
    "peptide_mass": 3.0,
}
PASSING_POST_RELEASE_VALUES = {"ge68_breakthrough": 0.0001, "sterility": "pass"}


def record_passing_release_results(batch, actor, *, skip=(), performed_at=None):
    """Every applicable release test of the batch with a passing result."""
    from qc.services.results import qc_result_record

    performed_at = performed_at or batch.eos_at + timedelta(minutes=15)
    results = []
    for code, value in PASSING_RELEASE_VALUES.items():
        if code in skip or (code == "ethanol" and batch.method == "kit"):
            continue
        if code == "ph" and batch.method == "kit":
            value = 3.5
        results.append(
            qc_result_record(
                actor=actor, batch_id=batch.pk, test=code, value=value, performed_at=performed_at
            )
        )
    return results
