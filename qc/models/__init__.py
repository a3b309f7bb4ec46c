"""QC models: specifications (versioned), results and deviations; release records append here."""

from qc.models.instruments import RadioTlcFile
from qc.models.release import BatchSignature, Certificate, SignatureDecision
from qc.models.results import Capa, Deviation, Investigation, QcResult
from qc.models.review import QualityReview
from qc.models.specs import Specification, SpecificationTest

__all__ = [
    "BatchSignature",
    "Capa",
    "Certificate",
    "Deviation",
    "Investigation",
    "QcResult",
    "QualityReview",
    "RadioTlcFile",
    "SignatureDecision",
    "Specification",
    "SpecificationTest",
]
