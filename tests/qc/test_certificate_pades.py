"""The certificate's PAdES signature (SPEC §2.5): made with the site's key when the certificate
task runs, it names the qualified person and the reason and carries the signing time; pyHanko's
validator finds it intact and trusted against the site's root, and broken when one signed byte
changes."""

import io

import pytest
from asn1crypto import pem, x509
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from qc.certificate_signing import create_signing_files
from qc.services.certificates import (
    certificate_bytes,
    certificate_render,
    signing_files,
    trust_root_pem,
    verify_pades,
)
from qc.services.release import batch_release, sha256_hex
from tests.factories import QC_TIME, RELEASE_TIME, TEST_PASSWORD, BatchFactory, released_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_release_time")]


@pytest.fixture
def certificate(radiopharmacist, qualified_person):
    signature = released_batch(operator=radiopharmacist, qualified_person=qualified_person)
    # What the certificate task runs (eagerly on the embedded default, on a worker in
    # production): it renders the certificate and signs it. Called here so that the test does
    # not depend on where the task runs; a second render keeps the first certificate.
    return certificate_render(signature_id=signature.pk)


def root_certificate(pem_bytes: bytes) -> x509.Certificate:
    _, _, der = pem.unarmor(pem_bytes)
    return x509.Certificate.load(der)


def validate(data: bytes, root_pem: bytes):
    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[root_certificate(root_pem)])
    return signature, validate_pdf_signature(signature, signer_validation_context=context)


@pytest.mark.requirement("REL-07", "P11-11.70", "A11-14")
def test_the_stored_certificate_is_pades_signed_by_the_site_and_valid(certificate):
    data = certificate_bytes(certificate)
    assert certificate.sha256 == sha256_hex(data)  # the hash recorded is of the signed file
    signature, status = validate(data, trust_root_pem())
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] == "Batch release"
    assert signature.sig_object["/Name"] == "Quentin Peters"
    assert status.signer_reported_dt == RELEASE_TIME
    assert verify_pades(data, trust_root_pem())[0] is True


@pytest.mark.requirement("REL-07", "P11-11.70", "A11-14")
def test_one_byte_changed_in_the_signed_range_breaks_the_signature(certificate):
    data = bytearray(certificate_bytes(certificate))
    byte_range = PdfFileReader(io.BytesIO(bytes(data))).embedded_signatures[0].byte_range
    start, length = byte_range[0], byte_range[1]
    where = start + length // 2  # inside the first signed range: the rendered certificate
    data[where] ^= 0x01
    _, status = validate(bytes(data), trust_root_pem())
    assert not status.intact and not status.bottom_line
    ok, reason = verify_pades(bytes(data), trust_root_pem())
    assert ok is False and "changed" in reason


@pytest.mark.requirement("REL-07", "P11-11.70", "A11-14")
def test_bytes_appended_after_signing_or_another_root_are_refused(certificate, tmp_path):
    data = certificate_bytes(certificate)
    ok, reason = verify_pades(data + b"\n%% appended\n", trust_root_pem())
    assert ok is False and "whole file" in reason
    other = create_signing_files(tmp_path / "other", organisation="Other site", now=timezone.now())
    ok, reason = verify_pades(data, other.root.read_bytes())
    assert ok is False and "trust root" in reason


def test_a_configured_key_and_certificate_sign_instead_of_the_demo_pair(
    settings, tmp_path, radiopharmacist, qualified_person
):
    site = create_signing_files(tmp_path / "site", organisation="St Elsewhere", now=timezone.now())
    settings.CERTIFICATE_SIGNING_KEY = str(site.key)
    settings.CERTIFICATE_SIGNING_CERT = str(site.cert)
    settings.CERTIFICATE_TRUST_ROOT = str(site.root)
    assert signing_files().key == site.key
    batch = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    batch_release(
        batch_id=batch.pk, actor=qualified_person, password=TEST_PASSWORD, decision="release"
    )
    data = certificate_bytes(certificate_render(signature_id=batch.signatures.get().pk))
    assert verify_pades(data, site.root.read_bytes())[0] is True
    _, status = validate(data, site.root.read_bytes())
    assert "St Elsewhere" in status.signing_cert.subject.human_friendly


def test_the_demo_signing_pair_is_made_once(tmp_path):
    first = create_signing_files(tmp_path / "demo", organisation="Demo", now=timezone.now())
    key = first.key.read_bytes()
    again = create_signing_files(tmp_path / "demo", organisation="Demo", now=timezone.now())
    assert again == first and again.key.read_bytes() == key
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"
