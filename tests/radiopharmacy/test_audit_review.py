"""The audit-trail review (SPEC §2.8, Annex 11 §9): a period's changes, corrections, refusals and
signatures, signed by an auditor or a qualified person with the one re-authentication; the
signing lands in the trail; reviews are listed; an overdue period raises one alert."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from radiopharmacy.core import audit
from radiopharmacy.core.audit import AuditAction
from radiopharmacy.core.audit_review import (
    OVERDUE_KIND,
    REVIEW_MEANING,
    audit_review_overdue_alerts,
    audit_review_sign,
)
from radiopharmacy.core.errors import ApplicationError, NotAllowed, StateConflict
from radiopharmacy.models import Alert, AuditEvent, AuditReview
from radiopharmacy.tasks import audit_review_overdue_task
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# A period before every clock the suite runs at (`make test-clocks`), so that the entries the
# fixtures write (users and their roles) fall outside it and are never older than the interval.
START = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
END = datetime(2025, 2, 1, 6, 0, tzinfo=UTC)
SIGNING_TIME = datetime(2025, 2, 2, 9, 0, tzinfo=UTC)
# The same period as typed in the site's zone (CET in winter).
QUERY = {"since": "2025-01-01T07:00", "until": "2025-02-01T07:00"}


def entry(at: datetime, action=AuditAction.CHANGED, *, actor=None, reason=""):
    with time_machine.travel(at, tick=False), transaction.atomic():
        return audit.record(
            actor=actor,
            action=action,
            object_type="radiopharmacy.batch",
            object_id=7,
            reason=reason,
        )


@pytest.fixture
def period_entries(radiopharmacist):
    return [
        entry(START + timedelta(days=1), AuditAction.CREATED, actor=radiopharmacist),
        entry(
            START + timedelta(days=2), AuditAction.CORRECTED, actor=radiopharmacist, reason="typo"
        ),
        entry(
            START + timedelta(days=3), AuditAction.SIGNATURE_REAUTH_FAILED, actor=radiopharmacist
        ),
        entry(START + timedelta(days=4), AuditAction.RELEASED),
    ]


@pytest.fixture
def signing_time():
    with time_machine.travel(SIGNING_TIME, tick=False) as traveller:
        yield traveller


def sign(actor, **overrides):
    data = dict(actor=actor, password=TEST_PASSWORD, period_start=START, period_end=END)
    data.update(overrides)
    return audit_review_sign(**data)


@pytest.mark.usefixtures("signing_time")
@pytest.mark.requirement("AUD-05", "A11-9")
def test_a_signed_review_is_stored_and_lands_in_the_trail(auditor, period_entries):
    review = sign(auditor, note="Nothing unexpected.")
    reviewed = [e for e in period_entries if e.action != AuditAction.CREATED]
    assert review.entry_count == len(reviewed)  # the creation is not among what a review lists
    assert (review.last_entry_id, review.last_entry_hash) == (reviewed[-1].pk, reviewed[-1].hash)
    assert review.meaning == REVIEW_MEANING
    assert review.signed_at == SIGNING_TIME
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_REVIEWED)
    assert (event.user, event.object_id, event.reason) == (
        auditor,
        str(review.pk),
        "Nothing unexpected.",
    )


@pytest.mark.usefixtures("signing_time")
@pytest.mark.requirement("AUD-05", "P11-11.10(g)")
def test_a_qualified_person_signs_too_and_a_radiopharmacist_cannot(
    qualified_person, radiopharmacist, period_entries
):
    assert sign(qualified_person).reviewer == qualified_person
    with pytest.raises(NotAllowed):
        sign(radiopharmacist)
    assert AuditReview.objects.count() == 1


@pytest.mark.usefixtures("signing_time")
@pytest.mark.requirement("AUD-05", "P11-11.200")
def test_a_wrong_password_signs_nothing_and_is_logged(auditor, period_entries):
    with pytest.raises(NotAllowed):
        sign(auditor, password="not the password")
    assert not AuditReview.objects.exists()
    failure = AuditEvent.objects.filter(action=AuditAction.SIGNATURE_REAUTH_FAILED).last()
    assert failure.user == auditor
    assert "audit-trail review" in failure.reason


@pytest.mark.requirement("AUD-06")
@pytest.mark.usefixtures("signing_time")
def test_a_qualified_person_needs_the_second_factor_where_the_site_requires_it(
    settings, qualified_person, period_entries
):
    settings.GALLIUM_SIGNATURE_OTP = True
    with pytest.raises(NotAllowed) as refused:
        sign(qualified_person)
    assert "otp_token" in refused.value.fields
    assert not AuditReview.objects.exists()


@pytest.mark.usefixtures("signing_time")
def test_entries_added_after_the_page_was_shown_refuse_the_signature(auditor, period_entries):
    shown_last = period_entries[-2].pk
    with pytest.raises(StateConflict):
        sign(auditor, expected_last_entry_id=shown_last)
    assert not AuditReview.objects.exists()


@pytest.mark.usefixtures("signing_time")
def test_a_period_ending_in_the_future_or_backwards_is_a_field_error(auditor):
    with pytest.raises(ApplicationError) as future:
        sign(auditor, period_end=SIGNING_TIME + timedelta(days=1))
    assert "period_end" in future.value.fields
    with pytest.raises(ApplicationError) as backwards:
        sign(auditor, period_start=END, period_end=START)
    assert "period_end" in backwards.value.fields


@pytest.mark.requirement("AUD-05", "A11-9")
def test_the_review_page_lists_the_period_and_signing_shows_on_the_reviews_page(
    client, auditor, period_entries, signing_time
):
    client.force_login(auditor)
    query = QUERY
    page = client.get("/audit/reviews/new/", query)
    assert page.status_code == 200
    listed = [e.event.pk for e in page.context["entries"]]
    assert listed == [e.pk for e in period_entries[1:]]
    assert "typo" in page.content.decode()
    response = client.post(
        "/audit/reviews/new/",
        {**query, "note": "Reviewed.", "last_entry_id": listed[-1], "password": TEST_PASSWORD},
    )
    assert response.status_code == 302, response.content
    reviews = client.get("/audit/reviews/")
    assert reviews.status_code == 200
    review = AuditReview.objects.get()
    assert review.printed_name in reviews.content.decode()
    assert "Reviewed." in reviews.content.decode()


def test_a_wrong_password_on_the_page_shows_the_error_and_signs_nothing(
    client, auditor, period_entries, signing_time
):
    client.force_login(auditor)
    response = client.post(
        "/audit/reviews/new/",
        {
            **QUERY,
            "last_entry_id": period_entries[-1].pk,
            "password": "wrong",
        },
    )
    assert response.status_code == 403
    assert "password is not correct" in response.content.decode()
    assert not AuditReview.objects.exists()


@pytest.mark.requirement("AUD-05", "A11-9")
def test_the_api_signs_and_lists_reviews(api_as, auditor, period_entries, signing_time):
    client = api_as(auditor)
    response = client.post(
        "/api/v1/audit-reviews/",
        {
            "period_start": START.isoformat(),
            "period_end": END.isoformat(),
            "note": "API review",
            "password": TEST_PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.data["entry_count"] == 3
    listed = client.get("/api/v1/audit-reviews/")
    assert listed.status_code == 200
    assert [r["note"] for r in listed.data["results"]] == ["API review"]


def test_the_api_refuses_a_naive_period_with_a_field_message(api_as, auditor, signing_time):
    response = api_as(auditor).post(
        "/api/v1/audit-reviews/",
        {"period_start": "2026-10-01T00:00", "period_end": END.isoformat(), "password": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "period_start" in response.data


@pytest.mark.requirement("AUD-05", "A11-9")
def test_an_overdue_review_raises_one_alert_even_when_the_job_runs_twice(period_entries):
    later = START + timedelta(days=45)
    assert audit_review_overdue_alerts(now=later) == 1
    assert audit_review_overdue_alerts(now=later) == 0
    assert Alert.objects.filter(kind=OVERDUE_KIND).count() == 1


def test_the_beat_task_raises_the_alert_once(period_entries):
    with time_machine.travel(START + timedelta(days=45), tick=False):
        audit_review_overdue_task()
        audit_review_overdue_task()
    assert Alert.objects.filter(kind=OVERDUE_KIND).count() == 1


def test_no_alert_within_the_interval_or_once_the_period_is_reviewed(auditor, period_entries):
    assert audit_review_overdue_alerts(now=START + timedelta(days=20)) == 0
    with time_machine.travel(SIGNING_TIME, tick=False):
        sign(auditor)
    # only the review's own entry, signed within the interval, is left unreviewed
    assert audit_review_overdue_alerts(now=SIGNING_TIME + timedelta(days=10)) == 0
    assert not Alert.objects.filter(kind=OVERDUE_KIND).exists()


def test_auditors_and_qualified_persons_have_the_reviews_in_their_menu(
    client, auditor, qualified_person, radiopharmacist
):
    for user, shown in ((auditor, True), (qualified_person, True), (radiopharmacist, False)):
        client.force_login(user)
        assert ('href="/audit/reviews/"' in client.get("/").content.decode()) is shown


def test_the_reviews_list_reads_a_constant_number_of_queries(
    api_as, client, auditor, qualified_person, period_entries, django_assert_max_num_queries
):
    with time_machine.travel(SIGNING_TIME, tick=False):
        for reviewer in (auditor, qualified_person, auditor):
            sign(reviewer)
    api = api_as(auditor)
    client.force_login(auditor)
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/audit-reviews/").data["results"]) == 3
    with django_assert_max_num_queries(15):
        assert client.get("/audit/reviews/").status_code == 200


def test_the_review_page_reads_a_bounded_number_of_queries(
    client, auditor, radiopharmacist, signing_time, django_assert_max_num_queries
):
    for day in range(30):
        entry(START + timedelta(days=day, hours=1), AuditAction.CHANGED, actor=radiopharmacist)
    client.force_login(auditor)
    with django_assert_max_num_queries(15):
        page = client.get("/audit/reviews/new/", QUERY)
    assert len(page.context["entries"]) == 30


def test_an_entry_added_while_the_page_was_open_refuses_the_page_and_shows_it_again(
    client, auditor, period_entries, signing_time
):
    client.force_login(auditor)
    query = QUERY
    shown_last = client.get("/audit/reviews/new/", query).context["last_entry_id"]
    late = entry(START + timedelta(days=20), AuditAction.CHANGED)  # a late-committed change
    response = client.post(
        "/audit/reviews/new/",
        {**query, "note": "Kept.", "last_entry_id": shown_last, "password": TEST_PASSWORD},
    )
    assert response.status_code == 409
    assert not AuditReview.objects.exists()
    assert response.context["sign"]["last_entry_id"].value() == late.pk
    assert response.context["sign"]["note"].value() == "Kept."


def test_an_unreviewed_gap_before_a_review_raises_the_alert_and_is_listed(
    client, auditor, period_entries
):
    later_start = START + timedelta(days=10)  # the first entries of the month stay unreviewed
    with time_machine.travel(SIGNING_TIME, tick=False):
        sign(auditor, period_start=later_start)
        sign(auditor, period_start=START - timedelta(days=31), period_end=START)
    now = START + timedelta(days=45)
    assert audit_review_overdue_alerts(now=now) == 1
    alert = Alert.objects.get(kind=OVERDUE_KIND)
    assert f"entry {period_entries[0].pk}" in alert.message
    client.force_login(auditor)
    with time_machine.travel(now, tick=False):
        page = client.get("/audit/reviews/").content.decode()
    assert "Not covered by any review" in page
    assert "Review overdue" in page
