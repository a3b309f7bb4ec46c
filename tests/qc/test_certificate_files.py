"""Certificates as files (SPEC §2.5): stored once under MEDIA_ROOT at a path derived from their
SHA-256, the hash in the database and no bytes; downloads read the file and refuse one that no
longer matches its hash; the migration moves the old database copies to files."""

import hashlib
import importlib
from types import SimpleNamespace

import pytest

from qc import certificate_files
from qc.models import BatchSignature, Certificate
from qc.services.certificates import certificate_bytes, certificate_render
from qc.services.release import batch_release
from radiopharmacy.core.errors import StateConflict
from tests.factories import QC_TIME, TEST_PASSWORD, BatchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def certificate(media, radiopharmacist, qualified_person):
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    batch_release(
        batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD, decision="release"
    )
    return certificate_render(signature_id=BatchSignature.objects.get(batch=batch).pk)


def test_the_pdf_is_a_file_named_by_its_sha256_and_the_row_keeps_only_the_hash(media, certificate):
    assert "pdf" not in {field.name for field in Certificate._meta.get_fields()}
    path = media / "certificates" / certificate.sha256[:2] / f"{certificate.sha256}.pdf"
    assert path.is_file()
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == certificate.sha256
    assert certificate_bytes(certificate) == data == certificate.pdf
    assert [p.name for p in media.rglob("*") if p.is_file()] == [path.name]  # nothing else


def test_the_same_bytes_are_stored_once(media, certificate):
    again = certificate_files.store(certificate.pdf)
    assert again == certificate.sha256
    assert len([p for p in media.rglob("*") if p.is_file()]) == 1
    signature = BatchSignature.objects.get(pk=certificate.signature_id)
    assert certificate_render(signature_id=signature.pk).pk == certificate.pk


def test_downloads_serve_the_file_with_its_hash(certificate, api_as, auditor, client):
    response = api_as(auditor).get(f"/api/v1/batches/{certificate.batch_id}/certificate/")
    assert response.status_code == 200
    assert response.content == certificate.pdf
    assert response["X-Certificate-SHA256"] == certificate.sha256
    client.force_login(auditor)
    page = client.get(f"/batches/{certificate.batch_id}/certificate.pdf")
    assert page.status_code == 200 and page.content == certificate.pdf


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_changed_or_missing_file_is_refused_never_served(
    certificate, api_as, auditor, client, damage
):
    path = certificate_files.path_of(certificate.sha256)
    if damage == "changed":
        data = bytearray(path.read_bytes())
        data[200] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    with pytest.raises(StateConflict):
        certificate_bytes(certificate)
    response = api_as(auditor).get(f"/api/v1/batches/{certificate.batch_id}/certificate/")
    assert response.status_code == 409
    client.force_login(auditor)
    page = client.get(f"/batches/{certificate.batch_id}/certificate.pdf")
    assert page.status_code == 409 and b"%PDF" not in page.content


def test_the_migration_moves_database_copies_to_files_and_refuses_a_mismatch(media):
    migration = importlib.import_module("qc.migrations.0007_certificate_file")
    good = b"%PDF-1.4 old certificate"
    rows = [SimpleNamespace(pk=1, pdf=memoryview(good), sha256=hashlib.sha256(good).hexdigest())]

    class Manager:
        def order_by(self, *_):
            return self

        def iterator(self, chunk_size):
            return iter(rows)

    apps = SimpleNamespace(get_model=lambda *_: SimpleNamespace(objects=Manager()))
    migration.blobs_to_files(apps, None)
    assert certificate_files.read(rows[0].sha256) == good

    rows[:] = [SimpleNamespace(pk=2, pdf=b"tampered", sha256="0" * 64)]
    with pytest.raises(RuntimeError, match="does not match"):
        migration.blobs_to_files(apps, None)
    assert not certificate_files.path_of("0" * 64).exists()
