"""The QC form of a batch: every value in one keyboard-first form, one POST (UI.md, SPEC §2.4)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from qc.models import Deviation, QcResult
from tests.factories import PASSING_RELEASE_VALUES, REFERENCE_TIME, BatchFactory, hours

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_the_day_of_the_batches():
    """The factory's batches end synthesis at REFERENCE_TIME and expire 4 h later: enter their
    QC that morning, whatever day the suite runs."""
    with time_machine.travel(REFERENCE_TIME + hours(2), tick=True):
        yield


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(batch, values: dict, **extra) -> dict:
    """The batch form as a browser posts it: a value, a time, instrument and method per test."""
    when = local(batch.eos_at + timedelta(minutes=10))
    data = {}
    for code, value in values.items():
        data[f"{code}-value"] = str(value)
        data[f"{code}-performed_at"] = when
    data.update(extra)
    return data


def test_page_is_one_form_with_the_values_first_in_tab_order(web, radiopharmacist):
    batch = BatchFactory()
    page = web(radiopharmacist).get(f"/batches/{batch.pk}/qc/").content.decode()
    body = page[page.index('<form method="post" id="qc-form"') :]
    body = body[: body.index("</form>")]
    assert body.count('type="submit"') == 1 and "<form" not in body[1:]
    names = re.findall(r'<input[^>]* name="([a-z0-9_]+-[a-z_]+)"', body)
    first_other = min(i for i, n in enumerate(names) if not n.endswith("-value"))
    # Tab goes from one value to the next: every value field comes before any other field
    assert all(n.endswith("-value") for n in names[:first_other])
    assert all(not n.endswith("-value") for n in names[first_other:])
    assert "ph-value" in names and "endotoxin-value" in names


def test_one_post_saves_every_typed_value_and_returns_to_the_form(web, radiopharmacist):
    batch = BatchFactory()
    client = web(radiopharmacist)
    values = {c: v for c, v in PASSING_RELEASE_VALUES.items()}
    response = client.post(f"/batches/{batch.pk}/qc/", form_data(batch, values))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/batches/{batch.pk}/qc/#qc-saved")  # not the top
    assert QcResult.objects.filter(batch=batch).count() == len(values)
    assert all(r.analyst == radiopharmacist for r in QcResult.objects.filter(batch=batch))
    page = client.get(response["Location"]).content.decode()
    assert 'id="qc-saved"' in page
    assert "Appearance: pass — within specification<" in page
    assert "RCP (ITLC): 98.2 % — within specification (≥ 95 %)" in page
    assert " passes (" not in page  # not "Appearance: pass passes (pass)"
    assert "Releasable" in page and "release-ready" in page


def test_rows_left_empty_are_skipped(web, radiopharmacist):
    batch = BatchFactory()
    client = web(radiopharmacist)
    data = form_data(batch, {"ph": "6.5", "rcp_itlc": ""})
    assert client.post(f"/batches/{batch.pk}/qc/", data).status_code == 302
    assert list(batch.qc_results.values_list("test_code", flat=True)) == ["ph"]


def test_nothing_typed_is_a_400_that_says_so(web, radiopharmacist):
    batch = BatchFactory()
    response = web(radiopharmacist).post(f"/batches/{batch.pk}/qc/", form_data(batch, {}))
    assert response.status_code == 400
    assert "Type at least one result." in response.content.decode()


def test_a_bad_value_saves_nothing_and_keeps_every_value_typed(web, radiopharmacist):
    batch = BatchFactory()
    data = form_data(batch, {"ph": "6.5", "rcp_itlc": "ninety", "endotoxin": "< 2.0"})
    data["ph-instrument"] = "pH meter 3"
    response = web(radiopharmacist).post(f"/batches/{batch.pk}/qc/", data)
    assert response.status_code == 400
    assert not batch.qc_results.exists()
    body = response.content.decode()
    assert 'value="6.5"' in body and 'value="ninety"' in body and 'value="&lt; 2.0"' in body
    assert 'value="pH meter 3"' in body
    row = body[
        body.index('id="row-rcp_itlc"') : body.index(
            'id="row-', body.index('id="row-rcp_itlc"') + 1
        )
    ]
    assert "has-error" in row and "Enter a number for this test" in row


def test_a_service_refusal_rolls_back_the_whole_form(web, radiopharmacist):
    batch = BatchFactory()
    data = form_data(batch, {"ph": "6.5", "rcp_itlc": "98.2"})
    data["rcp_itlc-performed_at"] = local(batch.started_at - timedelta(minutes=30))
    response = web(radiopharmacist).post(f"/batches/{batch.pk}/qc/", data)
    assert response.status_code == 400
    assert not batch.qc_results.exists()  # pH was valid, but the form is saved as a whole
    body = response.content.decode()
    assert "before the synthesis started" in body and "Nothing was saved" in body
    assert 'value="6.5"' in body and 'value="98.2"' in body


def test_a_censored_value_is_saved_as_typed_and_judged(web, radiopharmacist):
    batch = BatchFactory()
    client = web(radiopharmacist)
    response = client.post(f"/batches/{batch.pk}/qc/", form_data(batch, {"endotoxin": "< 2.0"}))
    result = batch.qc_results.get()
    assert (result.value_qualifier, result.value_number, result.passed) == ("<", 2.0, True)
    page = client.get(response["Location"]).content.decode()
    assert "Bacterial endotoxins: &lt; 2.0 IU/mL — within specification" in page


def test_a_failing_value_says_out_of_specification_and_opens_an_oos(web, radiopharmacist):
    batch = BatchFactory()
    client = web(radiopharmacist)
    response = client.post(f"/batches/{batch.pk}/qc/", form_data(batch, {"rcp_itlc": "94"}))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "RCP (ITLC): 94 % — out of specification (≥ 95 %)" in page
    assert Deviation.objects.filter(batch=batch, kind="oos").count() == 1
    assert "Not releasable yet" in page and "RCP 94.0 % is below the 95 % limit" in page


def test_instrument_and_method_are_remembered_per_analyst(web, radiopharmacist, make_user):
    first = BatchFactory()
    data = form_data(first, {"ph": "6.5"})
    data["ph-instrument"] = "pH meter SN 4411"
    data["ph-method_details"] = "Ph. Eur. 2.2.3, 3-point calibration"
    web(radiopharmacist).post(f"/batches/{first.pk}/qc/", data)

    second = BatchFactory()
    page = web(radiopharmacist).get(f"/batches/{second.pk}/qc/").content.decode()
    assert 'value="pH meter SN 4411"' in page
    assert 'value="Ph. Eur. 2.2.3, 3-point calibration"' in page
    colleague = make_user("radiopharmacist")
    assert (
        "pH meter SN 4411" not in web(colleague).get(f"/batches/{second.pk}/qc/").content.decode()
    )


def test_a_correction_in_place_shows_old_and_new_with_the_reason_and_keeps_the_instrument(
    web, radiopharmacist
):
    batch = BatchFactory()
    client = web(radiopharmacist)
    data = form_data(batch, {"rcp_itlc": "96"})
    data["rcp_itlc-instrument"] = "ITLC scanner A"
    client.post(f"/batches/{batch.pk}/qc/", data)
    page = client.get(f"/batches/{batch.pk}/qc/").content.decode()
    assert 'id="reason-rcp_itlc"' in page and 'value="ITLC scanner A"' in page

    # the correction posts the form as the page shows it, the instrument field left as prefilled
    refused = client.post(
        f"/batches/{batch.pk}/qc/",
        form_data(batch, {"rcp_itlc": "97.5"}, **{"rcp_itlc-instrument": ""}),
    )
    assert refused.status_code == 400 and "needs a reason" in refused.content.decode()
    assert 'value="97.5"' in refused.content.decode()

    response = client.post(
        f"/batches/{batch.pk}/qc/",
        form_data(batch, {"rcp_itlc": "97.5"}, **{"rcp_itlc-reason": "transcription error"}),
    )
    assert response.status_code == 302
    new = batch.qc_results.order_by("id").last()
    assert new.supersedes is not None and new.instrument == "ITLC scanner A"
    page = client.get(response["Location"]).content.decode()
    assert (
        "RCP (ITLC): 96 % → 97.5 % (corrected: transcription error) — within specification" in page
    )
    assert "corrected from 96 %: transcription error" in page


def test_a_released_batch_offers_only_its_post_release_tests(web, radiopharmacist):
    batch = BatchFactory(status="released")
    body = web(radiopharmacist).get(f"/batches/{batch.pk}/qc/").content.decode()
    assert 'name="sterility-value"' in body and 'name="ph-value"' not in body
