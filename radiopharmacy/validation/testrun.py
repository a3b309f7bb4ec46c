"""Run a selection of the suite in a pytest subprocess and read its results."""

import subprocess
import sys
from pathlib import Path

from radiopharmacy.validation.junit import TestRun, read_junit
from radiopharmacy.validation.provenance import ROOT

# pytest's exit codes 0 (all passed) and 1 (some failed) give a run to report on; the others
# (interrupted, internal error, usage error such as an unknown requirement id, no tests) do not.
REPORTABLE_EXIT_CODES = (0, 1)


class TestRunError(RuntimeError):
    """pytest did not produce results to report on."""


def run_pytest(*, junit_path: Path, select: str, extra_args: list[str]) -> tuple[int, TestRun]:
    """Run `pytest -m <select> <extra_args>` from the project root, writing JUnit XML."""
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [f"--junitxml={junit_path}"]
    if select:
        command += ["-m", select]
    command += extra_args
    completed = subprocess.run(command, cwd=ROOT, check=False)  # output goes to the console
    if completed.returncode not in REPORTABLE_EXIT_CODES or not junit_path.exists():
        raise TestRunError(
            f"pytest exited with code {completed.returncode} and no results to report: "
            f"{' '.join(command[1:])}"
        )
    return completed.returncode, read_junit(junit_path)
