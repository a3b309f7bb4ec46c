"""Per-user display preferences (not regulated records: no audit entry)."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import models
from django.dispatch import receiver

ACTIVITY_UNITS = ("MBq", "mCi")


class UserPreference(models.Model):
    """What a user chose to see: the activity unit (MBq stored, mCi a display convenience)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gallium_preference"
    )
    activity_unit = models.CharField(
        max_length=3, choices=[(u, u) for u in ACTIVITY_UNITS], default="MBq"
    )

    def __str__(self) -> str:
        return f"{self.user} · {self.activity_unit}"


def activity_unit_of(user) -> str:
    """The user's stored unit, MBq when none was chosen."""
    if not getattr(user, "is_authenticated", False):
        return "MBq"
    unit = UserPreference.objects.filter(user=user).values_list("activity_unit", flat=True).first()
    return unit or "MBq"


def activity_unit_set(*, user, unit: str) -> None:
    if unit not in ACTIVITY_UNITS:
        raise ValueError(f"unknown activity unit {unit!r}")
    UserPreference.objects.update_or_create(user=user, defaults={"activity_unit": unit})


@receiver(user_logged_in, dispatch_uid="gallium-activity-unit-on-login")
def _unit_into_session(sender, request, user, **kwargs):
    # The pages read the unit from the session; a new session starts with the user's choice.
    if request is not None and hasattr(request, "session"):
        request.session["activity_unit"] = activity_unit_of(user)
