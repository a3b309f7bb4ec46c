"""The inspector export of a batch (SPEC §2.10): one ZIP for an auditor, a qualified person or an
inspector, each piece of which can be checked offline (`qc.inspector_verify`,
`manage.py verify_export`).

It holds the canonical JSON of every signed record of the batch with the hash its signature
stored, the certificate PDF with its hash (and the trust root of its PAdES signature), the
batch's audit entries (the batch and everything linked to it, `batch_audit_events`) with their
hashes, the links of the chain from the batch's first entry to a signed checkpoint, that
checkpoint, a manifest with the SHA-256 of every file, and a README on how to verify each piece.

It lives in the site layer: it reads production, QC and scheduling records (the batch page's
own definition of what belongs to a batch).
"""

import io
import json
import textwrap
import zipfile
from datetime import UTC

from django.utils import timezone

import radiopharmacy
from qc import inspector_verify as layout
from qc.models import BatchSignature, Certificate
from qc.services.certificates import certificate_bytes, trust_root_pem
from qc.services.release import DISPOSITION_DECISIONS
from radiopharmacy.core import audit
from radiopharmacy.core.errors import StateConflict
from radiopharmacy.core.models import AuditCheckpoint, AuditEvent
from radiopharmacy.models import Batch
from radiopharmacy.site.audit_trail import batch_audit_events
from radiopharmacy.site.batch_record_pdf import batch_record_pdf


def _json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _jsonl_bytes(rows) -> bytes:
    return "".join(
        json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows
    ).encode("utf-8")


def entry_row(event: AuditEvent) -> dict:
    """An entry as stored, in JSON: what its hash covers, the hash, the link and the HMAC."""
    row = {name: getattr(event, name) for name in audit.ENTRY_COLUMNS}
    row["occurred_at"] = audit.jsonable(event.occurred_at)
    row["changes"] = audit.jsonable(event.changes)
    return row


def covering_checkpoint(last_entry_id: int) -> AuditCheckpoint:
    """The first signed checkpoint at or after the entry (one is written now if none is yet)."""

    def first():
        rows = AuditCheckpoint.objects.filter(last_entry_id__gte=last_entry_id).order_by(
            "last_entry_id", "id"
        )
        return next((r for r in rows[:20] if audit.Checkpoint.of_row(r).signed), None)

    found = first()
    if found is None:
        audit.checkpoint_write()
        found = first()
    if found is None:
        raise StateConflict(
            "No signed checkpoint of the audit trail covers this batch's entries.",
            blocking=["the audit checkpoint could not be written"],
        )
    return found


def export_files(batch: Batch) -> dict[str, bytes]:
    """Every file of the export but the manifest, by name."""
    signatures = list(BatchSignature.objects.filter(batch=batch).order_by("signed_at", "id"))
    if not any(s.decision in DISPOSITION_DECISIONS for s in signatures):
        raise StateConflict(
            f"Batch {batch.batch_number} has no signed record yet: nothing to export.",
            blocking=["not released or rejected"],
        )
    files: dict[str, bytes] = {}
    listed = []
    for signature in signatures:
        name = layout.record_file(signature.pk, signature.decision)
        files[name] = signature.record_json.encode("utf-8")
        listed.append(
            {
                "id": signature.pk,
                "decision": signature.decision,
                "meaning": signature.meaning,
                "printed_name": signature.printed_name,
                "user_id": signature.user_id,
                "signed_at": audit.jsonable(signature.signed_at),
                "comment": signature.comment,
                "record_sha256": signature.record_sha256,
                "record_file": name,
            }
        )
    files[layout.SIGNATURES] = _json_bytes(listed)

    certificate = Certificate.objects.filter(batch=batch).first()
    if certificate is not None:
        files[layout.CERTIFICATE_PDF] = certificate_bytes(certificate)  # 409 if it was changed
        files[layout.CERTIFICATE_JSON] = _json_bytes(
            {
                "certificate_number": certificate.certificate_number,
                "sha256": certificate.sha256,
                "signature_id": certificate.signature_id,
                "rendered_at": audit.jsonable(certificate.rendered_at),
            }
        )
        files[layout.TRUST_ROOT] = trust_root_pem()

    events = list(batch_audit_events(batch))
    files[layout.ENTRIES] = _jsonl_bytes(entry_row(e) for e in events)
    checkpoint = covering_checkpoint(events[-1].pk if events else 0)
    first_id = events[0].pk if events else checkpoint.last_entry_id
    links = AuditEvent.objects.filter(id__gte=first_id, id__lte=checkpoint.last_entry_id).order_by(
        "id"
    )
    files[layout.CHAIN] = _jsonl_bytes(
        {"id": i, "prev_hash": p, "hash": h, "hmac": m}
        for i, p, h, m in links.values_list("id", "prev_hash", "hash", "hmac").iterator(
            chunk_size=2000
        )
    )
    signed = audit.Checkpoint.of_row(checkpoint)
    files[layout.CHECKPOINT] = _json_bytes({**signed.payload(), "hmac": signed.hmac})
    files[layout.README] = readme(batch, certificate is not None)
    return files


def inspector_export(*, batch_id: int, actor) -> tuple[str, bytes]:
    """(file name, ZIP bytes) of the batch's export. 409 while the batch has no signed record."""
    batch = Batch.objects.select_related("product").get(pk=batch_id)
    files = export_files(batch)
    # The record as people read it, for the inspector's file; the signed JSON is the evidence.
    files[layout.BATCH_RECORD_PDF] = batch_record_pdf(batch, printed_by=actor)
    now = timezone.now().astimezone(UTC)
    manifest = {
        "format": layout.EXPORT_FORMAT,
        "batch_id": batch.pk,
        "batch_number": batch.batch_number,
        "exported_at": now.isoformat(),
        "exported_by": actor.get_username(),
        "software_version": radiopharmacy.__version__,
        "files": {name: layout.sha256_hex(data) for name, data in sorted(files.items())},
    }
    buffer = io.BytesIO()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(layout.MANIFEST, _json_bytes(manifest)), *sorted(files.items())]:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return f"inspector-export-{batch.batch_number}.zip", buffer.getvalue()


def readme(batch: Batch, has_certificate: bool) -> bytes:
    fields = textwrap.fill(", ".join(audit.HASHED_FIELDS), width=88, subsequent_indent="    ")
    certificate = "\n(No certificate: the batch was not released.)\n"
    if has_certificate:
        pdf, meta, root = layout.CERTIFICATE_PDF, layout.CERTIFICATE_JSON, layout.TRUST_ROOT
        certificate = f"""
{pdf}
    The release certificate as issued. Its SHA-256 is in {meta} and is
    printed under the QR code; anyone can check it at the site's /verify/<sha256> page.
    The PDF carries a PAdES signature of the site; {root} is the root it
    chains to. Check it with any PDF reader or:
        pyhanko sign validate --trust {root} {pdf}
    Compare the root's fingerprint with one the site gives you by another channel.
"""
    text = f"""Inspector export of batch {batch.batch_number} (Gallium {radiopharmacy.__version__})
==========================================================================

Every file below can be verified offline. In one step, with the Gallium software of this
version (no database needed):

    python -m qc.inspector_verify <this file>.zip

or, at the site (which also checks the HMAC signatures of the audit entries with the site's
key, kept out of the database):

    python manage.py verify_export <this file>.zip

Each prints one line per piece, OK or what is wrong, and exits non-zero if anything is wrong.
By hand:

{layout.MANIFEST}
    The SHA-256 of every other file (sha256sum <file>). A changed, missing or added file shows.

{layout.BATCH_RECORD_PDF}
    The batch record as people read it, printed at export time. It is a reading copy: the
    evidence is the signed record files below.

{layout.SIGNATURES} and record/signature-<id>-<decision>.json
    Each signature of the batch record (release or rejection, then any recall or hold lifted):
    who signed (printed name), when (UTC), the meaning, and the SHA-256 of the record signed.
    The record file is that record, exactly the bytes signed (canonical JSON: UTF-8, sorted
    keys, no spaces): its SHA-256 must equal record_sha256.
{certificate}
{layout.ENTRIES}
    The audit-trail entries of the batch and of everything linked to it (elutions, QC results,
    quality events, signatures, certificate, doses), one JSON object a line. Each entry's hash
    is the SHA-256 of the canonical JSON (UTF-8, sorted keys, separators "," and ":", no
    ASCII escaping) of the object made of its fields
    {fields};
    prev_hash is the hash of the entry before it in the site's trail.

{layout.CHAIN}
    The links of the trail (id, prev_hash, hash, hmac) from the batch's first entry to the
    checkpoint below, entries of other records included without their content: every id is
    there once, and each prev_hash equals the hash of the line before.

{layout.CHECKPOINT}
    A checkpoint of the trail written outside the database: its last entry's id and hash
    (head_hash) and the number of entries then. The chain above ends at that entry with that
    hash. Its hmac, like the entries', is checked with the site's key only.
"""
    return text.encode("utf-8")
