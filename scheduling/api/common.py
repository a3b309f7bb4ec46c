"""What the scheduling endpoints share: a status field for the schema, input validation, the
reason a cancellation needs and the filter by a day in the site's zone."""

from rest_framework import serializers

from radiopharmacy.core.bounds import TEXT_MAX_LENGTH
from radiopharmacy.core.checks import DAY_MESSAGE, plausible_day
from radiopharmacy.core.sitetime import site_day_bounds


def status_field(choices) -> serializers.CharField:
    # A plain string in the schema: several areas have a `status` enum and the generated
    # component names would collide.
    return serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(value for value, _ in choices.choices)
    )


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX_LENGTH)


class SiteDayFilterMixin:
    """A `date` filter method on `day_field`: the site's calendar day, DST days included."""

    day_field = ""

    def filter_date(self, queryset, name, value):
        if not plausible_day(value):
            raise serializers.ValidationError({name: [DAY_MESSAGE]})
        start, end = site_day_bounds(value)
        return queryset.filter(**{f"{self.day_field}__gte": start, f"{self.day_field}__lt": end})
