"""Offline verification of an inspector export (SPEC §2.10): every piece of the ZIP checked
without the database.

- manifest: the SHA-256 of every file against `manifest.json`, and no file missing or added;
- signed records: the SHA-256 of each record file against the hash its signature stored;
- certificate: its SHA-256 against the one stored, and its PAdES signature against the trust
  root included (when the export has one);
- audit entries: each entry's hash recomputed with the trail's one hashing function
  (`radiopharmacy.core.audit.entry_hash`), each entry found in the chain segment, the segment's
  links unbroken from the batch's first entry to the checkpoint included, and the segment's
  head equal to that checkpoint's head hash;
- with the site's key (`manage.py verify_export` on the site's installation): the HMAC of every
  entry of the segment and the checkpoint's signature too.

`manage.py verify_export <zip>` and `python -m qc.inspector_verify <zip>` (no database: the
project's settings are loaded, nothing is queried) print one line per piece, OK or what is
wrong, and exit non-zero when anything is wrong.
"""

import hashlib
import hmac as hmac_lib
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field

EXPORT_FORMAT = 1
README = "README.txt"
MANIFEST = "manifest.json"
BATCH_RECORD_PDF = "batch-record.pdf"
SIGNATURES = "record/signatures.json"
CERTIFICATE_PDF = "certificate/certificate.pdf"
CERTIFICATE_JSON = "certificate/certificate.json"
TRUST_ROOT = "certificate/trust-root.pem"
ENTRIES = "audit/entries.jsonl"
CHAIN = "audit/chain.jsonl"
CHECKPOINT = "audit/checkpoint.json"


def record_file(signature_id: int, decision: str) -> str:
    return f"record/signature-{signature_id}-{decision}.json"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Check:
    piece: str
    ok: bool
    message: str = ""
    skipped: bool = False  # not checkable here (no key, nothing to check): not a failure

    def line(self) -> str:
        status = "SKIP" if self.skipped else ("OK  " if self.ok else "FAIL")
        return f"{status} {self.piece}" + (f": {self.message}" if self.message else "")


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, piece: str, ok: bool, message: str = "", *, skipped: bool = False) -> None:
        self.checks.append(Check(piece, ok, message, skipped))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def _jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def verify_export(source, *, check_hmac: bool = False) -> Report:
    """Check an export (a path, bytes or a file object). `check_hmac`: also check the HMACs of
    the entries and the checkpoint's signature with this installation's AUDIT_HMAC_KEY (only
    the site that wrote them has it)."""
    report = Report()
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        report.add("export", False, f"not a readable ZIP file ({exc})")
        return report
    with archive:
        files = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    _verify_manifest(files, report)
    _verify_records(files, report)
    _verify_certificate(files, report)
    _verify_audit(files, report, check_hmac=check_hmac)
    return report


def _load_json(files: dict, name: str, report: Report):
    if name not in files:
        report.add(name, False, "missing from the export")
        return None
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.add(name, False, f"not valid JSON ({exc})")
        return None


def _verify_manifest(files: dict, report: Report) -> None:
    manifest = _load_json(files, MANIFEST, report)
    if manifest is None:
        return
    listed = manifest.get("files") or {}
    problems = []
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name} is missing")
        elif sha256_hex(files[name]) != expected:
            problems.append(f"{name} does not match its SHA-256 (it was changed)")
    extra = sorted(set(files) - set(listed) - {MANIFEST})
    problems += [f"{name} is not in the manifest (it was added)" for name in extra]
    if manifest.get("format") != EXPORT_FORMAT:
        problems.append(f"unknown export format {manifest.get('format')!r}")
    what = f"batch {manifest.get('batch_number')}, {len(listed)} files"
    report.add("manifest", not problems, "; ".join(problems) or what)


def _verify_records(files: dict, report: Report) -> None:
    signatures = _load_json(files, SIGNATURES, report)
    if signatures is None:
        return
    if not signatures:
        report.add("signed record", False, "the export holds no signature of the batch record")
    for signature in signatures:
        name = signature.get("record_file", "")
        piece = f"signed record of signature {signature.get('id')} ({signature.get('meaning')})"
        if name not in files:
            report.add(piece, False, f"{name or 'its record file'} is missing")
            continue
        actual = sha256_hex(files[name])
        if actual != signature.get("record_sha256"):
            report.add(
                piece,
                False,
                f"{name} was changed: its SHA-256 {actual} is not the signed "
                f"{signature.get('record_sha256')}",
            )
            continue
        try:
            json.loads(files[name].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            report.add(piece, False, f"{name} is not the canonical JSON record")
            continue
        report.add(piece, True, f"SHA-256 {actual}, signed by {signature.get('printed_name')}")


def _verify_certificate(files: dict, report: Report) -> None:
    if CERTIFICATE_JSON not in files and CERTIFICATE_PDF not in files:
        report.add("certificate", True, "none: the batch was not released", skipped=True)
        return
    meta = _load_json(files, CERTIFICATE_JSON, report)
    if meta is None:
        return
    if CERTIFICATE_PDF not in files:
        report.add("certificate", False, f"{CERTIFICATE_PDF} is missing")
        return
    pdf = files[CERTIFICATE_PDF]
    actual = sha256_hex(pdf)
    if actual != meta.get("sha256"):
        report.add(
            "certificate",
            False,
            f"{CERTIFICATE_PDF} was changed: its SHA-256 {actual} is not the stored "
            f"{meta.get('sha256')}",
        )
        return
    report.add("certificate", True, f"{meta.get('certificate_number')}, SHA-256 {actual}")
    if TRUST_ROOT not in files:
        report.add("certificate signature (PAdES)", True, "no trust root exported", skipped=True)
        return
    from qc.certificate_signing import verify_pades

    valid, reason = verify_pades(pdf, files[TRUST_ROOT])
    fingerprint = sha256_hex(files[TRUST_ROOT])
    report.add(
        "certificate signature (PAdES)",
        valid,
        f"{reason}; trust root file SHA-256 {fingerprint} (compare it with the site's)",
    )


def _verify_audit(files: dict, report: Report, *, check_hmac: bool) -> None:
    from radiopharmacy.core import audit

    checkpoint = _load_json(files, CHECKPOINT, report)
    missing = [name for name in (ENTRIES, CHAIN) if name not in files]
    for name in missing:
        report.add(name, False, "missing from the export")
    if checkpoint is None or missing:
        return
    try:
        entries, chain = _jsonl(files[ENTRIES]), _jsonl(files[CHAIN])
    except (UnicodeDecodeError, ValueError) as exc:
        report.add("audit entries", False, f"not JSON lines ({exc})")
        return
    links = {link["id"]: link for link in chain}
    bad_entries = 0
    for entry in entries:
        piece = f"audit entry {entry.get('id')}"
        try:
            recomputed = audit.entry_hash(*(entry[name] for name in audit.HASHED_FIELDS))
        except KeyError as exc:
            report.add(piece, False, f"lacks the field {exc}")
            bad_entries += 1
            continue
        link = links.get(entry["id"])
        if recomputed != entry.get("hash"):
            report.add(piece, False, "was changed: its content no longer matches its hash")
        elif link is None:
            report.add(piece, False, "is not in the chain segment")
        elif (link["hash"], link["prev_hash"]) != (entry["hash"], entry["prev_hash"]):
            report.add(piece, False, "does not match its place in the chain")
        else:
            continue
        bad_entries += 1
    if not bad_entries:
        report.add("audit entries", True, f"{len(entries)} entries, each hash recomputed")
    _verify_chain(chain, checkpoint, report, check_hmac=check_hmac)


def _verify_chain(chain: list[dict], checkpoint: dict, report: Report, *, check_hmac) -> None:
    from radiopharmacy.core import audit

    problems = []
    for before, link in zip(chain, chain[1:], strict=False):
        if link["id"] != before["id"] + 1:
            problems.append(f"entries {before['id'] + 1} to {link['id'] - 1} are missing")
        elif link["prev_hash"] != before["hash"]:
            problems.append(f"entry {link['id']} does not link to entry {before['id']}")
    head = chain[-1] if chain else None
    if head is None:
        problems.append("the chain segment is empty")
    elif (head["id"], head["hash"]) != (checkpoint.get("entry_id"), checkpoint.get("head_hash")):
        problems.append(
            f"the segment ends at entry {head['id']}, not at the checkpoint's head entry "
            f"{checkpoint.get('entry_id')} with its hash"
        )
    first = chain[0]["id"] if chain else "?"
    report.add(
        "audit chain",
        not problems,
        "; ".join(problems)
        or f"entries {first} to {head['id']} link up to the checkpoint of {checkpoint.get('at')}",
    )
    if not check_hmac:
        report.add(
            "audit signatures (HMAC)",
            True,
            "not checked offline: they need the site's key (manage.py verify_export at the site)",
            skipped=True,
        )
        return
    signed = audit.Checkpoint(
        at=str(checkpoint.get("at")),
        entry_id=int(checkpoint.get("entry_id", -1)),
        count=int(checkpoint.get("count", -1)),
        head_hash=str(checkpoint.get("head_hash")),
        hmac=str(checkpoint.get("hmac")),
    ).signed
    report.add(
        "audit checkpoint signature",
        signed,
        "signed with this site's key" if signed else "its HMAC does not match (it was edited)",
    )
    forged = [
        link["id"]
        for link in chain
        if not hmac_lib.compare_digest(audit.entry_mac(link["id"], link["hash"]), link["hmac"])
    ]
    report.add(
        "audit entry signatures (HMAC)",
        not forged,
        f"entries {', '.join(map(str, forged[:10]))} do not match their HMAC"
        if forged
        else f"{len(chain)} entries signed with this site's key",
    )


def print_report(report: Report, write=print) -> None:
    for check in report.checks:
        write(check.line())
    if report.ok:
        write("OK: every piece of the export verifies.")
    else:
        write(f"NOT VERIFIED: {', '.join(c.piece for c in report.failures)}.")


def main(argv: list[str] | None = None) -> int:
    """`python -m qc.inspector_verify <zip>`: the project's settings, no database."""
    import os

    import django

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m qc.inspector_verify <export.zip>", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")
    django.setup()
    report = verify_export(args[0])
    print_report(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
