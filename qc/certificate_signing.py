"""The PAdES signature of a release certificate (SPEC §2.5), with pyHanko.

Pure: no Django. `qc.services.certificates` passes the site's key and certificate (settings) and
the values of the qualified person's signature; the inspector export verifies with
`verify_pades`.

The PDF signature is PAdES baseline B-B (`/ETSI.CAdES.detached`, SHA-256, RSA PKCS#1 v1.5) in an
incremental update of the rendered PDF, with the signing time, the reason "Batch release" and
the qualified person's printed name in the signature dictionary. It is deterministic: the signing
time is the release signature's (not the clock), pyHanko's random second document id and its
"now" modification date are replaced by values derived from the input, and RSA PKCS#1 v1.5 has no
randomness, so signing the same render with the same key gives the same bytes (and SHA-256).

Without a configured key the site runs on a demo pair made once by `create_signing_files`: a
self-signed root (the trust anchor to give `pyhanko sign validate --trust`) and a signing
certificate it issued.
"""

import functools
import hashlib
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

REASON = "Batch release"
FIELD_NAME = "QualifiedPersonRelease"
ROOT_FILE, KEY_FILE, CERT_FILE = "root-ca.pem", "signing-key.pem", "signing-cert.pem"
# The CMS container beyond its certificates: a signature of up to 8192-bit RSA, the signed
# attributes (digest, signing certificate, algorithm protection) and their encoding.
CMS_MARGIN_BYTES = 6144


@dataclass(frozen=True)
class SigningFiles:
    """Where the site's signing material is: a PEM private key, its PEM certificate (optionally
    followed by the chain to the root) and the trust root validators start from."""

    key: Path
    cert: Path
    root: Path
    key_password: bytes | None = None


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Gallium"),
        ]
    )


def create_signing_files(directory: Path, *, organisation: str, now: datetime) -> SigningFiles:
    """A self-signed root and a signing certificate it issued, written into `directory` once.

    Made in a temporary directory beside it and renamed into place: a process starting at the
    same time finds either nothing or all three files, and the first rename wins. Valid from a
    year before `now` (the demo week's releases are signed days back) for ten years.
    """
    files = SigningFiles(directory / KEY_FILE, directory / CERT_FILE, directory / ROOT_FILE)
    if files.key.exists():
        return files
    directory.parent.mkdir(parents=True, exist_ok=True)
    start, end = now - timedelta(days=365), now + timedelta(days=3650)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = _name(f"{organisation} certificate root (demo)", organisation)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} batch release certificates", organisation))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=directory.parent))
    try:
        key_path = tmp / KEY_FILE
        key_bytes = key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(key_bytes)
        (tmp / CERT_FILE).write_bytes(cert.public_bytes(pem) + root.public_bytes(pem))
        (tmp / ROOT_FILE).write_bytes(root.public_bytes(pem))
        try:
            tmp.rename(directory)
        except OSError:
            if not files.key.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return files


def _certificates(pem: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate of a PEM bundle (or one DER certificate)."""
    if not asn1_pem.detect(pem):
        return [asn1_x509.Certificate.load(pem)]
    return [asn1_x509.Certificate.load(der) for _, _, der in asn1_pem.unarmor(pem, multiple=True)]


class _DeterministicWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer with its random second document id and its "now"
    modification date replaced by the input's digest and the signing time."""

    def __init__(self, data: bytes, *, modified_at: datetime):
        super().__init__(io.BytesIO(data))
        self._modified_at = modified_at
        first, _ = self._document_id
        self._document_id = generic.ArrayObject(
            [first, generic.ByteStringObject(hashlib.sha256(data).digest()[:16])]
        )

    def _update_meta(self):
        super()._update_meta()
        if self._info is not None:
            self._info.get_object()["/ModDate"] = generic.pdf_date(self._modified_at)
            self.mark_update(self._info)


class _SignerAt(signers.PdfSigner):
    """A PdfSigner whose signing time is the given one, not the clock."""

    def __init__(self, *args, signing_time: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner with its RSA key parsed once: pyHanko parses (and checks) the key
    again for every signature it makes, which cost most of the signing time."""

    def __init__(self, *, private_key: rsa.RSAPrivateKey, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        return self._private_key.sign(
            data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
        )


def _signer(files: SigningFiles) -> signers.SimpleSigner:
    key_stat, cert_stat = files.key.stat(), files.cert.stat()
    return _cached_signer(
        files.key, files.cert, files.key_password, key_stat.st_mtime_ns, cert_stat.st_mtime_ns
    )


@functools.lru_cache(maxsize=4)
def _cached_signer(key_path: Path, cert_path: Path, password, *_mtimes) -> signers.SimpleSigner:
    """The signer of a key and certificate file, loaded once per version of the files."""
    # The certificate file: the signing certificate first, then (optionally) its chain.
    cert, *chain = _certificates(cert_path.read_bytes())
    try:
        private_key = serialization.load_pem_private_key(key_path.read_bytes(), password)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"Cannot load the signing key {key_path}: {exc}") from exc
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    registry = SimpleCertificateStore.from_certs([cert, *chain])
    key_info = asn1_keys.PrivateKeyInfo.load(der)
    if isinstance(private_key, rsa.RSAPrivateKey):
        return _LoadedKeySigner(
            private_key=private_key, signing_cert=cert, signing_key=key_info, cert_registry=registry
        )
    return signers.SimpleSigner(signing_cert=cert, signing_key=key_info, cert_registry=registry)


def sign_pdf(
    pdf: bytes,
    *,
    files: SigningFiles,
    signer_name: str,
    signed_at: datetime,
    location: str = "",
) -> bytes:
    """`pdf` with a PAdES B-B signature of the site's key: reason "Batch release", name the
    qualified person's printed name, signing time `signed_at`. Same input, same bytes."""
    signer = _signer(files)
    when = signed_at.astimezone(UTC)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASON,
        name=signer_name,
        location=location or None,
    )
    writer = _DeterministicWriter(pdf, modified_at=when)
    # Room for the CMS container: the certificates it embeds and a margin for the signature and
    # attributes. Given, not estimated: pyHanko's estimate signs a dummy first (twice the work).
    reserved = CMS_MARGIN_BYTES + sum(len(c.dump()) for c in signer.cert_registry)
    out = _SignerAt(meta, signer=signer, signing_time=when).sign_pdf(
        writer, bytes_reserved=reserved
    )
    return out.getvalue()


def verify_pades(pdf_bytes: bytes, trust_root_pem: bytes) -> tuple[bool, str]:
    """Check the PAdES signature of a certificate PDF offline against a trust root (PEM).

    True only when the file has exactly one signature, it covers the whole file, its digest and
    signature are intact and its certificate chains to the root. The reason says what failed, or
    who signed and when.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any unreadable file is simply not valid
        return False, f"not a readable PDF: {exc}"
    if len(signatures) != 1:
        return False, f"expected one signature, found {len(signatures)}"
    try:
        roots = _certificates(trust_root_pem)
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = validate_pdf_signature(signatures[0], signer_validation_context=context)
    except (
        SignatureValidationError,
        PathBuildingError,
        PathValidationError,
        ValueError,
        TypeError,
    ) as exc:
        return False, f"signature not verifiable: {exc}"
    if not status.intact:
        return False, "the signed bytes were changed (digest mismatch)"
    if not status.valid:
        return False, "the cryptographic signature is not valid"
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return False, "the signature does not cover the whole file (bytes added after signing)"
    if not status.trusted:
        return False, "the signing certificate does not chain to the trust root"
    signer = status.signing_cert.subject.human_friendly
    when = status.signer_reported_dt.isoformat() if status.signer_reported_dt else "unknown"
    return True, f"valid PAdES signature by {signer}, signed at {when}"
