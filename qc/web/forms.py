"""Web forms of QC: a result, and a Ge-68 breakthrough result. They only parse input."""

from django import forms

from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.web.forms.common import when


class QcResultForm(forms.Form):
    """One result; `value` is text so "pass"/"fail" and numbers share a field."""

    test = forms.CharField(widget=forms.HiddenInput)
    value = forms.CharField(label="Value", max_length=40)
    performed_at = when("Performed at")
    instrument = forms.CharField(required=False, label="Instrument", max_length=120)
    method_details = forms.CharField(
        required=False, label="Method details", max_length=TEXT_MAX_LENGTH
    )
    reason = forms.CharField(
        required=False,
        label="Reason (for a correction)",
        widget=forms.TextInput(),
        max_length=TEXT_MAX_LENGTH,
    )


class BreakthroughForm(forms.Form):
    ge68_activity_kbq = forms.FloatField(
        label="Ge-68 activity in the retained sample (kBq)", min_value=0
    )
    measured_at = when("Measured at", help_text="At least 48 h after the elution.")
