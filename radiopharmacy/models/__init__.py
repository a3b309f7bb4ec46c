from radiopharmacy.core.models import (
    Alert,
    AuditCheckpoint,
    AuditEvent,
    AuditReview,
    OutboxJob,
)
from radiopharmacy.models.preferences import UserPreference
from radiopharmacy.models.production import (
    Batch,
    BatchElution,
    BreakthroughTest,
    Elution,
    Generator,
    Product,
    SiteSettings,
)

__all__ = [
    "Alert",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditReview",
    "Batch",
    "BatchElution",
    "BreakthroughTest",
    "Elution",
    "Generator",
    "OutboxJob",
    "Product",
    "SiteSettings",
    "UserPreference",
]
