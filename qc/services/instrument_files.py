"""Writes from instrument files (SPEC §2.11): a radio-TLC report records the RCP and colloid
results of a batch (through qc_result_record, so they are judged, and a failure opens its OOS)
and is kept byte for byte, attached to them, its SHA-256 in the audit entry. One transaction: a
refused result saves nothing of the report.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from qc.instruments.radio_tlc import read_report, result_values
from qc.models import QcResult, RadioTlcFile
from qc.services.results import qc_result_record
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import NotFound
from radiopharmacy.core.instrument_csv import sha256
from radiopharmacy.models import Batch


@transaction.atomic
def radio_tlc_import(
    *,
    actor: User,
    batch_id: int,
    filename: str,
    content: bytes,
    performed_at: datetime,
    instrument: str = "",
    reason: str = "",
) -> tuple[RadioTlcFile, list[QcResult]]:
    """Record the results of a radio-TLC report on a batch and attach the raw file to them.

    A test that has a result already is corrected by this one, which then needs `reason`.
    """
    if not Batch.objects.filter(pk=batch_id).exists():
        raise NotFound(f"No batch {batch_id}.")
    report = read_report(content)
    digest = sha256(content)
    filename = (filename or "radio-tlc.csv").replace("\x00", "")[:200]
    details = (
        f"radio-TLC report {filename} (SHA-256 {digest}): "
        + "; ".join(f"{p.region} {p.area:g} ({p.percent:.2f} %)" for p in report.peaks)
        + f"; total {report.total_area:g}"
    )
    results = []
    for test, value in result_values(report).items():
        latest = (
            QcResult.objects.filter(batch_id=batch_id, test_code=test, superseded_by__isnull=True)
            .order_by("-id")
            .first()
        )
        results.append(
            qc_result_record(
                actor=actor,
                batch_id=batch_id,
                test=test,
                value=value,
                performed_at=performed_at,
                unit="%",
                method_details=details[:2000],
                instrument=(instrument or "radio-TLC scanner")[:120],
                supersedes=latest.pk if latest else None,
                reason=reason,
            )
        )
    file = RadioTlcFile.objects.create(
        batch_id=batch_id,
        filename=filename,
        content=content,
        sha256=digest,
        size_bytes=len(content),
        uploaded_by=actor,
    )
    file.results.set(results)
    changes = {
        name: {"old": None, "new": getattr(file, name)}
        for name in ("batch_id", "filename", "sha256", "size_bytes")
    }
    changes["results"] = {"old": None, "new": [r.pk for r in results]}
    audit.record(actor=actor, action=AuditAction.CREATED, obj=file, changes=changes)
    return file, results
