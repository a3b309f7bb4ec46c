"""Admin: product and site-setting edits are audited; regulated records cannot be edited there."""

import pytest
from django.urls import reverse

from radiopharmacy.models import AuditEvent, Generator, Product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.requirement("AUD-01", "A11-9")
def test_product_change_in_the_admin_is_audited_and_cannot_be_deleted(admin_client):
    product = Product.objects.get(code="GA68DOTATATE")
    url = reverse("admin:radiopharmacy_product_change", args=[product.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "Delete" not in page.content.decode()
    data = {
        "code": product.code,
        "name": product.name,
        "shelf_life_min": 180,
        "max_volume_per_patient_ml": 10,
        "max_volume_per_dose_ml": 10,
        "dose_per_kg_mbq": 2,
        "max_dose_mbq": 200,
        "dose_tolerance_percent": 10,
    }
    assert admin_client.post(url, data).status_code == 302
    event = AuditEvent.objects.get(object_type="radiopharmacy.product", action="changed")
    assert event.changes == {"shelf_life_min": {"old": 240, "new": 180}}
    delete = reverse("admin:radiopharmacy_product_delete", args=[product.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.mark.requirement("P11-11.10(e)")
def test_regulated_records_are_read_only_in_the_admin(admin_client):
    from tests.factories import GeneratorFactory

    generator = GeneratorFactory()
    url = reverse("admin:radiopharmacy_generator_change", args=[generator.pk])
    response = admin_client.post(url, {"serial_number": "CHANGED"})
    assert response.status_code == 403
    assert Generator.objects.get(pk=generator.pk).serial_number != "CHANGED"
    assert admin_client.get(reverse("admin:radiopharmacy_generator_add")).status_code == 403
