"""Booking and dose statuses and their allowed transitions (SPEC §2.6).

The tables are registered with `radiopharmacy.core.status`, so services change `status`
through the one `transition`.
"""

from django.db import models

from radiopharmacy.core.status import register_transitions


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    DOSE_ASSIGNED = "dose_assigned", "Dose assigned"
    DISPENSED = "dispensed", "Dispensed"
    ADMINISTERED = "administered", "Administered"
    CANCELLED = "cancelled", "Cancelled"
    MISSED = "missed", "Missed"


class DoseStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    DISPENSED = "dispensed", "Dispensed"
    ADMINISTERED = "administered", "Administered"
    CANCELLED = "cancelled", "Cancelled"


B, D = BookingStatus, DoseStatus

BOOKING_TRANSITIONS: dict[str, set[str]] = {
    # A booking goes back to `booked` when its dose is cancelled or it is rescheduled.
    B.BOOKED: {B.DOSE_ASSIGNED, B.CANCELLED, B.MISSED},
    B.DOSE_ASSIGNED: {B.BOOKED, B.DISPENSED, B.CANCELLED, B.MISSED},
    B.DISPENSED: {B.BOOKED, B.ADMINISTERED, B.CANCELLED, B.MISSED},
    B.ADMINISTERED: set(),
    B.CANCELLED: set(),
    # A patient who missed the slot may be given a new time.
    B.MISSED: {B.BOOKED, B.CANCELLED},
}

DOSE_TRANSITIONS: dict[str, set[str]] = {
    D.ASSIGNED: {D.DISPENSED, D.CANCELLED},
    # A drawn syringe that will not be injected is discarded (its volume stays out of the vial).
    D.DISPENSED: {D.ADMINISTERED, D.CANCELLED},
    D.ADMINISTERED: set(),
    D.CANCELLED: set(),
}

register_transitions(BookingStatus, BOOKING_TRANSITIONS)
register_transitions(DoseStatus, DOSE_TRANSITIONS)

# Statuses in which a booking can still be given a dose, moved or cancelled.
OPEN_BOOKING_STATUSES = (B.BOOKED, B.DOSE_ASSIGNED, B.DISPENSED)


# --- Production plans -----------------------------------------------------------------------


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACCEPTED = "accepted", "Accepted"
    SUPERSEDED = "superseded", "Superseded"


class PlannedRunStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


register_transitions(
    PlanStatus,
    {
        PlanStatus.DRAFT: {PlanStatus.ACCEPTED, PlanStatus.SUPERSEDED},
        PlanStatus.ACCEPTED: {PlanStatus.SUPERSEDED},
        PlanStatus.SUPERSEDED: set(),
    },
)
R = PlannedRunStatus
register_transitions(
    PlannedRunStatus,
    {
        # in_progress: its elution or batch is recorded; done: its batch is released;
        # failed: its batch was rejected, recalled or put on hold, or its yield was too low.
        R.PLANNED: {R.IN_PROGRESS, R.DONE, R.FAILED, R.CANCELLED},
        R.IN_PROGRESS: {R.DONE, R.FAILED, R.CANCELLED},
        R.DONE: {R.FAILED},
        R.FAILED: set(),
        R.CANCELLED: set(),
    },
)
