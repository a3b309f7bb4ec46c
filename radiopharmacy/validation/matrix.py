"""The traceability matrix: each requirement of the register with the tests that declare it and
their outcomes in one run. A requirement is verified when at least one of its tests passed and
none failed; otherwise it is a gap (no test, only skipped tests, or a failing test)."""

from collections import Counter
from dataclasses import dataclass

from radiopharmacy.validation import documents, provenance
from radiopharmacy.validation.junit import FAILED, PASSED, TestResult, TestRun
from radiopharmacy.validation.register import Requirement

VERIFIED, FAILING, GAP = "pass", "fail", "gap"


@dataclass(frozen=True)
class Row:
    requirement: Requirement
    tests: list[TestResult]

    @property
    def outcome(self) -> str:
        outcomes = {test.outcome for test in self.tests}
        if FAILED in outcomes:
            return FAILING
        return VERIFIED if PASSED in outcomes else GAP

    @property
    def is_gap(self) -> bool:
        return self.outcome != VERIFIED


@dataclass(frozen=True)
class Matrix:
    rows: list[Row]
    run: TestRun
    undeclared: list[str]  # ids named by tests of the run but not in the register

    @property
    def gaps(self) -> list[Row]:
        return [row for row in self.rows if row.is_gap]


def build_matrix(register: dict[str, Requirement], run: TestRun) -> Matrix:
    by_id: dict[str, list[TestResult]] = {requirement_id: [] for requirement_id in register}
    undeclared = set()
    for result in run.results:
        for requirement_id in result.requirement_ids:
            if requirement_id in by_id:
                by_id[requirement_id].append(result)
            else:
                undeclared.add(requirement_id)
    rows = [
        Row(requirement=requirement, tests=by_id[requirement.id])
        for requirement in register.values()
        if not requirement.retired
    ]
    return Matrix(rows=rows, run=run, undeclared=sorted(undeclared))


def matrix_document(matrix: Matrix) -> documents.Document:
    run = matrix.run
    marked = [result for result in run.results if result.requirement_ids]
    verified = len(matrix.rows) - len(matrix.gaps)
    run_at = run.started_at.isoformat(timespec="seconds") if run.started_at else "unknown"
    document = documents.Document(
        title="Gallium traceability matrix",
        summary=(
            f"{len(matrix.rows)} requirements, {verified} verified by a passing test, "
            f"{len(matrix.gaps)} gaps. {len(marked)} of the run's {len(run.results)} tests "
            "declare requirements."
        ),
        meta=[
            ("Software version", provenance.software_version()),
            ("Commit", provenance.git_commit()),
            ("Test run", run_at),
            ("Report written (UTC)", provenance.now_utc().isoformat()),
            ("Test results", run.source),
            ("Register", "docs/requirements.yaml"),
        ],
    )
    document.sections.append(
        documents.Section(
            heading="Requirements and the tests that verify them",
            columns=["Requirement", "Text", "Source", "Tests", "Result"],
            rows=[
                [
                    row.requirement.id,
                    row.requirement.text,
                    row.requirement.source,
                    tests_cell(row.tests),
                    row.outcome,
                ]
                for row in matrix.rows
            ],
            outcome_column=4,
            widths=[1.1, 3.2, 1.6, 4.2, 0.6],
        )
    )
    document.sections.append(
        documents.Section(
            heading="Gaps: requirements with no passing test",
            note="A gap is a requirement whose tests are missing, all skipped, or failing.",
            columns=["Requirement", "Source", "Why"],
            rows=[
                [
                    row.requirement.id,
                    row.requirement.source,
                    "a test failed"
                    if row.outcome == FAILING
                    else ("tests skipped" if row.tests else "no test declares it"),
                ]
                for row in matrix.gaps
            ],
            widths=[1, 2, 2],
        )
    )
    return document


def tests_cell(tests: list[TestResult]) -> str:
    """One line per test function: its parametrized cases are counted together by outcome."""
    if not tests:
        return "none"
    outcomes: dict[str, Counter] = {}
    for test in tests:
        outcomes.setdefault(test.nodeid.split("[", 1)[0], Counter())[test.outcome] += 1
    lines = []
    for name, counts in outcomes.items():
        if sum(counts.values()) == 1:
            lines.append(f"{name} ({next(iter(counts))})")
        else:
            lines.append(f"{name} ({', '.join(f'{n} {o}' for o, n in sorted(counts.items()))})")
    return "\n".join(lines)
