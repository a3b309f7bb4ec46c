"""Writes from instrument files (SPEC §2.11): a confirmed dose calibrator file fills the syringe
measurements (through dose_measure) and batch measurements (through batch_correct) it was
reviewed for, and is kept byte for byte with its SHA-256, which every audit entry of the import
names. One transaction: a refused measurement saves nothing of the file.
"""

from django.contrib.auth.models import User
from django.db import transaction

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.instrument_csv import sha256
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.services.batches import batch_correct
from scheduling.instruments.dose_calibrator import check_confirmation, propose, read_readings
from scheduling.models import DoseCalibratorFile, DoseCalibratorReading
from scheduling.services.doses import dose_measure


def _file_changes(file: DoseCalibratorFile) -> dict:
    return {
        name: {"old": None, "new": getattr(file, name)}
        for name in ("filename", "sha256", "size_bytes")
    }


@transaction.atomic
def dose_calibrator_import(
    *, actor: User, filename: str, content: bytes, accept: dict[int, str]
) -> DoseCalibratorFile:
    """Save the reviewed readings of a dose calibrator file.

    `accept` is {line: target} with the targets the review proposed ("dose:<id>",
    "batch:<id>"); the file is read and matched again, and a line that no longer proposes the
    same target is a 400, so what is saved is what the radiopharmacist saw.
    """
    readings = read_readings(content)
    chosen = check_confirmation(propose(readings), accept)
    digest = sha256(content)
    file = DoseCalibratorFile.objects.create(
        filename=(filename or "dose-calibrator.csv").replace("\x00", "")[:200],
        content=content,
        sha256=digest,
        size_bytes=len(content),
        uploaded_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.CREATED, obj=file, changes=_file_changes(file))
    for proposal in chosen:
        reading = proposal.reading
        where = f"dose calibrator {reading.calibrator}, file {digest}, line {reading.line}"
        try:
            if proposal.dose is not None:
                dose_measure(
                    actor=actor,
                    dose_id=proposal.dose.pk,
                    activity_mbq=reading.activity_mbq,
                    measured_at=reading.measured_at,
                )
            else:
                batch_correct(
                    actor=actor,
                    batch_id=proposal.batch.pk,
                    changes={
                        "activity_mbq": reading.activity_mbq,
                        "measured_at": reading.measured_at,
                    },
                    reason=f"Measured on the {where}.",
                )
        except ApplicationError as exc:
            # Name the line: the whole import is rolled back with this error.
            message = (
                f"Line {reading.line} ({reading.activity_mbq:.1f} MBq at "
                f"{site_time(reading.measured_at)}): {exc.message}"
            )
            if isinstance(exc, StateConflict):
                raise StateConflict(message, **exc.extra) from None
            raise type(exc)(message, fields=exc.fields, **exc.extra) from None
        row = DoseCalibratorReading.objects.create(
            file=file,
            line=reading.line,
            dose=proposal.dose,
            batch=proposal.batch,
            calibrator=reading.calibrator,
            nuclide=reading.nuclide,
            activity_mbq=reading.activity_mbq,
            measured_at=reading.measured_at,
        )
        changes = audit.created(row)
        changes["file_sha256"] = {"old": None, "new": digest}
        audit.record(actor=actor, action=AuditAction.CREATED, obj=row, changes=changes)
    return file
