"""Why a dose cannot be assigned from a batch, in the words a radiopharmacist uses (SPEC §2.6).

The dose service refuses an assignment (409) while this list is not empty.
"""

from dataclasses import dataclass
from datetime import datetime

from radiopharmacy import physics
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.sitetime import site_time
from radiopharmacy.models import Batch
from scheduling.models import Booking


@dataclass(frozen=True)
class DoseDraw:
    """What one dose takes from a batch (from `dose_plan`) and what the batch has left for it."""

    activity_mbq: float
    concentration_mbq_per_ml: float
    volume_ml: float
    volume_ul: int  # rounded up to whole microlitres, as the batch allocation counts
    left_volume_ul: int  # the batch's volume not held by its other doses


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def batch_use_blockers(batch: Batch, *, at: datetime, what: str) -> list[str]:
    """Why nothing may be taken from `batch` at `at` (a syringe drawn, measured or given): the
    batch is not released (on hold, recalled, rejected...) or has expired (SPEC §2.3)."""
    blocking: list[str] = []
    if batch.status != BatchStatus.RELEASED:
        blocking.append(
            f"Batch {batch.batch_number} is {batch.get_status_display().lower()}: no dose may "
            f"be {what} from it."
        )
    if physics.elapsed_minutes(batch.expires_at, at) > 0:
        blocking.append(
            f"Batch {batch.batch_number} expired at {site_time(batch.expires_at)}: no dose may "
            f"be {what} from it at {site_time(at)}."
        )
    return blocking


def dose_assignment_blockers(
    batch: Batch, booking: Booking, *, draw_at: datetime, draw: DoseDraw | None = None
) -> list[str]:
    """Human sentences, one per reason a dose for `booking` cannot be drawn from `batch` at
    `draw_at`; empty when it can.

    Checks: the batch is released and of the booking's product; it does not expire before the
    injection; the draw time is between EOS and the injection. With the dose's `draw` also:
    its volume is within the product's maximum per dose, and the batch has the volume and the
    activity left for it after its other doses.
    """
    injection_at = booking.injection_at
    blocking: list[str] = []
    if batch.status != BatchStatus.RELEASED:
        blocking.append(
            f"Batch {batch.batch_number} is {batch.get_status_display().lower()}, not released."
        )
    if batch.product_id != booking.product_id:
        blocking.append(f"Batch {batch.batch_number} is {batch.product}, not {booking.product}.")
    if physics.elapsed_minutes(batch.expires_at, injection_at) > 0:
        blocking.append(
            f"Batch expires at {site_time(batch.expires_at)}, "
            f"injection is at {site_time(injection_at)}."
        )
    if physics.elapsed_minutes(batch.eos_at, draw_at) < 0:
        blocking.append(
            f"Draw time {site_time(draw_at)} is before the end of synthesis "
            f"{site_time(batch.eos_at)}."
        )
    if physics.elapsed_minutes(draw_at, injection_at) < 0:
        blocking.append(
            f"Draw time {site_time(draw_at)} is after the injection at {site_time(injection_at)}."
        )
    if draw is None:
        return blocking

    left_ml = draw.left_volume_ul / 1000
    max_volume = batch.product.max_volume_per_dose_ml
    if draw.volume_ml > max_volume:
        blocking.append(
            f"Volume to draw {_fmt(draw.volume_ml, 2)} mL is above the maximum of "
            f"{max_volume:g} mL per dose."
        )
    if draw.volume_ul > draw.left_volume_ul:
        blocking.append(
            f"Batch {batch.batch_number} has {_fmt(left_ml, 2)} mL left after the doses "
            f"already assigned; this dose needs {_fmt(draw.volume_ml, 2)} mL."
        )
    if draw.activity_mbq > left_ml * draw.concentration_mbq_per_ml:
        blocking.append(
            f"Batch {batch.batch_number} holds {_fmt(left_ml * draw.concentration_mbq_per_ml)} "
            f"MBq unassigned at {site_time(draw_at)}; this dose needs "
            f"{_fmt(draw.activity_mbq)} MBq."
        )
    return blocking
