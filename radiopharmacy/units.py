"""The activity unit a person reads: MBq is stored, mCi is shown on request (UI.md).

One place for the session's unit and the conversion, used by every page and template filter.
"""

from radiopharmacy import physics

ACTIVITY_UNITS = ("MBq", "mCi")


def activity_unit(request) -> str:
    """The unit this user chose (kept per user, copied into the session at login)."""
    unit = request.session.get("activity_unit", "MBq")
    return unit if unit in ACTIVITY_UNITS else "MBq"


def in_unit(mbq: float | None, unit: str) -> float | None:
    """An activity in MBq, expressed in `unit` for display."""
    if mbq is None or mbq == "":
        return None
    return physics.mbq_to_mci(float(mbq)) if unit == "mCi" else float(mbq)
