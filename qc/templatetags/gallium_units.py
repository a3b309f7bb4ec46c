"""Template filters for activities in the user's unit (MBq stored; mCi shown on request)."""

from django import template

from radiopharmacy import physics

register = template.Library()


@register.filter
def in_unit(mbq, unit):
    """`{{ value|in_unit:unit }}`: MBq converted to the display unit (MBq or mCi)."""
    if mbq is None or mbq == "":
        return None
    return physics.mbq_to_mci(float(mbq)) if unit == "mCi" else float(mbq)
