from .audit import AuditEvent
from .operations import Alert, OutboxJob
from .preferences import UserPreference
from .production import Batch, BreakthroughTest, Elution, Generator, Product, SiteSettings

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
