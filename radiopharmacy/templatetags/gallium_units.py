"""Activities in the user's unit (MBq stored; mCi shown on request, 1 mCi = 37 MBq).

`{{ value|in_unit:unit }}` converts. `{% activity value 1 %}` and `{% concentration value 2 %}`
print the number with its unit, `{% amount value 1 %}` the number alone, in the unit the page's
user chose (`activity_unit` in the context); `{% shown value unit 0 %}` prints a value a view
already converted to `unit`. The decimals are the MBq ones: mCi always get at least two
(`units.display_places`), so 438.5 MBq reads 11.85 mCi, not 12.
"""

from django import template
from django.template.defaultfilters import floatformat

from radiopharmacy import units

register = template.Library()


@register.filter
def in_unit(mbq, unit):
    """`{{ value|in_unit:unit }}`: MBq converted to the display unit (MBq or mCi)."""
    return units.in_unit(mbq, unit)


def _number(context, mbq, decimals: int) -> str:
    unit = context.get("activity_unit", "MBq")
    if mbq is None or mbq == "":
        return "—"
    return floatformat(units.in_unit(mbq, unit), units.display_places(unit, decimals))


def _format(context, mbq, decimals: int, suffix: str) -> str:
    number = _number(context, mbq, decimals)
    unit = context.get("activity_unit", "MBq")
    return number if number == "—" else f"{number} {unit}{suffix}"


@register.simple_tag(takes_context=True)
def amount(context, mbq, decimals: int = 1) -> str:
    """The number alone, in the user's unit (for table cells whose header names the unit)."""
    return _number(context, mbq, decimals)


@register.simple_tag(takes_context=True)
def activity(context, mbq, decimals: int = 1) -> str:
    return _format(context, mbq, decimals, "")


@register.simple_tag(takes_context=True)
def concentration(context, mbq_per_ml, decimals: int = 1) -> str:
    return _format(context, mbq_per_ml, decimals, "/mL")


@register.simple_tag
def shown(value, unit, decimals: int = 1) -> str:
    """A number already in `unit` (converted by the view), printed with the unit's decimals."""
    if value is None or value == "":
        return "—"
    return floatformat(value, units.display_places(unit, decimals))
