from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from radiopharmacy.validation import documents
from radiopharmacy.validation.junit import merge_runs, read_junit
from radiopharmacy.validation.matrix import build_matrix, matrix_document
from radiopharmacy.validation.register import RegisterError, load_register
from radiopharmacy.validation.testrun import TestRunError, run_pytest

STEM = "traceability-matrix"


class Command(BaseCommand):
    help = (
        "Write the traceability matrix (SPEC §2.10): every requirement of docs/requirements.yaml "
        "with the tests that verify it and their results, as HTML and PDF. Runs the tests that "
        "carry a requirement marker, or reads the results of a run (--junit); a requirement with "
        "no passing test is listed as a gap."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--junit",
            type=Path,
            action="append",
            help="read this JUnit XML of a pytest run instead of running the tests (repeat it "
            "for several runs: a test failing in any of them fails its requirements)",
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=Path(settings.VAR_DIR) / "validation",
            help="directory for traceability-matrix.html and .pdf (default var/validation/)",
        )
        parser.add_argument(
            "--select",
            default="requirement",
            help="pytest -m expression of the tests to run (default: every marked test)",
        )
        parser.add_argument(
            "--fail-on-gaps", action="store_true", help="exit with an error when there are gaps"
        )
        parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")

    def handle(self, *args, **options):
        output: Path = options["output"]
        try:
            register = load_register()
            if options["junit"]:
                for path in options["junit"]:
                    if not path.exists():
                        raise CommandError(f"{path} does not exist")
                run = merge_runs([read_junit(path) for path in options["junit"]])
            else:
                _code, run = run_pytest(
                    junit_path=output / "junit.xml",
                    select=options["select"],
                    extra_args=options["pytest_args"],
                )
        except (RegisterError, TestRunError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        matrix = build_matrix(register, run)
        html_path, pdf_path = documents.write(matrix_document(matrix), output, STEM)
        for row in matrix.gaps:
            self.stdout.write(
                f"  gap: {row.requirement.id} ({row.outcome}) {row.requirement.source}"
            )
        verified = len(matrix.rows) - len(matrix.gaps)
        self.stdout.write(
            f"Traceability matrix: {len(matrix.rows)} requirements, {verified} verified, "
            f"{len(matrix.gaps)} gaps.\nWritten: {html_path} and {pdf_path}"
        )
        if options["fail_on_gaps"] and matrix.gaps:
            raise CommandError(f"{len(matrix.gaps)} requirements have no passing test")
