"""Web forms of generators and elutions. They only parse input: the services validate and write."""

from django import forms

from radiopharmacy.choices import GeneratorStatus
from radiopharmacy.core.bounds import MAX_ELUTIONS_LIMIT
from radiopharmacy.web.forms.common import ActivityUnitMixin, long_text, when


class GeneratorForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("nominal_activity_mbq",)

    manufacturer = forms.CharField(max_length=120, initial="Eckert & Ziegler")
    model = forms.CharField(max_length=120, required=False, initial="GalliaPharm")
    serial_number = forms.CharField(max_length=80)
    nominal_activity_mbq = forms.FloatField(
        label="Nominal Ge-68 activity at calibration", help_text="From the generator certificate."
    )
    calibrated_at = when("Calibration time")
    received_at = when("Received at")
    expires_at = when(
        "Expires at", required=False, help_text="Leave empty for calibration + 12 months."
    )
    max_elutions = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ELUTIONS_LIMIT,
        label="Maximum elutions",
        help_text="Leave empty if the label sets none.",
    )
    nominal_efficiency_percent = forms.FloatField(
        initial=65.0, label="Nominal elution efficiency (%)"
    )


class GeneratorAcceptForm(forms.Form):
    """The receipt check that accepts a generator in quarantine into use (SPEC §2.2)."""

    documents_checked = forms.BooleanField(
        required=False, label="Delivery documents and certificate checked"
    )
    certificate_activity_checked = forms.BooleanField(
        required=False, label="Ge-68 activity on the certificate checked"
    )
    first_eluate_checked = forms.BooleanField(required=False, label="First eluate checked")
    note = long_text("Receipt check note")


class ElutionForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("activity_mbq",)

    eluted_at = when("Eluted at")
    activity_mbq = forms.FloatField(label="Eluate activity as measured")
    measured_at = when("Measured at", help_text="When the dose calibrator read the activity.")
    volume_ml = forms.FloatField(label="Volume (mL)", initial=5.0)
    eluent_lot = forms.CharField(max_length=80, required=False, label="Eluent (HCl) lot")


class ElutionCorrectionForm(ElutionForm):
    reason = long_text("Reason for correction")


class GeneratorStatusForm(forms.Form):
    status = forms.ChoiceField(choices=GeneratorStatus.choices)
    reason = long_text()
