"""Demo users: one per role, and the administrator."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from radiopharmacy.core.roles import AUDITOR, QUALIFIED_PERSON, RADIOPHARMACIST, SCHEDULER

# username, password, first name, last name, role. Demo only: never deploy these.
DEMO_USERS = [
    ("radiopharmacist", "gallium-rp-2026", "Rhea", "Pharmakis", RADIOPHARMACIST),
    ("qp", "gallium-qp-2026", "Quentin", "Peters", QUALIFIED_PERSON),
    ("scheduler", "gallium-sched-2026", "Sam", "Planner", SCHEDULER),
    ("auditor", "gallium-audit-2026", "Ada", "Auditor", AUDITOR),
    ("radiopharmacist2", "gallium-rp2-2026", "Rolf", "Second", RADIOPHARMACIST),
]
ADMIN_USER = ("admin", "gallium-admin-2026")


@transaction.atomic
def load_users(*, stdout) -> None:
    User = get_user_model()
    for username, password, first, last, role in DEMO_USERS:
        user, made = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if made:
            user.set_password(password)
            user.save()
        user.groups.add(Group.objects.get(name=role))
    admin, made = User.objects.get_or_create(
        username=ADMIN_USER[0], defaults={"is_staff": True, "is_superuser": True}
    )
    if made:
        admin.set_password(ADMIN_USER[1])
        admin.save()
    stdout.write("Demo logins (demo only, change them before real use):")
    for username, password, _first, _last, role in DEMO_USERS:
        stdout.write(f"  {role:<17} {username:<17} {password}")
    stdout.write(f"  {'administrator':<17} {ADMIN_USER[0]:<17} {ADMIN_USER[1]}  (/admin/)")
