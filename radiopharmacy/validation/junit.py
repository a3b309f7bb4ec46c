"""Results of a pytest run from its JUnit XML (`--junitxml`), with the requirements each test
declared (the requirement plugin records them as the test case's properties)."""

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# Property names written by tests/requirements_plugin.py for every marked test.
REQUIREMENTS_PROPERTY = "requirements"
NODEID_PROPERTY = "nodeid"

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class TestResult:
    nodeid: str
    outcome: str  # passed, failed (a failure or an error) or skipped
    requirement_ids: tuple[str, ...]
    duration_s: float
    message: str = ""


@dataclass(frozen=True)
class TestRun:
    results: list[TestResult]
    started_at: dt.datetime | None  # the run's timestamp, when the file has one
    source: str


def read_junit(path: Path) -> TestRun:
    """Every test case of the file; a malformed file raises ValueError."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path} is not JUnit XML: {exc}") from exc
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    started_at = None
    results = []
    for suite in suites:
        stamp = suite.get("timestamp")
        if stamp and started_at is None:
            started_at = dt.datetime.fromisoformat(stamp)
        for case in suite.iter("testcase"):
            results.append(_result(case))
    return TestRun(results=results, started_at=started_at, source=str(path))


def _result(case: ET.Element) -> TestResult:
    properties = {
        prop.get("name"): prop.get("value", "") for prop in case.findall("properties/property")
    }
    nodeid = properties.get(NODEID_PROPERTY) or "::".join(
        part for part in (case.get("classname", "").replace(".", "/"), case.get("name", "")) if part
    )
    problem = case.find("failure")
    if problem is None:
        problem = case.find("error")
    if problem is not None:
        outcome, message = FAILED, problem.get("message", "")
    elif case.find("skipped") is not None:
        outcome, message = SKIPPED, case.find("skipped").get("message", "")
    else:
        outcome, message = PASSED, ""
    return TestResult(
        nodeid=nodeid,
        outcome=outcome,
        requirement_ids=tuple(properties.get(REQUIREMENTS_PROPERTY, "").split()),
        duration_s=float(case.get("time") or 0),
        message=message[:300],
    )


def merge_runs(runs: list[TestRun]) -> TestRun:
    """Several runs as one (the suite on SQLite and again on PostgreSQL): every result counts,
    so a test that failed in either run fails its requirements."""
    stamps = [run.started_at for run in runs if run.started_at is not None]
    return TestRun(
        results=[result for run in runs for result in run.results],
        started_at=min(stamps) if stamps else None,
        source=", ".join(run.source for run in runs),
    )
