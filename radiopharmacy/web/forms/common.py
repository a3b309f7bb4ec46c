"""Form building blocks shared by every app's pages: local-time inputs, the user's activity
unit, and a service refusal shown next to its field.

Times are typed in the site's zone (settings.SITE_TIME_ZONE, Django's current zone) and become
aware datetimes here; activities are typed in the unit the user chose (MBq or mCi).
"""

from django import forms
from django.conf import settings

from radiopharmacy import physics
from radiopharmacy.core.errors import ApplicationError

DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "60"}, format="%Y-%m-%dT%H:%M"
)


def when(label: str, *, required: bool = True, help_text: str = "") -> forms.DateTimeField:
    zone = settings.SITE_TIME_ZONE
    return forms.DateTimeField(
        label=f"{label} ({zone})",
        required=required,
        widget=DATETIME_WIDGET,
        help_text=help_text or f"Local time in {zone}.",
    )


def apply_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's refusal next to the fields it names (the rest at the top)."""
    placed = False
    for field, messages in (error.fields or {}).items():
        target = field if field in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(target, str(message))
            placed = True
    blocking = getattr(error, "blocking", None)
    if not placed:
        detail = error.message
        if blocking:
            detail = f"{detail} ({'; '.join(blocking)})"
        form.add_error(None, detail)


class ActivityUnitMixin:
    """Activity fields typed in the user's unit, converted to MBq in cleaned_data."""

    activity_fields: tuple[str, ...] = ()

    def __init__(self, *args, unit: str = "MBq", **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit if unit in ("MBq", "mCi") else "MBq"
        for name in self.activity_fields:
            field = self.fields[name]
            field.label = f"{field.label} ({self.unit})"

    def clean(self):
        data = super().clean()
        if self.unit == "mCi":
            for name in self.activity_fields:
                value = data.get(name)
                if value is not None and value >= 0:
                    data[name] = physics.mci_to_mbq(value)
        return data
