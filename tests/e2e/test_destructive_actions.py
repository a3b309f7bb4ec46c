"""A rejection asks before it is signed (what cannot be undone is set apart and asks first); the
dose cancellation is checked in test_dose_form.py."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from radiopharmacy.models import Batch
from tests.e2e.conftest import login_as
from tests.factories import TEST_PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_rejecting_a_batch_asks_first(working_hours, radiopharmacist, qualified_person, page):
    now = timezone.now()
    batch = BatchFactory(
        operator=radiopharmacist,
        started_at=now - timedelta(minutes=60),
        qc="passing",
        qc_at=now - timedelta(minutes=20),
    )
    login_as(page, qualified_person)
    page.goto(page.base_url + reverse("qc-release", kwargs={"pk": batch.pk}))
    page.get_by_label("Rejected").check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_timeout(300)
    assert questions and batch.batch_number in questions[0]
    assert Batch.objects.get(pk=batch.pk).status == "qc_pending"  # nothing signed
