"""What the quality review (qc) needs from scheduling: the patients each generator served.

Named by settings.QUALITY_REVIEW_PATIENTS, so qc calls it without importing this layer.
"""

from datetime import datetime

from django.db.models import Count

from scheduling.choices import DoseStatus
from scheduling.models import Dose


def patients_served_per_generator(*, start: datetime, end: datetime) -> dict[int, int]:
    """{generator id: administered doses} for doses injected in [start, end), counted once per
    generator whose eluate made the batch."""
    rows = (
        Dose.objects.filter(
            status=DoseStatus.ADMINISTERED, injected_at__gte=start, injected_at__lt=end
        )
        .values("batch__elutions__generator")
        .annotate(n=Count("id", distinct=True))
    )
    return {
        r["batch__elutions__generator"]: r["n"] for r in rows if r["batch__elutions__generator"]
    }
