"""Celery tasks of the QC area (autodiscovered as qc.tasks); each module adds its own."""

from .tasks_qc import *  # noqa: F403
from .tasks_release import *  # noqa: F403
