"""Status values and the only allowed transitions between them (one table per record type).

Services change `status` through `ensure_transition`; nothing else writes it.
"""

from django.db import models

from radiopharmacy.core.errors import StateConflict


class GeneratorStatus(models.TextChoices):
    QUARANTINE = "quarantine", "Quarantine"
    IN_USE = "in_use", "In use"
    RETIRED = "retired", "Retired"


class BatchStatus(models.TextChoices):
    IN_PRODUCTION = "in_production", "In production"
    QC_PENDING = "qc_pending", "QC pending"
    RELEASED = "released", "Released"
    REJECTED = "rejected", "Rejected"
    RECALLED = "recalled", "Recalled"


class SynthesisMethod(models.TextChoices):
    AUTOMATED = "automated", "Automated module"
    KIT = "kit", "Cold kit"


TRANSITIONS: dict[type[models.TextChoices], dict[str, set[str]]] = {
    GeneratorStatus: {
        GeneratorStatus.QUARANTINE: {GeneratorStatus.IN_USE, GeneratorStatus.RETIRED},
        GeneratorStatus.IN_USE: {GeneratorStatus.QUARANTINE, GeneratorStatus.RETIRED},
        GeneratorStatus.RETIRED: set(),
    },
    BatchStatus: {
        BatchStatus.IN_PRODUCTION: {BatchStatus.QC_PENDING, BatchStatus.REJECTED},
        BatchStatus.QC_PENDING: {BatchStatus.RELEASED, BatchStatus.REJECTED},
        BatchStatus.RELEASED: {BatchStatus.RECALLED},
        BatchStatus.REJECTED: set(),
        BatchStatus.RECALLED: set(),
    },
}


def can_transition(choices: type[models.TextChoices], current: str, target: str) -> bool:
    return target in TRANSITIONS[choices].get(current, set())


def ensure_transition(choices: type[models.TextChoices], current: str, target: str) -> None:
    if not can_transition(choices, current, target):
        raise StateConflict(
            f"Cannot go from {choices(current).label} to {choices(target).label}.",
            blocking=[f"status is {choices(current).label}"],
        )
