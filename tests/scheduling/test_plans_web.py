"""The Plan page: renders for every role, write controls for schedulers only, compute and accept
from the page, timeline and tables in the site's zone, the menu item."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from radiopharmacy.core.roles import ALL_ROLES
from scheduling import plan_inputs
from scheduling.models import ProductionPlan
from scheduling.services import plans as services_plans
from tests.factories import BookingFactory, GeneratorFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
DAY = date(2026, 11, 24)


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 24, h, m, tzinfo=AMS)


@pytest.fixture(autouse=True)
def early(time_machine):
    time_machine.move_to(at("06:50"), tick=False)


@pytest.fixture
def generator():
    return GeneratorFactory()


@pytest.fixture
def draft(scheduler, generator):
    BookingFactory(injection_at=at("07:30"), patient_ref="P-EARLY-1")
    BookingFactory(injection_at=at("09:30"), patient_ref="P-0930-1", prescribed_activity_mbq=150)
    BookingFactory(injection_at=at("13:00"), patient_ref="P-1300-1", prescribed_activity_mbq=150)
    return services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=generator.pk)


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.requirement("WEB-01")
def test_plan_page_renders_for_every_role_with_buttons_only_for_schedulers(
    client, make_user, role, draft
):
    client.force_login(make_user(role))
    response = client.get(reverse("plan-day"), {"date": "2026-11-24"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Plan {draft.pk}" in html and "Draft" in html
    assert "P-0930-1" in html and "P-EARLY-1" in html  # served and unserved
    assert "css/plan.css" in html and 'class="timeline"' in html
    assert ("Compute plan" in html) == (role == "scheduler")
    assert (f"Accept plan {draft.pk}" in html) == (role == "scheduler")
    assert ('action="/plan/' in html) == (role == "scheduler")
    assert '<a href="/plan/"' in html  # the menu item


@pytest.mark.requirement("WEB-04")
def test_plan_page_shows_times_in_the_site_zone_and_the_explanations(client, scheduler, draft):
    client.force_login(scheduler)
    html = client.get(reverse("plan-day"), {"date": "2026-11-24"}).content.decode()
    run = draft.result["runs"][0]
    elution = plan_inputs.parse_time(run["elution_at"]).astimezone(AMS)
    assert f"{elution:%H:%M} CET" in html
    assert run["explanation"][0].split(":")[0] in html
    assert "Column at 06:50 CET" in html
    unserved = draft.result["unserved"][0]
    assert unserved["reason"] in html
    assert "Reschedule" in html
    assert html.count('class="marker draw"') == sum(len(r["doses"]) for r in draft.result["runs"])
    assert 'class="marker unserved"' in html


def test_plan_page_without_plan_invites_the_scheduler_to_compute(client, scheduler, generator):
    client.force_login(scheduler)
    html = client.get(reverse("plan-day"), {"date": "2026-11-24"}).content.decode()
    assert "No plan for this day" in html and "Compute plan" in html
    assert client.get(reverse("plan-day"), {"date": "garbage"}).status_code == 200
    assert client.get(reverse("plan-day")).status_code == 200


def test_compute_then_accept_from_the_page(client, scheduler, generator):
    BookingFactory(injection_at=at("10:00"), prescribed_activity_mbq=150)
    client.force_login(scheduler)
    response = client.post(
        reverse("plan-compute"), {"date": "2026-11-24", "generator": generator.pk}
    )
    plan = ProductionPlan.objects.get()
    assert response.status_code == 302
    assert f"plan={plan.pk}" in response["Location"] and "date=2026-11-24" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "Draft plan computed: 1 run(s) serve 1 of 1 booking(s)." in page
    response = client.post(reverse("plan-accept", args=[plan.pk]))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "accepted" and plan.runs.count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Plan accepted" in page and "Accept plan" not in page


def test_accepting_twice_from_the_page_says_why(client, scheduler, draft):
    client.force_login(scheduler)
    client.post(reverse("plan-accept", args=[draft.pk]))
    response = client.post(reverse("plan-accept", args=[draft.pk]), follow=True)
    assert "Only a draft plan can be accepted" in response.content.decode()


def test_compute_from_the_page_reports_bad_input(client, scheduler, generator):
    client.force_login(scheduler)
    response = client.post(
        reverse("plan-compute"), {"date": "2026-11-24", "generator": "999"}, follow=True
    )
    assert "No generator 999." in response.content.decode()
    response = client.post(
        reverse("plan-compute"), {"date": "nope", "generator": generator.pk}, follow=True
    )
    assert "is not a date" in response.content.decode()
    assert not ProductionPlan.objects.exists()


@pytest.mark.parametrize("role", ["radiopharmacist", "qualified_person", "auditor"])
@pytest.mark.requirement("API-07")
def test_other_roles_cannot_compute_or_accept(client, make_user, role, generator, draft):
    client.force_login(make_user(role))
    response = client.post(
        reverse("plan-compute"), {"date": "2026-11-24", "generator": generator.pk}
    )
    assert response.status_code == 403
    assert client.post(reverse("plan-accept", args=[draft.pk])).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft" and ProductionPlan.objects.count() == 1


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("plan-day"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_plan_page_opens_on_the_generator_with_the_days_accepted_plan(client, scheduler):
    planned = GeneratorFactory()
    GeneratorFactory()  # newer, without a plan
    BookingFactory(injection_at=at("09:30"), prescribed_activity_mbq=150)
    plan = services_plans.plan_compute(actor=scheduler, date=DAY, generator_id=planned.pk)
    services_plans.plan_accept(actor=scheduler, plan_id=plan.pk)
    client.force_login(scheduler)
    response = client.get(reverse("plan-day"), {"date": "2026-11-24"})
    assert response.context["generator"] == planned
    assert f"Plan {plan.pk}" in response.content.decode()


def test_reschedule_link_prefills_the_suggested_time(client, scheduler, draft):
    client.force_login(scheduler)
    html = client.get(reverse("plan-day"), {"date": "2026-11-24"}).content.decode()
    unserved = next(u for u in draft.result["unserved"] if u["suggested_injection_at"])
    suggested = plan_inputs.parse_time(unserved["suggested_injection_at"]).astimezone(AMS)
    assert "?suggested=" in html
    page = client.get(
        reverse("booking-detail", args=[unserved["booking"]]),
        {"suggested": unserved["suggested_injection_at"]},
    ).content.decode()
    assert f'value="{suggested:%Y-%m-%dT%H:%M}"' in page
