"""The periodic product quality review (SPEC §2.9): a PDF of the demo week, read with pypdf."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from qc.models import QualityReview
from qc.services.quality_review import quality_review_render, quality_review_request
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_date, site_today
from radiopharmacy.models import Batch


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.django_db
@pytest.mark.requirement("ANA-04")
def test_the_review_of_the_demo_week_lists_every_batch_and_draws_its_charts(
    radiopharmacist, celery_eager, django_capture_on_commit_callbacks, api_as, client
):
    call_command("load_demo", stdout=io.StringIO())
    batches = list(Batch.objects.order_by("eos_at"))
    assert batches
    first, last = site_date(batches[0].eos_at), site_today()
    with django_capture_on_commit_callbacks(execute=True):
        review = quality_review_request(actor=radiopharmacist, period_from=first, period_to=last)
    review.refresh_from_db()
    assert review.status == QualityReview.Status.DONE

    pdf = bytes(review.pdf)
    reader = PdfReader(io.BytesIO(pdf))  # it opens
    assert len(reader.pages) >= 2
    text = _text(pdf)
    for batch in batches:
        assert batch.batch_number in text
    for title in (
        "Control chart: Synthesis yield (decay-corrected)",
        "Control chart: Radiochemical purity",
        "Control chart: pH",
        "Control chart: Elution efficiency",
        "Control chart: Ge-68 breakthrough of the eluate",
    ):
        assert title in text
    assert "Quality events" in text and "Out of specification" in text
    assert "Patients served" in text
    # the charts are vector drawings: many line segments on the pages that carry them
    strokes = sum(
        len(re.findall(rb"[\d.]+ [\d.]+ l\s", page.get_contents().get_data()))
        for page in reader.pages
    )
    assert strokes > 5 * len(batches)

    response = api_as(radiopharmacist).get(f"/api/v1/quality-reviews/{review.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        b"".join(response.streaming_content if response.streaming else [response.content])[:5]
        == b"%PDF-"
    )
    assert quality_review_render(review_id=review.pk).sha256 == review.sha256  # idempotent

    # the demo week is shorter than a baseline: the Trends page draws provisional limits
    client.force_login(radiopharmacist)
    page = client.get("/trends/", {"metric": "yield", "from": f"{first:%Y-%m-%d}"})
    assert page.status_code == 200 and b"provisional limits" in page.content


@pytest.mark.django_db
def test_a_review_period_must_have_happened_and_be_in_order(radiopharmacist):
    today = site_today()
    with pytest.raises(ApplicationError):
        quality_review_request(
            actor=radiopharmacist, period_from=today, period_to=today + timedelta(days=1)
        )
    with pytest.raises(ApplicationError):
        quality_review_request(
            actor=radiopharmacist, period_from=today, period_to=today - timedelta(days=1)
        )


@pytest.mark.django_db
@pytest.mark.requirement("ANA-04")
def test_the_command_queues_a_review_that_renders_an_empty_period(
    celery_eager, django_capture_on_commit_callbacks
):
    today = site_today()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "quality_review",
            "--from",
            f"{today - timedelta(days=6):%Y-%m-%d}",
            "--to",
            f"{today:%Y-%m-%d}",
            stdout=out,
        )
    review = QualityReview.objects.get()
    assert review.status == QualityReview.Status.DONE and review.requested_by is None
    assert "No batch in the period." in _text(bytes(review.pdf))
    with pytest.raises(CommandError):
        call_command("quality_review", "--from", "2026-13-01", "--to", "x", stdout=out)


@pytest.mark.django_db
@pytest.mark.requirement("ANA-01")
def test_the_trends_page_draws_each_metric_for_every_role(client, make_user):
    from tests.factories import ElutionFactory

    elution = ElutionFactory()
    for role in ("radiopharmacist", "qualified_person", "scheduler", "auditor"):
        client.force_login(make_user(role))
        for metric in ("yield", "rcp", "ph", "breakthrough"):
            response = client.get("/trends/", {"metric": metric})
            assert response.status_code == 200
            assert b'id="trend-chart-data"' in response.content
            assert b"vendor/chart-4.6.1.umd.min.js" in response.content
        response = client.get(
            "/trends/", {"metric": "efficiency", "generator": elution.generator_id}
        )
        assert response.status_code == 200
        assert b"Elution efficiency" in response.content
    assert client.get("/trends/", {"metric": "nonsense", "from": "x"}).status_code == 200


@pytest.mark.django_db
def test_the_reviews_page_queues_a_review_for_the_lab_and_the_qp_only(
    client, make_user, celery_eager, django_capture_on_commit_callbacks
):
    today = site_today()
    period = {
        "period_from": f"{today - timedelta(days=6):%Y-%m-%d}",
        "period_to": f"{today:%Y-%m-%d}",
    }
    auditor = make_user("auditor")
    client.force_login(auditor)
    page = client.get("/quality-reviews/")
    assert page.status_code == 200 and b"Request the review" not in page.content
    assert client.post("/quality-reviews/", period).status_code == 403

    client.force_login(make_user("qualified_person"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/quality-reviews/", period).status_code == 302
    review = QualityReview.objects.get()
    assert review.status == QualityReview.Status.DONE
    client.force_login(auditor)
    download = client.get(f"/quality-reviews/{review.pk}/pdf/")
    assert download.status_code == 200 and download.content[:5] == b"%PDF-"
    bad = {"period_from": period["period_to"], "period_to": f"{today + timedelta(days=2):%Y-%m-%d}"}
    client.force_login(make_user("radiopharmacist"))
    assert client.post("/quality-reviews/", bad).status_code == 400
