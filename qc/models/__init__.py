"""QC models: specifications (versioned), results and deviations; release records append here."""

from .release import BatchSignature, Certificate, SignatureDecision
from .results import Deviation, QcResult
from .specs import Specification, SpecificationTest

__all__ = [
    "BatchSignature",
    "Certificate",
    "Deviation",
    "QcResult",
    "SignatureDecision",
    "Specification",
    "SpecificationTest",
]
