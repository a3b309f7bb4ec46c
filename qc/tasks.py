"""Celery tasks of the QC area (autodiscovered as qc.tasks); each module adds its own."""

from qc.tasks_qc import *  # noqa: F403
from qc.tasks_release import *  # noqa: F403
