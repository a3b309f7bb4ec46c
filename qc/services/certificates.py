"""Release certificates (SPEC §2.5): render, sign (PAdES) and store the PDF of a release once,
and look up what a verification code names.

The PDF itself is drawn by the pure renderer `qc.certificate_pdf` from the record as signed and
signed by `qc.certificate_signing` with the site's key; this module checks the record against
its hash, supplies the site, its address and zone and its signing files (settings), and keeps the
signed PDF as a content-addressed file (`qc.certificate_files`) whose SHA-256 is in the database.

For other areas (the inspector export): `certificate_bytes(certificate)` gives the stored PDF
checked against its hash, `verify_pades(pdf_bytes, trust_root_pem)` checks its signature offline
and `trust_root_pem()` is the site's trust root.
"""

import json
import re
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from qc import certificate_files
from qc.certificate_pdf import SIGNER_ROLE, Signature, Site, render_pdf
from qc.certificate_signing import (
    SigningFiles,
    create_signing_files,
    sign_pdf,
    verify_pades,  # noqa: F401 - re-exported: the inspector export
)
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
        site=site(),
    )


def site() -> Site:
    """The issuing site as its settings name it."""
    return Site(
        name=settings.SITE_NAME, address=settings.SITE_ADDRESS, licence=settings.SITE_LICENCE
    )


def signing_files() -> SigningFiles:
    """The site's signing key, certificate and trust root (settings); without a configured key,
    the demo pair in CERTIFICATE_SIGNING_DIR, made at the first call."""
    if settings.CERTIFICATE_SIGNING_KEY:
        cert = Path(settings.CERTIFICATE_SIGNING_CERT)
        password = settings.CERTIFICATE_SIGNING_KEY_PASSWORD
        return SigningFiles(
            key=Path(settings.CERTIFICATE_SIGNING_KEY),
            cert=cert,
            root=Path(settings.CERTIFICATE_TRUST_ROOT) if settings.CERTIFICATE_TRUST_ROOT else cert,
            key_password=password.encode() if password else None,
        )
    return create_signing_files(
        Path(settings.CERTIFICATE_SIGNING_DIR), organisation=settings.SITE_NAME, now=timezone.now()
    )


def trust_root_pem() -> bytes:
    """The PEM root a verifier of this site's certificates trusts."""
    return signing_files().root.read_bytes()


def sign_certificate(pdf: bytes, signature: BatchSignature) -> bytes:
    """The PAdES-signed certificate: signed at the release signature's time, in the qualified
    person's printed name, with the reason "Batch release"."""
    return sign_pdf(
        pdf,
        files=signing_files(),
        signer_name=signature.printed_name,
        signed_at=signature.signed_at,
        location=settings.SITE_NAME,
    )


def certificate_bytes(certificate: Certificate) -> bytes:
    """The stored (signed) PDF of a certificate, checked against its SHA-256 (409 otherwise)."""
    return certificate_files.read(certificate.sha256)


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
    pdf = sign_certificate(render_certificate(signature, number=number), signature)
    # The file first, then the row: a row always has its file. A rolled-back row leaves a file
    # nothing names (the same bytes are stored under the same name when the job runs again).
    sha256 = certificate_files.store(pdf)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                batch=signature.batch,
                signature=signature,
                certificate_number=number,
                sha256=sha256,
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
# Who signed, as the public check states it: the role (SIGNER_ROLE), as printed on the
# certificate, never the person's name (SPEC §2.5: anyone with the hash can verify).


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
