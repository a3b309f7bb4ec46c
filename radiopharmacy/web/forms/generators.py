"""Web forms of the generator area. They only parse input: the services validate and write.

Times are typed in the site's zone (settings.SITE_TIME_ZONE, Django's current zone) and become
aware datetimes here; activities are typed in the unit the user chose (MBq or mCi).
"""

from django import forms
from django.conf import settings

from radiopharmacy import physics
from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core.errors import ApplicationError

DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "60"}, format="%Y-%m-%dT%H:%M"
)


def _when(label: str, *, required: bool = True, help_text: str = "") -> forms.DateTimeField:
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


class GeneratorForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("nominal_activity_mbq",)

    manufacturer = forms.CharField(max_length=120, initial="Eckert & Ziegler")
    model = forms.CharField(max_length=120, required=False, initial="GalliaPharm")
    serial_number = forms.CharField(max_length=80)
    nominal_activity_mbq = forms.FloatField(
        label="Nominal Ge-68 activity at calibration", help_text="From the generator certificate."
    )
    calibrated_at = _when("Calibration time")
    received_at = _when("Received at")
    expires_at = _when(
        "Expires at", required=False, help_text="Leave empty for calibration + 12 months."
    )
    max_elutions = forms.IntegerField(
        required=False, label="Maximum elutions", help_text="Leave empty if the label sets none."
    )
    nominal_efficiency_percent = forms.FloatField(
        initial=65.0, label="Nominal elution efficiency (%)"
    )
    status = forms.ChoiceField(choices=GeneratorStatus.choices, initial=GeneratorStatus.IN_USE)


class ElutionForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("activity_mbq",)

    eluted_at = _when("Eluted at")
    activity_mbq = forms.FloatField(label="Eluate activity as measured")
    measured_at = _when("Measured at", help_text="When the dose calibrator read the activity.")
    volume_ml = forms.FloatField(label="Volume (mL)", initial=5.0)
    eluent_lot = forms.CharField(max_length=80, required=False, label="Eluent (HCl) lot")


class ElutionCorrectionForm(ElutionForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Reason for correction"
    )


class BreakthroughForm(forms.Form):
    ge68_activity_kbq = forms.FloatField(
        label="Ge-68 activity in the retained sample (kBq)", min_value=0
    )
    measured_at = _when("Measured at", help_text="At least 48 h after the elution.")


class GeneratorStatusForm(forms.Form):
    status = forms.ChoiceField(choices=GeneratorStatus.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
