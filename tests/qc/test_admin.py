"""Specification admin: a version that judged a batch is read-only."""

import pytest

from qc.models import Specification
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "r@example.org", "pw-12345678")
    client.force_login(admin)
    return client


@pytest.mark.requirement("QC-01")
def test_unused_version_is_editable_used_version_is_read_only(admin_client_logged, radiopharmacist):
    spec = Specification.objects.get(version=1)
    url = f"/admin/qc/specification/{spec.pk}/change/"
    page = admin_client_logged.get(url)
    assert page.status_code == 200 and b'name="_save"' in page.content
    BatchFactory(operator=radiopharmacist, qc="passing")
    page = admin_client_logged.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
