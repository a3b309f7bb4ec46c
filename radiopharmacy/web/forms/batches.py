"""Web forms of batch records. They only parse input: the services validate."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from radiopharmacy.choices import SynthesisMethod
from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.models import Elution
from radiopharmacy.web.forms.common import ActivityUnitMixin, long_text, when


def elution_label(elution: Elution) -> str:
    local = timezone.localtime(elution.eluted_at)
    return (
        f"{local:%H:%M %Z} · {elution.generator.serial_number} · "
        f"{elution.activity_at_elution_mbq:.0f} MBq"
    )


class ElutionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return elution_label(obj)


def recent_elutions(now=None):
    """Today's elutions (site day) and the last 12 h, current records only."""
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    since = min(start_of_day, now - timedelta(hours=12))
    return (
        Elution.objects.filter(eluted_at__gte=since, superseded_by__isnull=True)
        .select_related("generator")
        .order_by("-eluted_at")
    )


class BatchForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("activity_mbq",)

    elutions = ElutionChoiceField(
        queryset=Elution.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Elutions used",
        help_text="Today's elutions.",
    )
    eluate_volume_used_ml = forms.FloatField(
        required=False,
        min_value=0.001,
        label="Eluate volume used (mL)",
        help_text="Only when an eluate is split between batches: the volume of each chosen "
        "eluate this batch used. Leave empty when the batch used the whole eluate.",
    )
    method = forms.ChoiceField(choices=SynthesisMethod.choices, label="Method")
    module_name = forms.CharField(required=False, max_length=120, label="Module name")
    module_serial = forms.CharField(required=False, max_length=80, label="Module serial")
    kit_lot = forms.CharField(required=False, max_length=80, label="Kit lot")
    precursor_lot = forms.CharField(required=False, max_length=80, label="Precursor lot")
    precursor_mass_ug = forms.FloatField(required=False, label="Precursor mass (µg)")
    reagent_lots_text = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        label="Reagent and consumable lots",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One per line: "name: lot".',
    )
    started_at = when("Synthesis started")
    eos_at = when("End of synthesis")
    activity_mbq = forms.FloatField(label="Product activity")
    measured_at = when("Activity measured at")
    volume_ml = forms.FloatField(label="Volume (mL)")

    def __init__(self, *args, elution_queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["elutions"].queryset = (
            elution_queryset if elution_queryset is not None else recent_elutions()
        )

    def clean_reagent_lots_text(self):
        lots = []
        for line in (self.cleaned_data.get("reagent_lots_text") or "").splitlines():
            if not line.strip():
                continue
            name, sep, lot = line.partition(":")
            if not sep or not name.strip() or not lot.strip():
                raise forms.ValidationError(f'Write "name: lot" ({line.strip()[:80]!r}).')
            if len(name.strip()) > 120 or len(lot.strip()) > 80:
                raise forms.ValidationError("A name has at most 120 characters, a lot 80.")
            lots.append({"name": name.strip(), "lot": lot.strip()})
        return lots

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["reagent_lots"] = data.pop("reagent_lots_text")
        data["elutions"] = list(data["elutions"])
        volume = data.pop("eluate_volume_used_ml", None)
        if volume is not None:
            data["elution_volumes"] = [
                {"elution": e.pk, "volume_ml": volume} for e in data["elutions"]
            ]
        return data


class BatchCorrectionForm(ActivityUnitMixin, forms.Form):
    activity_fields = ("activity_mbq",)

    started_at = when("Synthesis started")
    eos_at = when("End of synthesis")
    activity_mbq = forms.FloatField(label="Product activity")
    measured_at = when("Activity measured at")
    volume_ml = forms.FloatField(label="Volume (mL)")
    module_name = forms.CharField(required=False, max_length=120, label="Module name")
    module_serial = forms.CharField(required=False, max_length=80, label="Module serial")
    kit_lot = forms.CharField(required=False, max_length=80, label="Kit lot")
    precursor_lot = forms.CharField(required=False, max_length=80, label="Precursor lot")
    precursor_mass_ug = forms.FloatField(required=False, label="Precursor mass (µg)")
    reason = long_text("Reason for the correction")
