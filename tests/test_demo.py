import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from radiopharmacy.core.audit import verify_chain
from radiopharmacy.core.roles import ALL_ROLES
from radiopharmacy.demo.users import DEMO_USERS


@pytest.mark.django_db
@pytest.mark.requirement("OPS-01")
def test_load_demo_creates_one_user_per_role_and_is_rerunnable(capsys):
    call_command("load_demo")
    first_counts = _counts()
    call_command("load_demo")
    assert _counts() == first_counts
    out = capsys.readouterr().out
    User = get_user_model()
    for username, password, *_rest, role in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert user.groups.filter(name=role).exists()
        assert username in out and password in out
    assert {r for *_x, r in DEMO_USERS} == set(ALL_ROLES)
    assert verify_chain().ok
    _assert_demo_quality_events()


def _assert_demo_quality_events():
    """One OOS closed as invalidated after its phase I (its batch then released), one still
    under investigation (phase I found no cause), one CAPA."""
    from qc.models import Capa, Deviation

    (closed,) = Deviation.objects.filter(kind="oos", status="closed")
    assert closed.conclusion == "invalidated" and closed.closed_printed_name
    assert closed.batch.status == "released"
    assert closed.investigations.get(phase=1).assignable_cause
    (open_oos,) = Deviation.objects.filter(kind="oos", status="investigating")
    assert open_oos.investigations.get(phase=1).assignable_cause == ""
    assert list(Capa.objects.values_list("deviation_id", flat=True)) == [closed.pk]


def _counts():
    from django.apps import apps

    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("auth", "radiopharmacy", "qc", "scheduling")
    }
