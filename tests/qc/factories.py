"""Factories for batch and QC tests. Generator/Elution come from tests/factories.py when the
generator area has added them there; minimal ones here otherwise."""

from datetime import timedelta

import factory

from radiopharmacy.models import Batch, Elution, Generator
from radiopharmacy.services.batches import batch_create
from tests import factories as shared
from tests.factories import REFERENCE_TIME, UserFactory


class _GeneratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generator

    manufacturer = "Eckert & Ziegler"
    model = "GalliaPharm"
    serial_number = factory.Sequence(lambda n: f"QC-GEN-{n:04d}")
    nominal_activity_mbq = 1850.0
    calibrated_at = REFERENCE_TIME - timedelta(days=90)
    received_at = REFERENCE_TIME - timedelta(days=85)
    expires_at = REFERENCE_TIME + timedelta(days=275)
    registered_by = factory.SubFactory(UserFactory, role="radiopharmacist")


class _ElutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Elution

    generator = factory.SubFactory(_GeneratorFactory)
    eluted_at = REFERENCE_TIME
    activity_mbq = 1000.0
    measured_at = factory.LazyAttribute(lambda o: o.eluted_at)
    volume_ml = 5.0
    activity_at_elution_mbq = factory.LazyAttribute(lambda o: o.activity_mbq)
    predicted_on_column_mbq = 1500.0
    efficiency_percent = 66.7
    performed_by = factory.SubFactory(UserFactory, role="radiopharmacist")


GeneratorFactory = getattr(shared, "GeneratorFactory", _GeneratorFactory)
ElutionFactory = getattr(shared, "ElutionFactory", _ElutionFactory)


def batch_inputs(**overrides) -> dict:
    """Keyword arguments for batch_create: a synthesis 10 min after a 1000 MBq elution."""
    started = overrides.pop("started_at", REFERENCE_TIME + timedelta(minutes=10))
    eos = overrides.pop("eos_at", started + timedelta(minutes=25))
    data = {
        "method": "automated",
        "module_name": "Modular-Lab eazy",
        "module_serial": "MLE-042",
        "precursor_lot": "DOTATATE-2611",
        "precursor_mass_ug": 25.0,
        "reagent_lots": [{"name": "HEPES buffer", "lot": "HB-77"}],
        "started_at": started,
        "eos_at": eos,
        "activity_mbq": 700.0,
        "measured_at": eos,
        "volume_ml": 10.0,
    }
    data.update(overrides)
    return data


class BatchFactory(factory.django.DjangoModelFactory):
    """A batch recorded through batch_create (derived numbers as the service computes them).

    Pass `elutions=[...]`; by default one 1000 MBq elution at the reference time. `status`
    forces a status afterwards (tests only: services change status through transitions).
    """

    class Meta:
        model = Batch

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        actor = kwargs.pop("operator", None) or UserFactory(role="radiopharmacist")
        status = kwargs.pop("status", None)
        data = batch_inputs(**kwargs)
        if not data.get("elutions"):
            data["elutions"] = [
                ElutionFactory(eluted_at=data["started_at"] - timedelta(minutes=10))
            ]
        batch = batch_create(actor=actor, **data)
        if status:
            Batch.objects.filter(pk=batch.pk).update(status=status)
            batch.refresh_from_db()
        return batch


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
