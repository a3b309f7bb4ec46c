"""Form building blocks shared by every app's pages: local-time inputs, the user's activity
unit, and a service refusal shown next to its field.

Times are typed in the site's zone (settings.SITE_TIME_ZONE, Django's current zone) and become
aware datetimes here; activities are typed in the unit the user chose (MBq or mCi).
"""

from datetime import UTC

from django import forms
from django.conf import settings

from radiopharmacy import physics
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.checks import time_problem
from radiopharmacy.core.errors import ApplicationError

DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "60"}, format="%Y-%m-%dT%H:%M"
)


class SiteDateTimeField(forms.DateTimeField):
    """A time typed in the site's zone (or with an offset), checked and given in UTC: a year like
    0001 or an offset beyond ±14:00 is a field error, never an overflow or a database error."""

    def to_python(self, value):
        try:
            result = super().to_python(value)
        except OverflowError:
            raise forms.ValidationError("This time cannot be right.", code="invalid") from None
        if result is None:
            return None
        problem = time_problem(result)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return result.astimezone(UTC)


def long_text(
    label: str = "", *, required: bool = True, rows: int = 2, **kwargs
) -> forms.CharField:
    """A reason, comment or note: a textarea of at most TEXT_MAX_LENGTH characters."""
    if label:
        kwargs["label"] = label
    return forms.CharField(
        required=required,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        **kwargs,
    )


def when(label: str, *, required: bool = True, help_text: str = "") -> forms.DateTimeField:
    zone = settings.SITE_TIME_ZONE
    return SiteDateTimeField(
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


def signature_password() -> forms.CharField:
    """The password re-entered for an electronic signature (core/signing.py checks it)."""
    return forms.CharField(
        label="Your password (re-entered for the electronic signature)",
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def signature_otp() -> forms.CharField:
    """The one-time code of a signature, where the site requires a second factor."""
    return forms.CharField(
        required=False,
        max_length=8,
        label="One-time code from your authenticator app",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
