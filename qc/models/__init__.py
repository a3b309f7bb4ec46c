"""QC models: specifications (versioned), results and deviations; release records append here."""

from .results import Deviation, QcResult
from .specs import Specification, SpecificationTest

__all__ = ["Deviation", "QcResult", "Specification", "SpecificationTest"]
