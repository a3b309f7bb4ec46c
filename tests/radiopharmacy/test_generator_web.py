"""Generator pages: every role can read, only radiopharmacists see and use the forms."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from radiopharmacy.models import AuditEvent, Elution, Generator
from tests.factories import REFERENCE_TIME, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + hours(6)  # 14:00 in Amsterdam (CET)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def generator():
    g = GeneratorFactory(max_elutions=2)
    ElutionFactory(generator=g, eluted_at=REFERENCE_TIME, eluent_lot="LOT-7")
    return g


def login(client, make_user, role):
    user = make_user(role)
    client.force_login(user)
    return user


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("WEB-01")
def test_list_and_detail_render_for_every_role(client, make_user, generator, role):
    login(client, make_user, role)
    listing = client.get(reverse("generator-list"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert generator.serial_number in body
    assert "In use" in body and "Expected eluate now" in body
    assert "14:00 CET" in body
    detail = client.get(reverse("generator-detail", args=[generator.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert 'id="generator-chart-data"' in page
    assert "js/generator-chart.js" in page
    assert "LOT-7" in page
    assert "08:00 CET" in page  # the elution at 07:00 UTC, shown in the site's zone
    writes = ("Record an elution", "Register a generator", "Change status", ">Correct<")
    if role == "radiopharmacist":
        assert "Record an elution" in page
        assert "Register a generator" in body
    else:
        assert not any(w in page or w in body for w in writes)


def test_detail_pages_the_elutions_newest_first(client, make_user, monkeypatch):
    """A page of elutions at a time, by keyset: Older leads to the next ones, Newer back."""
    from radiopharmacy.web import generators as generator_pages

    monkeypatch.setattr(generator_pages, "HISTORY_ROWS", 4)
    g = GeneratorFactory()
    lots = [f"LOT-{i:02}" for i in range(10)]
    for i, lot in enumerate(lots):  # one a day, the newest last
        ElutionFactory(generator=g, eluted_at=REFERENCE_TIME - hours(24 * (10 - i)), eluent_lot=lot)
    login(client, make_user, "radiopharmacist")
    url = reverse("generator-detail", args=[g.pk])

    def shown(response):
        return [row["elution"].eluent_lot for row in response.context["history"]]

    first = client.get(url)
    assert shown(first) == lots[::-1][:4]
    page = first.context["history_page"]
    assert page.newer is None and f"?before={page.older}" in first.content.decode()
    second = client.get(url, {"before": page.older})
    assert shown(second) == lots[::-1][4:8]
    last = client.get(url, {"before": second.context["history_page"].older})
    assert shown(last) == lots[::-1][8:] and last.context["history_page"].older is None
    back = client.get(url, {"after": last.context["history_page"].newer})
    assert shown(back) == lots[::-1][4:8]


def test_menu_has_generators(client, make_user):
    login(client, make_user, "scheduler")
    assert 'href="/generators/"' in client.get("/").content.decode()


@pytest.mark.requirement("GEN-07")
def test_detail_shows_warnings_strip(client, make_user):
    g = GeneratorFactory(max_elutions=1)
    ElutionFactory(generator=g, eluted_at=REFERENCE_TIME)
    login(client, make_user, "auditor")
    page = client.get(reverse("generator-detail", args=[g.pk])).content.decode()
    assert "alert-strip" in page and "allows 1" in page


def test_chart_data_covers_the_next_eight_hours(client, make_user, generator):
    login(client, make_user, "radiopharmacist")
    response = client.get(reverse("generator-detail", args=[generator.pk]))
    chart = response.context["chart"]
    assert chart["labels"][0] == "14:00" and chart["labels"][-1] == "22:00"
    assert len(chart["expected"]) == 49
    assert chart["expected"][-1] > chart["expected"][0]  # regrowth after the 08:00 elution


@pytest.mark.parametrize("role", ["auditor", "scheduler", "qualified_person"])
@pytest.mark.requirement("API-07", "P11-11.10(g)")
def test_forms_are_refused_to_other_roles(client, make_user, generator, role):
    login(client, make_user, role)
    for url in (
        reverse("generator-create"),
        reverse("elution-create", args=[generator.pk]),
        reverse("generator-status", args=[generator.pk]),
    ):
        assert client.get(url).status_code == 403
    response = client.post(reverse("elution-create", args=[generator.pk]), {})
    assert response.status_code == 403
    assert Elution.objects.count() == 1


@pytest.mark.requirement("WEB-02", "WEB-04")
def test_post_records_an_elution_read_in_the_site_zone(client, make_user, generator):
    user = login(client, make_user, "radiopharmacist")
    url = reverse("elution-create", args=[generator.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "eluted_at": "2026-11-24T11:45",
            "activity_mbq": "640",
            "measured_at": "2026-11-24T11:50",
            "volume_ml": "5",
            "eluent_lot": "LOT-8",
        },
    )
    assert response.status_code == 302, response.content.decode()
    elution = Elution.objects.get(eluent_lot="LOT-8")
    assert elution.eluted_at == datetime(2026, 11, 24, 10, 45, tzinfo=UTC)  # 11:45 CET
    assert elution.performed_by == user
    assert AuditEvent.objects.filter(action="created", object_id=str(elution.pk)).exists()
    page = client.get(response.url).content.decode()
    assert "Elution recorded" in page


@pytest.mark.requirement("PHY-04", "WEB-04")
def test_elution_in_mci_is_stored_in_mbq(client, make_user, generator):
    login(client, make_user, "radiopharmacist")
    session = client.session
    session["activity_unit"] = "mCi"
    session.save()
    url = reverse("elution-create", args=[generator.pk])
    assert "(mCi)" in client.get(url).content.decode()
    client.post(
        url,
        {
            "eluted_at": "2026-11-24T11:45",
            "activity_mbq": "10",
            "measured_at": "2026-11-24T11:45",
            "volume_ml": "5",
        },
    )
    assert Elution.objects.get(activity_mbq=370.0)


@pytest.mark.requirement("WEB-02")
def test_invalid_post_shows_the_error_next_to_the_field_and_keeps_values(
    client, make_user, generator
):
    login(client, make_user, "radiopharmacist")
    response = client.post(
        reverse("elution-create", args=[generator.pk]),
        {
            "eluted_at": "2026-11-24T11:45",
            "activity_mbq": "640",
            "measured_at": "2026-11-24T11:40",  # before the elution
            "volume_ml": "5",
            "eluent_lot": "LOT-9",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "id_measured_at-errors" in page
    assert "cannot be measured before it was eluted" in page
    assert 'value="640"' in page and 'value="LOT-9"' in page
    assert 'value="2026-11-24T11:40"' in page
    assert Elution.objects.count() == 1


def test_elution_on_quarantined_generator_shows_the_refusal(client, make_user):
    g = GeneratorFactory(status="quarantine")
    login(client, make_user, "radiopharmacist")
    response = client.post(
        reverse("elution-create", args=[g.pk]),
        {
            "eluted_at": "2026-11-24T11:45",
            "activity_mbq": "640",
            "measured_at": "2026-11-24T11:50",
            "volume_ml": "5",
        },
    )
    assert response.status_code == 200
    assert "cannot be eluted" in response.content.decode()


@pytest.mark.requirement("GEN-01", "WEB-02")
def test_register_generator_form(client, make_user):
    login(client, make_user, "radiopharmacist")
    data = {
        "manufacturer": "IRE ELiT",
        "model": "Galli Eo",
        "serial_number": "GE-77",
        "nominal_activity_mbq": "1850",
        "calibrated_at": "2026-11-01T12:00",
        "received_at": "2026-11-03T09:00",
        "nominal_efficiency_percent": "65",
        "status": "in_use",
    }
    response = client.post(reverse("generator-create"), data)
    assert response.status_code == 302, response.content.decode()
    generator = Generator.objects.get(serial_number="GE-77")
    assert generator.expires_at.isoformat() == "2027-11-01T11:00:00+00:00"
    again = client.post(reverse("generator-create"), data)
    assert again.status_code == 200
    assert "GE-77 exists" in again.content.decode()
    assert 'value="IRE ELiT"' in again.content.decode()


def test_breakthrough_form_too_early_then_pass(client, make_user):
    g = GeneratorFactory()
    elution = ElutionFactory(generator=g, eluted_at=REFERENCE_TIME - hours(72))
    login(client, make_user, "radiopharmacist")
    url = reverse("elution-breakthrough", args=[elution.pk])
    assert client.get(url).status_code == 200
    early = client.post(url, {"ge68_activity_kbq": "0.5", "measured_at": "2026-11-22T08:00"})
    assert early.status_code == 200
    assert "48 h" in early.content.decode()
    ok = client.post(url, {"ge68_activity_kbq": "0.5", "measured_at": "2026-11-24T08:00"})
    assert ok.status_code == 302
    assert elution.breakthrough_tests.get().passed


@pytest.mark.requirement("BAT-06", "WEB-02")
def test_status_form_and_correction_form(client, make_user, generator):
    login(client, make_user, "radiopharmacist")
    elution = generator.elutions.get()
    url = reverse("elution-correction", args=[elution.pk])
    page = client.get(url).content.decode()
    assert 'value="2026-11-24T08:00"' in page  # shown in the site's zone
    response = client.post(
        url,
        {
            "eluted_at": "2026-11-24T08:00",
            "activity_mbq": "900",
            "measured_at": "2026-11-24T08:00",
            "volume_ml": "5",
            "eluent_lot": "LOT-7",
            "reason": "wrong calibrator setting",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert Elution.objects.get(supersedes=elution).activity_mbq == 900
    status = client.post(
        reverse("generator-status", args=[generator.pk]),
        {"status": "retired", "reason": "end of life"},
    )
    assert status.status_code == 302
    generator.refresh_from_db()
    assert generator.status == "retired"
