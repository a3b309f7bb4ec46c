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


# mCi are read to two decimals (11.85 mCi, not 12: 0.01 mCi is 0.37 MBq, the calibrator's
# resolution); MBq to the decimals each page asks for.
MCI_DECIMALS = 2


def display_places(unit: str, decimals: int) -> int:
    """Decimals to print an activity with in `unit`: `decimals` in MBq, at least two in mCi."""
    return max(decimals, MCI_DECIMALS) if unit == "mCi" else decimals
