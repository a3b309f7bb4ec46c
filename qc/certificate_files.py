"""Certificate PDFs as files under MEDIA_ROOT, content-addressed by their SHA-256 (SPEC §2.5).

A certificate's path is derived from its hash (`certificates/<2 hex>/<sha256>.pdf`), so the same
bytes are stored once, the database keeps only the hash, and a read checks the bytes against
it: a file changed on disk is refused, never served.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings

from radiopharmacy.core.errors import StateConflict

DIRECTORY = "certificates"


def relative_path(sha256: str) -> str:
    return f"{DIRECTORY}/{sha256[:2]}/{sha256}.pdf"


def path_of(sha256: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative_path(sha256)


def store(pdf: bytes) -> str:
    """Write `pdf` under its SHA-256 once and return the hash. Written whole under another name
    and renamed into place, so a reader never sees part of a file; an existing file with the
    same hash is the same bytes and is kept."""
    sha256 = hashlib.sha256(pdf).hexdigest()
    path = path_of(sha256)
    if path.exists():
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".certificate-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pdf)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha256


def read(sha256: str) -> bytes:
    """The stored bytes of the certificate with this SHA-256, checked against it."""
    path = path_of(sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateConflict(
            "The certificate file is missing.", blocking=[f"{relative_path(sha256)} not found"]
        ) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StateConflict(
            "The certificate file does not match its SHA-256.",
            blocking=[f"{relative_path(sha256)} hash mismatch"],
        )
    return data
