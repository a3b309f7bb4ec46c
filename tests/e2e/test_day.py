"""A day in the radiopharmacy (SPEC §1), through the web pages only, in Chromium.

The generator is registered through its service (it arrives before the day starts); everything
else is typed into the pages by the role that does it. Times are relative to now, so the day
works whenever CI runs: elution 40 min ago, synthesis ending 5 min ago, QC now, release now,
an injection in an hour.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from radiopharmacy import physics
from radiopharmacy.models import Batch
from radiopharmacy.services.generators import generator_accept, generator_register
from scheduling.models import Booking, Dose
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSING_RELEASE_VALUES, TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def local(moment) -> str:
    """A datetime-local input value in the site's zone (the browser runs in the same zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def flash(page) -> str:
    return page.locator(".messages").inner_text()


@pytest.fixture
def certificate_renderer(request):
    """Certificates are rendered by Celery: in-process on the embedded default, by a real
    worker process when Redis is configured (CI's second run)."""
    from radiopharmacy.celery import app

    if not app.conf.task_always_eager:
        request.getfixturevalue("celery_worker_process")


def wait_for_certificate_link(page, url):
    """The batch record shows the certificate link once the task has rendered it."""
    link = page.get_by_role("link", name="(PDF)")
    for _ in range(60):
        page.goto(url)
        if link.count():
            return link
        page.wait_for_timeout(500)
    pytest.fail("the certificate was not rendered within 30 s")


@pytest.fixture
def staff(make_user):
    return {
        "rp": make_user("radiopharmacist", username="rhea", first_name="Rhea", last_name="Pharm"),
        "qp": make_user("qualified_person", username="quentin", first_name="Quentin"),
        "sch": make_user("scheduler", username="sam", first_name="Sam", last_name="Planner"),
        "aud": make_user("auditor", username="ada", first_name="Ada", last_name="Auditor"),
    }


@pytest.mark.requirement("WEB-01", "WEB-02")
def test_a_day_in_the_radiopharmacy(working_hours, page, staff, certificate_renderer):
    now = timezone.now().replace(second=0, microsecond=0)
    generator = generator_register(
        actor=staff["rp"],
        manufacturer="Eckert & Ziegler",
        model="GalliaPharm",
        serial_number="GP-E2E-0001",
        nominal_activity_mbq=1850.0,
        calibrated_at=now - timedelta(days=30),
        received_at=now - timedelta(days=28),
    )
    generator = generator_accept(  # a new generator starts in quarantine (SPEC §2.2)
        actor=staff["rp"],
        generator_id=generator.pk,
        note="Receipt check done.",
        documents_checked=True,
        certificate_activity_checked=True,
        first_eluate_checked=True,
    )
    base = page.base_url

    # --- Radiopharmacist: elution, synthesis, QC -------------------------------------------
    login(page, "rhea", TEST_PASSWORD)
    assert page.get_by_role("heading", name="Radiopharmacist · today").is_visible()
    assert page.locator(f"#dash-gen-{generator.pk}").count() == 1  # the eluate curve's data
    screenshot(page, "dashboard-radiopharmacist")

    page.goto(f"{base}/generators/{generator.pk}/elutions/new/")
    eluted = now - timedelta(minutes=40)
    page.locator("#id_eluted_at").fill(local(eluted))
    page.get_by_label("Eluate activity as measured (MBq)").fill("1100")
    page.locator("#id_measured_at").fill(local(eluted))
    page.get_by_label("Eluent (HCl) lot").fill("HCl-E2E-1")
    page.get_by_role("button", name="Record elution").click()
    assert "Elution recorded" in flash(page)

    page.goto(f"{base}/batches/new/")
    page.locator("input[name=elutions]").first.check()
    page.get_by_label("Module name").fill("Modular-Lab eazy")
    page.get_by_label("Precursor lot").fill("DOTATATE-E2E")
    page.get_by_label("Precursor mass (µg)").fill("25")
    page.locator("#id_started_at").fill(local(now - timedelta(minutes=30)))
    page.locator("#id_eos_at").fill(local(now - timedelta(minutes=5)))
    page.get_by_label("Product activity (MBq)").fill("620")
    page.locator("#id_measured_at").fill(local(now - timedelta(minutes=5)))
    page.get_by_label("Volume (mL)").fill("10")
    page.get_by_role("button", name="Record batch").click()
    assert "QC pending" in flash(page)
    batch = Batch.objects.get()

    page.goto(f"{base}/batches/{batch.pk}/qc/")
    for code, value in PASSING_RELEASE_VALUES.items():  # one form for the whole batch
        if page.locator(f"#row-{code}").count():  # applicable to this method
            page.locator(f"#value-{code}").fill(str(value))
    page.get_by_role("button", name="Save all results typed").click()
    assert "within specification" in page.locator("#qc-saved").inner_text()
    page.goto(f"{base}/batches/{batch.pk}/")
    assert page.get_by_text("All release tests pass: ready for release.").is_visible()

    # --- Qualified person: release with the password, download the certificate -------------
    login(page, "quentin", TEST_PASSWORD)
    assert page.get_by_text(batch.batch_number).first.is_visible()
    screenshot(page, "dashboard-qualified-person")
    page.goto(f"{base}/batches/{batch.pk}/release/")
    page.get_by_label("Released for human use").check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign").click()
    assert "Released for human use, signed by" in flash(page)
    certificate_link = wait_for_certificate_link(page, f"{base}/batches/{batch.pk}/")
    pdf = page.request.get(base + certificate_link.get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.get_by_role("link", name="Verify this certificate").click()
    assert page.get_by_text(batch.batch_number).first.is_visible()

    # --- Scheduler: book patients, compute and accept the plan ------------------------------
    login(page, "sam", TEST_PASSWORD)
    injection = now + timedelta(minutes=60)
    for ref, weight, at in (("P-E2E-01", "80", injection), ("P-E2E-02", "65", injection)):
        page.goto(f"{base}/bookings/new/")
        page.get_by_label("Patient reference").fill(ref)
        page.get_by_label("Weight (kg)").fill(weight)
        page.locator("#id_injection_at").fill(local(at + timedelta(minutes=5 * (ref[-1] == "2"))))
        page.get_by_role("button", name="Book").click()
        page.wait_for_url("**/bookings/**")
    assert Booking.objects.count() == 2
    page.goto(f"{base}/plan/?generator={generator.pk}")
    page.get_by_role("button", name="Compute plan").click()
    page.get_by_role("button", name="Accept plan").click()
    assert "accepted" in page.locator("main").inner_text().lower()
    page.goto(f"{base}/")
    assert page.get_by_text("P-E2E-01").first.is_visible()
    screenshot(page, "dashboard-scheduler")

    # --- Radiopharmacist: assign, measure and administer a dose ----------------------------
    login(page, "rhea", TEST_PASSWORD)
    booking = Booking.objects.get(patient_ref="P-E2E-01")
    page.goto(f"{base}/doses/assign/?booking={booking.pk}")
    page.get_by_label("Released batch").select_option(str(batch.pk))
    page.get_by_role("button", name="Assign").click()
    assert "Dose assigned" in flash(page)
    dose = Dose.objects.get()
    page.goto(f"{base}/")
    assert page.get_by_text(f"{dose.volume_to_draw_ml:.2f}").first.is_visible()
    screenshot(page, "dashboard-radiopharmacist-doses")

    page.goto(f"{base}/doses/{dose.pk}/")
    # Measured, injected and the residual read in the last minutes: nothing is in the future.
    measured_at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    # what the syringe holds now for the prescription at the injection time
    syringe = physics.decay_activity(
        booking.prescribed_activity_mbq, from_time=booking.injection_at, to_time=measured_at
    )
    page.get_by_label("Syringe activity as measured (MBq)").fill(f"{syringe:.1f}")
    page.locator("#id_measured_at").fill(local(measured_at))
    page.get_by_role("button", name="Record measurement").click()
    page.locator("#id_injected_at").fill(local(measured_at + timedelta(minutes=1)))
    page.get_by_label("Residual activity in the syringe (MBq)").fill("2")
    page.locator("#id_residual_measured_at").fill(local(measured_at + timedelta(minutes=2)))
    page.get_by_role("button", name="Record administration").click()
    dose.refresh_from_db()
    assert dose.status == "administered" and dose.administered_activity_mbq > 0

    # --- Auditor: the batch record with every step in its audit trail ----------------------
    login(page, "ada", TEST_PASSWORD)
    screenshot(page, "dashboard-auditor")
    page.goto(f"{base}/batches/?q={batch.batch_number}")
    page.get_by_role("link", name=batch.batch_number).click()
    trail = page.locator("section", has=page.get_by_role("heading", name="Audit trail"))
    text = trail.inner_text()
    # The trail as people read it: record types and actions in words.
    for step in (
        "Elution",
        "Batch",
        "QC result",
        "Signed",
        "Released",
        "Certificate rendered",
        "Dose",
    ):
        assert step in text, step
    assert page.get_by_text("Released for human use").first.is_visible()
    assert page.locator("form[method=post]").count() == 2  # unit switch and log out only
    screenshot(page, "batch-record-auditor")
    page.goto(f"{base}/audit/?object_type=dose&object_id={dose.pk}")
    assert page.get_by_role("cell", name="Administered").first.is_visible()
    screenshot(page, "audit-search")
