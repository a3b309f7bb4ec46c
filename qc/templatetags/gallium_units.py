"""Template filters for activities in the user's unit (MBq stored; mCi shown on request)."""

from django import template

from radiopharmacy import units

register = template.Library()


@register.filter
def in_unit(mbq, unit):
    """`{{ value|in_unit:unit }}`: MBq converted to the display unit (MBq or mCi)."""
    return units.in_unit(mbq, unit)
