"""What the scheduling pages share: the day a page shows and a dose's figures in the user's
activity unit."""

from datetime import date

from radiopharmacy.core.checks import plausible_day
from radiopharmacy.core.sitetime import site_today
from radiopharmacy.units import in_unit
from scheduling.models import Dose


def chosen_day(request) -> date:
    """The `date` query parameter, or today in the site's zone."""
    raw = request.GET.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else site_today()
    except ValueError:
        return site_today()
    return day if plausible_day(day) else site_today()  # year 0001 or 9999: a typo


def dose_figures(dose: Dose, unit: str) -> dict:
    return {
        "dose": dose,
        "activity_to_draw": in_unit(dose.activity_to_draw_mbq, unit),
        "planned": in_unit(dose.activity_at_injection_planned_mbq, unit),
        "measured": in_unit(dose.measured_activity_mbq, unit),
        "at_injection": in_unit(dose.activity_at_injection_mbq, unit),
        "administered": in_unit(dose.administered_activity_mbq, unit),
    }
