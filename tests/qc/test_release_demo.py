"""The demo loader signs earlier days' batches as "qp": passing released, failing rejected."""

import io
from datetime import timedelta

import pytest
import time_machine

from qc.demo.releases import load_releases
from qc.models import BatchSignature, Certificate
from radiopharmacy.demo.users import load_users
from radiopharmacy.models import Batch
from tests.factories import PASSING_RELEASE_VALUES, QC_TIME, RELEASE_TIME, BatchFactory

pytestmark = pytest.mark.django_db


def test_demo_releases_passing_rejects_failing_and_is_rerunnable(
    radiopharmacist, celery_eager, django_capture_on_commit_callbacks
):
    load_users(stdout=io.StringIO())
    good = BatchFactory(operator=radiopharmacist, qc="passing", recorded_at=QC_TIME)
    bad = BatchFactory(
        operator=radiopharmacist,
        qc={**PASSING_RELEASE_VALUES, "rcp_itlc": 93.0},
        recorded_at=QC_TIME,
    )
    out = io.StringIO()
    with time_machine.travel(RELEASE_TIME + timedelta(days=2)):
        with django_capture_on_commit_callbacks(execute=True):
            load_releases(stdout=out)
        load_releases(stdout=out)
    assert Batch.objects.get(pk=good.pk).status == "released"
    assert Batch.objects.get(pk=bad.pk).status == "rejected"
    assert BatchSignature.objects.count() == 2
    assert Certificate.objects.count() == 1
    signature = BatchSignature.objects.get(batch=good)
    assert signature.printed_name == "Quentin Peters"
    assert signature.signed_at < good.expires_at
    assert "1 released, 1 rejected" in out.getvalue()
