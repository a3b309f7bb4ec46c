"""QC models: specifications (versioned), results and deviations; release records append here."""

from qc.models.release import BatchSignature, Certificate, SignatureDecision
from qc.models.results import Capa, Deviation, Investigation, QcResult
from qc.models.specs import Specification, SpecificationTest

__all__ = [
    "BatchSignature",
    "Capa",
    "Certificate",
    "Deviation",
    "Investigation",
    "QcResult",
    "SignatureDecision",
    "Specification",
    "SpecificationTest",
]
