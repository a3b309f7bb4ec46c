"""What a report was made from: the software version, the git commit, the time."""

import datetime as dt
import subprocess
from pathlib import Path

import radiopharmacy

ROOT = Path(__file__).resolve().parents[2]


def software_version() -> str:
    return radiopharmacy.__version__


def git_commit() -> str:
    """HEAD's commit, with "+changes" when the work tree differs from it; "unknown" outside a git
    checkout (an installation from an archive)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+changes" if dirty else commit


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
