from radiopharmacy.core.models import Alert, AuditEvent, OutboxJob
from radiopharmacy.models.preferences import UserPreference
from radiopharmacy.models.production import (
    Batch,
    BreakthroughTest,
    Elution,
    Generator,
    Product,
    SiteSettings,
)

__all__ = [
    "Alert",
    "AuditEvent",
    "Batch",
    "BreakthroughTest",
    "Elution",
    "Generator",
    "OutboxJob",
    "Product",
    "SiteSettings",
    "UserPreference",
]
