"""The inspector export of a batch (SPEC §2.10) and its offline verification: a released batch's
export verifies piece by piece; a changed byte of the signed record or a changed audit entry is
named."""

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from qc import inspector_verify as layout
from qc.inspector_verify import main as verify_main
from qc.inspector_verify import verify_export
from qc.models import BatchSignature
from qc.services.certificates import certificate_render
from radiopharmacy.models import AuditEvent
from radiopharmacy.site.inspector_export import inspector_export
from tests.factories import QC_TIME, BatchFactory, released_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def released(radiopharmacist, qualified_person):
    signature = released_batch(
        operator=radiopharmacist,
        qualified_person=qualified_person,
        comment="Released after review of the record.",
    )
    certificate_render(signature_id=signature.pk)
    return signature.batch


def export_of(batch, actor) -> bytes:
    return inspector_export(batch_id=batch.pk, actor=actor)[1]


def files_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.requirement("VAL-05", "P11-11.10(b)")
def test_export_holds_record_certificate_entries_checkpoint_manifest_and_readme(released, auditor):
    files = files_of(export_of(released, auditor))
    signature = BatchSignature.objects.get(batch=released)
    record_name = layout.record_file(signature.pk, "release")
    assert files[record_name] == signature.record_json.encode("utf-8")
    listed = json.loads(files[layout.SIGNATURES])
    assert listed[0]["record_sha256"] == signature.record_sha256
    assert files[layout.CERTIFICATE_PDF].startswith(b"%PDF")
    entries = [json.loads(line) for line in files[layout.ENTRIES].splitlines()]
    actions = {e["action"] for e in entries}
    assert {"created", "released", "signed", "certificate_rendered"} <= actions
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in entries)
    checkpoint = json.loads(files[layout.CHECKPOINT])
    assert checkpoint["entry_id"] >= max(e["id"] for e in entries)
    manifest = json.loads(files[layout.MANIFEST])
    assert set(manifest["files"]) == set(files) - {layout.MANIFEST}
    assert released.batch_number in files[layout.README].decode()


@pytest.mark.requirement("VAL-05", "P11-11.10(b)")
def test_export_of_a_released_batch_verifies_with_the_command(released, auditor, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(export_of(released, auditor))
    out = io.StringIO()
    call_command("verify_export", str(path), stdout=out)
    text = out.getvalue()
    assert "OK   certificate" in text
    assert "OK   audit chain" in text
    assert "OK   audit entry signatures (HMAC)" in text
    assert "every piece of the export verifies" in text


@pytest.mark.requirement("VAL-05", "P11-11.10(b)")
def test_the_module_verifies_without_the_database(released, auditor, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(export_of(released, auditor))
    # A database that cannot be reached: the check must not need one.
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    done = subprocess.run(
        [sys.executable, "-m", "qc.inspector_verify", str(path)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIP audit signatures (HMAC): not checked offline" in done.stdout
    assert "every piece of the export verifies" in done.stdout


def test_the_module_exits_non_zero_on_a_changed_export(released, auditor, tmp_path, capsys):
    files = files_of(export_of(released, auditor))
    files[layout.CHECKPOINT] = files[layout.CHECKPOINT].replace(
        b'"head_hash": "', b'"head_hash": "0'
    )
    path = tmp_path / "changed.zip"
    path.write_bytes(rezip(files))
    assert verify_main([str(path)]) == 1
    assert "NOT VERIFIED" in capsys.readouterr().out


@pytest.mark.requirement("VAL-05", "P11-11.10(a)")
def test_a_changed_byte_of_the_signed_record_is_named(released, auditor, tmp_path):
    files = files_of(export_of(released, auditor))
    signature = BatchSignature.objects.get(batch=released)
    name = layout.record_file(signature.pk, "release")
    files[name] = files[name].replace(b'"ph"', b'"pH"', 1)
    path = tmp_path / "changed.zip"
    path.write_bytes(rezip(files))
    with pytest.raises(CommandError) as refused:
        call_command("verify_export", str(path), stdout=io.StringIO())
    assert f"signed record of signature {signature.pk}" in str(refused.value)
    report = verify_export(str(path))
    assert any(name in c.message and not c.ok for c in report.checks)


@pytest.mark.requirement("VAL-05", "P11-11.10(a)")
def test_a_changed_audit_entry_is_named(released, auditor):
    files = files_of(export_of(released, auditor))
    entries = [json.loads(line) for line in files[layout.ENTRIES].splitlines()]
    target = next(e for e in entries if e["action"] == "released")
    target["reason"] = "released without review"
    files[layout.ENTRIES] = "".join(json.dumps(e) + "\n" for e in entries).encode()
    report = verify_export(rezip(files))
    assert not report.ok
    failed = {c.piece for c in report.failures}
    assert f"audit entry {target['id']}" in failed
    assert "audit chain" not in failed  # the links themselves are intact


@pytest.mark.requirement("VAL-05", "P11-11.10(a)")
def test_a_removed_link_of_the_chain_is_named(released, auditor):
    files = files_of(export_of(released, auditor))
    links = files[layout.CHAIN].splitlines()
    files[layout.CHAIN] = b"\n".join(links[:2] + links[3:]) + b"\n"
    report = verify_export(rezip(files))
    assert "audit chain" in {c.piece for c in report.failures}


def test_an_entry_rewritten_in_the_database_no_longer_matches_the_exported_checkpoint(
    released, auditor
):
    files = files_of(export_of(released, auditor))
    links = [json.loads(line) for line in files[layout.CHAIN].splitlines()]
    links[-1]["hash"] = "f" * 64
    files[layout.CHAIN] = "".join(json.dumps(link) + "\n" for link in links).encode()
    failed = {c.piece for c in verify_export(rezip(files), check_hmac=True).failures}
    assert {"audit chain", "audit entry signatures (HMAC)"} <= failed


def test_a_batch_without_a_signed_record_has_no_export(api_as, auditor, radiopharmacist):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    response = api_as(auditor).get(f"/api/v1/batches/{batch.pk}/inspector-export/")
    assert response.status_code == 409


def test_auditor_downloads_the_export_through_the_api_and_the_page(
    released, api_as, auditor, client
):
    response = api_as(auditor).get(f"/api/v1/batches/{released.pk}/inspector-export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert verify_export(response.content).ok
    client.force_login(auditor)
    page = client.get(f"/batches/{released.pk}/inspector-export/")
    assert page.status_code == 200
    assert released.batch_number in page["Content-Disposition"]


def test_the_export_page_is_refused_to_a_radiopharmacist(released, client, radiopharmacist):
    client.force_login(radiopharmacist)
    assert client.get(f"/batches/{released.pk}/inspector-export/").status_code == 403


def test_exported_entries_are_the_batch_page_entries(released, auditor):
    files = files_of(export_of(released, auditor))
    exported = [json.loads(line)["id"] for line in files[layout.ENTRIES].splitlines()]
    batch_entries = AuditEvent.objects.filter(
        object_type="radiopharmacy.batch", object_id=str(released.pk)
    ).values_list("id", flat=True)
    assert set(batch_entries) <= set(exported)


def test_the_batch_page_links_the_export_for_an_auditor_only(released, client, auditor, scheduler):
    client.force_login(auditor)
    link = f'href="/batches/{released.pk}/inspector-export/"'
    assert link in client.get(f"/batches/{released.pk}/").content.decode()
    client.force_login(scheduler)
    assert link not in client.get(f"/batches/{released.pk}/").content.decode()


def test_a_changed_certificate_is_named(released, auditor):
    files = files_of(export_of(released, auditor))
    pdf = bytearray(files[layout.CERTIFICATE_PDF])
    pdf[len(pdf) // 2] ^= 0x01
    files[layout.CERTIFICATE_PDF] = bytes(pdf)
    assert "certificate" in {c.piece for c in verify_export(rezip(files)).failures}
