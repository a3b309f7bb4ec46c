"""Web forms for bookings and doses. They only parse input: the services validate and write.

Times are typed in the site's zone (Django's current zone) and become aware datetimes here;
activities are typed in the unit the user chose (MBq or mCi) and reach the services in MBq.
"""

from django import forms

from radiopharmacy.web.forms.common import ActivityUnitMixin, long_text, when
from scheduling.models import MAX_WEIGHT_KG, MIN_WEIGHT_KG


def reason_field(label: str = "Reason") -> forms.CharField:
    return long_text(label)


class BookingForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("prescribed_activity_mbq",)

    patient_ref = forms.CharField(
        label="Patient reference",
        max_length=40,
        help_text="Pseudonymous reference (e.g. P-20261124-03). Never a name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    weight_kg = forms.FloatField(
        label="Weight (kg)",
        widget=forms.NumberInput(
            attrs={"step": "0.1", "min": f"{MIN_WEIGHT_KG:g}", "max": f"{MAX_WEIGHT_KG:g}"}
        ),
    )
    injection_at = when("Injection time")
    prescribed_activity_mbq = forms.FloatField(
        label="Prescribed activity",
        required=False,
        help_text="Leave empty for the product rule (2 MBq/kg, at most 200 MBq).",
    )
    tolerance_percent = forms.FloatField(
        label="Tolerance (± %)", required=False, help_text="Leave empty for the product's ±10 %."
    )
    notes = long_text(required=False, help_text="No names.")


class RescheduleForm(forms.Form):
    injection_at = when("New injection time")
    reason = reason_field()


class ReasonForm(forms.Form):
    reason = reason_field()


class DoseAssignForm(forms.Form):
    booking = forms.TypedChoiceField(coerce=int, label="Booking")
    batch = forms.TypedChoiceField(coerce=int, label="Released batch")
    draw_at = when("Draw time", help_text="When the syringe will be drawn (site time).")

    def __init__(self, *args, bookings=(), batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["booking"].choices = [("", "Choose a booking")] + list(bookings)
        self.fields["batch"].choices = [("", "Choose a batch")] + list(batches)


class MeasureForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("activity_mbq",)

    activity_mbq = forms.FloatField(label="Syringe activity as measured")
    measured_at = when("Measured at", help_text="When the dose calibrator read the syringe.")


class AdministerForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("residual_activity_mbq",)

    injected_at = when("Injected at")
    residual_activity_mbq = forms.FloatField(label="Residual activity in the syringe", initial=0)
    residual_measured_at = when("Residual measured at")
