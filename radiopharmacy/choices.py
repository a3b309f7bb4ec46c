"""Statuses of the production records and the only allowed transitions between them.

Services change `status` through `radiopharmacy.core.status.transition`; nothing else writes it.
"""

from django.db import models

from radiopharmacy.core.status import register_transitions


class GeneratorStatus(models.TextChoices):
    QUARANTINE = "quarantine", "Quarantine"
    IN_USE = "in_use", "In use"
    RETIRED = "retired", "Retired"


class BatchStatus(models.TextChoices):
    IN_PRODUCTION = "in_production", "In production"
    QC_PENDING = "qc_pending", "QC pending"
    RELEASED = "released", "Released"
    ON_HOLD = "on_hold", "On hold"
    REJECTED = "rejected", "Rejected"
    RECALLED = "recalled", "Recalled"


class SynthesisMethod(models.TextChoices):
    AUTOMATED = "automated", "Automated module"
    KIT = "kit", "Cold kit"


register_transitions(
    GeneratorStatus,
    {
        GeneratorStatus.QUARANTINE: {GeneratorStatus.IN_USE, GeneratorStatus.RETIRED},
        GeneratorStatus.IN_USE: {GeneratorStatus.QUARANTINE, GeneratorStatus.RETIRED},
        GeneratorStatus.RETIRED: set(),
    },
)
register_transitions(
    BatchStatus,
    {
        BatchStatus.IN_PRODUCTION: {BatchStatus.QC_PENDING, BatchStatus.REJECTED},
        BatchStatus.QC_PENDING: {BatchStatus.RELEASED, BatchStatus.REJECTED},
        # a failing post-release test holds the batch at once; the qualified person decides
        BatchStatus.RELEASED: {BatchStatus.ON_HOLD, BatchStatus.RECALLED},
        BatchStatus.ON_HOLD: {BatchStatus.RECALLED, BatchStatus.RELEASED},
        BatchStatus.REJECTED: set(),
        BatchStatus.RECALLED: set(),
    },
)
