"""Generator warnings (SPEC §2.2), the periodic job that raises them, and the demo loader."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from radiopharmacy.core.audit import verify_chain
from radiopharmacy.demo import LOADERS
from radiopharmacy.models import (
    Alert,
    AuditEvent,
    BreakthroughTest,
    Elution,
    Generator,
    SiteSettings,
)
from radiopharmacy.selectors import generators as selectors
from radiopharmacy.tasks import generator_warnings_task
from tests.factories import REFERENCE_TIME, ElutionFactory, GeneratorFactory, hours

pytestmark = pytest.mark.django_db

NOW = REFERENCE_TIME + hours(6)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def codes(generator):
    fresh = selectors.generator_get(generator_id=generator.pk)
    return {w.code for w in selectors.generator_warnings(fresh)}


def add_test(elution, *, passed, measured_at):
    return BreakthroughTest.objects.create(
        elution=elution,
        ge68_activity_kbq=0.5,
        measured_at=measured_at,
        breakthrough_percent=0.0001 if passed else 0.01,
        limit_percent=0.001,
        passed=passed,
        performed_by=elution.performed_by,
    )


def healthy_generator(**kwargs):
    generator = GeneratorFactory(**kwargs)
    elution = ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME - hours(72))
    add_test(elution, passed=True, measured_at=NOW - hours(20))
    return generator


@pytest.mark.requirement("GEN-07")
def test_healthy_generator_has_no_warnings():
    assert codes(healthy_generator()) == set()


@pytest.mark.requirement("GEN-07")
def test_expired_generator_warns():
    generator = healthy_generator(expires_at=NOW - hours(1))
    assert codes(generator) == {"expired"}


@pytest.mark.requirement("GEN-07")
def test_elution_count_at_the_maximum_warns_and_superseded_do_not_count():
    generator = healthy_generator(max_elutions=2)
    assert "max_elutions" not in codes(generator)
    old = ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME - hours(5))
    ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME - hours(5), supersedes=old)
    assert Elution.objects.filter(generator=generator).count() == 3
    assert "max_elutions" in codes(generator)
    generator.max_elutions = 3
    generator.save()
    assert "max_elutions" not in codes(generator)


@pytest.mark.requirement("GEN-07")
def test_efficiency_below_the_site_setting_warns():
    generator = healthy_generator()
    ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME, efficiency_percent=20.0)
    # Mean of the two elutions: (66.7 + 20) / 2 ≈ 43 % < 50 %.
    assert "low_efficiency" in codes(generator)
    site = SiteSettings.current()
    site.min_efficiency_percent = 40.0
    site.save()
    assert "low_efficiency" not in codes(generator)


@pytest.mark.requirement("GEN-07")
def test_failed_last_breakthrough_warns():
    generator = healthy_generator()
    elution = ElutionFactory(generator=generator, eluted_at=REFERENCE_TIME - hours(60))
    add_test(elution, passed=False, measured_at=NOW - hours(1))
    assert codes(generator) == {"breakthrough_failed"}


@pytest.mark.requirement("GEN-07")
def test_no_breakthrough_test_for_the_set_number_of_days_warns():
    generator = GeneratorFactory(received_at=NOW - timedelta(days=31))
    assert "breakthrough_overdue" in codes(generator)
    elution = ElutionFactory(generator=generator, eluted_at=NOW - timedelta(days=29))
    add_test(elution, passed=True, measured_at=NOW - timedelta(days=27))
    assert "breakthrough_overdue" not in codes(generator)
    site = SiteSettings.current()
    site.breakthrough_overdue_days = 20
    site.save()
    assert "breakthrough_overdue" in codes(generator)


@pytest.mark.requirement("GEN-07")
def test_warnings_appear_in_the_api(api_as, auditor):
    generator = healthy_generator(expires_at=NOW - hours(1))
    body = api_as(auditor).get(f"/api/v1/generators/{generator.pk}/").json()
    assert [w["code"] for w in body["warnings"]] == ["expired"]
    assert "expired" in body["warnings"][0]["message"]


@pytest.mark.requirement("GEN-07", "OPS-04")
def test_periodic_job_raises_each_warning_once():
    expired = healthy_generator(expires_at=NOW - hours(1))
    failing = healthy_generator()
    add_test(
        ElutionFactory(generator=failing, eluted_at=REFERENCE_TIME - hours(60)),
        passed=False,
        measured_at=NOW - hours(1),
    )
    healthy_generator(status="retired", expires_at=NOW - hours(1))  # retired: no alerts
    assert generator_warnings_task() == 2
    assert generator_warnings_task() == 0
    alerts = Alert.objects.order_by("kind")
    assert [(a.kind, a.object_id, a.level) for a in alerts] == [
        ("generator_breakthrough_failed", str(failing.pk), "critical"),
        ("generator_expired", str(expired.pk), "critical"),
    ]


@pytest.mark.requirement("GEN-07", "OPS-04")
def test_beat_schedule_runs_the_job():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "radiopharmacy.generator_warnings" in tasks


# --- Demo --------------------------------------------------------------------------------------


@pytest.mark.requirement("OPS-01")
def test_demo_generator_is_realistic_audited_and_idempotent(capsys):
    assert "radiopharmacy.demo.generators.load_generators" in LOADERS
    call_command("load_demo")
    generator = Generator.objects.get(serial_number="GP-DEMO-1850")
    elutions = list(generator.elutions.order_by("eluted_at"))
    counts = (Generator.objects.count(), Elution.objects.count(), AuditEvent.objects.count())
    call_command("load_demo")
    assert counts[:2] == (Generator.objects.count(), Elution.objects.count())
    assert generator.nominal_activity_mbq == 1850.0
    assert 88 <= (NOW - generator.calibrated_at).days <= 92
    assert 5 <= len(elutions) <= 21
    assert all(61.5 <= e.efficiency_percent <= 68.5 for e in elutions)
    assert all(4.9 <= e.volume_ml <= 5.1 and e.eluent_lot for e in elutions)
    assert all(
        timedelta(minutes=3) <= e.measured_at - e.eluted_at <= timedelta(minutes=8)
        for e in elutions
    )
    test = BreakthroughTest.objects.get(elution__generator=generator)
    assert test.passed and test.measured_at - test.elution.eluted_at >= timedelta(hours=48)
    assert AuditEvent.objects.filter(
        object_type="radiopharmacy.elution", username="radiopharmacist"
    ).count() == len(elutions)
    assert verify_chain().ok
