"""Web forms of QC: a result, and a Ge-68 breakthrough result. They only parse input."""

from django import forms

from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.web.forms.common import long_text, signature_otp, signature_password, when


class QcResultForm(forms.Form):
    """One result; `value` is text so "pass"/"fail" and numbers share a field."""

    test = forms.CharField(widget=forms.HiddenInput, max_length=40)
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


class QcEntryRowForm(QcResultForm):
    """One row of the batch's QC form (prefix = the test code); a row left empty is skipped."""

    test = None
    value = forms.CharField(required=False, label="Value", max_length=40)


class BreakthroughForm(forms.Form):
    ge68_activity_kbq = forms.FloatField(
        label="Ge-68 activity in the retained sample (kBq)", min_value=0
    )
    measured_at = when("Measured at", help_text="At least 48 h after the elution.")


# --- Quality events (SPEC §2.4a) ---------------------------------------------------------------


class QualityEventFilterForm(forms.Form):
    """Filters of the register: status, kind, batch number, age."""

    ANY_STATUS = "any"

    status = forms.ChoiceField(required=False, label="Status")
    kind = forms.ChoiceField(required=False, label="Kind")
    batch = forms.CharField(required=False, max_length=60, label="Batch number contains")
    older_than_days = forms.IntegerField(
        required=False, min_value=0, max_value=3650, label="Opened more than … days ago"
    )

    def __init__(self, *args, statuses=(), kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        # By default the register shows the events still to follow up (its cost stays that of
        # the open ones, not of years of closed ones); closed ones are a filter away.
        self.fields["status"].choices = [
            ("", "Not closed"),
            (self.ANY_STATUS, "Any (closed included)"),
        ] + list(statuses)
        self.fields["kind"].choices = [("", "Any")] + list(kinds)


class QualityEventForm(forms.Form):
    """Open a quality event; the batch is optional for a deviation or a complaint."""

    kind = forms.ChoiceField(label="Kind")
    batch = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Batch",
        help_text="Required for an OOS or an out-of-trend result.",
    )
    description = long_text("Description", rows=4)

    def __init__(self, *args, kinds=(), batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Choose the kind")] + list(kinds)
        self.fields["batch"].choices = [("", "No batch")] + list(batches)


class InvestigationForm(forms.Form):
    """One phase of the investigation: what was found and the assignable cause (or none)."""

    phase = forms.TypedChoiceField(
        coerce=int, choices=[(1, "1"), (2, "2")], widget=forms.HiddenInput
    )
    findings = long_text("Findings", rows=4)
    assignable_cause = long_text(
        "Assignable cause",
        required=False,
        help_text="Leave empty when the investigation found no assignable cause.",
    )


class CloseEventForm(forms.Form):
    """The closing signature: conclusion, note and password (the meaning is fixed)."""

    conclusion = forms.ChoiceField(label="Conclusion", widget=forms.RadioSelect)
    note = long_text("Conclusion in words", rows=3)
    password = signature_password()
    otp_token = signature_otp()

    def __init__(self, *args, conclusions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conclusion"].choices = list(conclusions)


class CapaForm(forms.Form):
    description = long_text("Action", rows=3)
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    due_on = forms.DateField(label="Due on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Choose the owner")] + list(owners)


class CapaCompleteForm(forms.Form):
    note = long_text("What was done", rows=2)


class CapaVerifyForm(forms.Form):
    effectiveness_check = long_text("Effectiveness check", rows=2)


class RecallForm(forms.Form):
    """The qualified person's recall or hold-lifting signature."""

    decision = forms.ChoiceField(
        choices=[("recall", "Recalled"), ("lift_hold", "Hold lifted")], widget=forms.HiddenInput
    )
    reason = long_text("Reason", rows=3)
    password = signature_password()
    otp_token = signature_otp()
