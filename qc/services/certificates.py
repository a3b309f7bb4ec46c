"""Release certificates (SPEC §2.5): render and store the PDF of a release once, and look up what
a verification code names.

The PDF itself is drawn by the pure renderer `qc.certificate_pdf` from the record as signed; this
module checks that record against its hash and supplies the site's address and zone.
"""

import json
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from qc.certificate_pdf import Signature, render_pdf
from qc.models import BatchSignature, Certificate, SignatureDecision
from qc.services.release import DISPOSITION_DECISIONS, sha256_hex
from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.errors import ApplicationError, StateConflict
from radiopharmacy.core.sitetime import site_zone


def release_signature(batch) -> BatchSignature | None:
    """The batch's release or rejection signature, if it has one."""
    return (
        BatchSignature.objects.filter(batch=batch, decision__in=DISPOSITION_DECISIONS)
        .select_related("user")
        .order_by("id")
        .first()
    )


def certificate_number(batch_number: str) -> str:
    return f"CERT-{batch_number}"


def signed_record(signature: BatchSignature) -> dict:
    """The record as signed; raises if it no longer matches its hash (tampering)."""
    if sha256_hex(signature.record_json.encode("utf-8")) != signature.record_sha256:
        raise StateConflict(
            "The signed batch record does not match its SHA-256.",
            blocking=[f"signature {signature.pk} record hash mismatch"],
        )
    return json.loads(signature.record_json)


def render_certificate(signature: BatchSignature, *, number: str) -> bytes:
    """The certificate PDF of a release signature. Same signature, same bytes."""
    return render_pdf(
        signed_record(signature),
        Signature(
            meaning=signature.meaning,
            printed_name=signature.printed_name,
            signed_at=signature.signed_at,
            comment=signature.comment,
            record_sha256=signature.record_sha256,
        ),
        number=number,
        site_url=settings.SITE_URL,
        zone=site_zone(),
    )


def certificate_render(*, signature_id: int) -> Certificate:
    """Render and store the certificate of a release signature, once.

    Safe to run twice (redelivery, sweeper): an existing certificate is returned unchanged, and
    the one-to-one constraint settles two renders racing.
    """
    existing = Certificate.objects.filter(signature_id=signature_id).first()
    if existing is not None:
        return existing
    signature = BatchSignature.objects.select_related("batch").get(pk=signature_id)
    if signature.decision != SignatureDecision.RELEASE:
        raise ApplicationError("Only a release has a certificate.")
    number = certificate_number(signature.batch.batch_number)
    pdf = render_certificate(signature, number=number)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                batch=signature.batch,
                signature=signature,
                certificate_number=number,
                pdf=pdf,
                sha256=sha256_hex(pdf),
                rendered_at=timezone.now(),
            )
            audit.record(
                actor=None,
                action=AuditAction.CERTIFICATE_RENDERED,
                obj=certificate,
                changes=audit.diff(
                    {},
                    audit.snapshot(
                        certificate, ["batch_id", "signature_id", "certificate_number", "sha256"]
                    ),
                ),
            )
    except IntegrityError:
        return Certificate.objects.get(signature_id=signature_id)
    return certificate


SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
SHA256_MESSAGE = "Give the SHA-256 printed on the certificate: 64 hexadecimal characters."
# Who signed, as the public check states it: the role, as printed on the certificate, never
# the person's name (SPEC §2.5: anyone with the hash can verify).
SIGNER_ROLE = "Qualified Person"


def is_sha256(code: str) -> bool:
    return bool(SHA256_PATTERN.fullmatch((code or "").strip().lower()))


def verify_code(code: str) -> tuple[Certificate | None, BatchSignature | None]:
    """Look up what a verification code names: the PDF's SHA-256 or the signed record's SHA-256
    (printed on the certificate and in its QR code). Only a SHA-256: a certificate number is
    guessable, so it verifies nothing."""
    lowered = (code or "").strip().lower()
    if not is_sha256(lowered):
        return None, None
    certificate = (
        Certificate.objects.select_related("signature", "batch__product")
        .filter(sha256=lowered)
        .first()
    )
    if certificate is not None:
        return certificate, certificate.signature
    signature = (
        BatchSignature.objects.select_related("batch__product")
        .filter(record_sha256=lowered, decision=SignatureDecision.RELEASE)
        .order_by("id")
        .first()
    )
    if signature is None:
        return None, None
    return Certificate.objects.filter(signature=signature).first(), signature


def verification_data(code: str) -> dict:
    """What `/verify/<code>` answers, for the API and the public page alike."""
    certificate, signature = verify_code(code)
    if signature is None:
        return {
            "valid": False,
            "batch_number": None,
            "product": None,
            "released_at": None,
            "released_by": None,
            "meaning": None,
            "batch_status": None,
            "certificate_number": None,
            "certificate_sha256": None,
            "record_sha256": None,
        }
    batch = signature.batch
    return {
        "valid": True,
        "batch_number": batch.batch_number,
        "product": batch.product.name,
        "released_at": signature.signed_at,
        "released_by": SIGNER_ROLE,
        "meaning": signature.meaning,
        "batch_status": batch.status,
        "certificate_number": certificate.certificate_number if certificate else None,
        "certificate_sha256": certificate.sha256 if certificate else None,
        "record_sha256": signature.record_sha256,
    }
