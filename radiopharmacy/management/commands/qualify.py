from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from radiopharmacy.validation import documents, provenance, qualification
from radiopharmacy.validation.testrun import TestRunError, run_pytest

# The operational qualification subset: every test that declares a requirement, except the
# browser tests (they need Chromium, which a production host does not have). Integration tests
# run where PostgreSQL and Redis are configured and skip otherwise.
OQ_SELECTION = "requirement and not e2e"


class Command(BaseCommand):
    help = (
        "Qualify this installation (SPEC §2.10). --iq records installation evidence (versions of "
        "Python, packages and database, settings checks, migration state, hashes of the installed "
        "code); --oq runs the operational qualification subset of the suite against the installed "
        "system. Each writes an HTML and PDF report ready for sign-off."
    )

    def add_arguments(self, parser):
        parser.add_argument("--iq", action="store_true", help="installation qualification")
        parser.add_argument("--oq", action="store_true", help="operational qualification")
        parser.add_argument(
            "--output",
            type=Path,
            help="directory for the reports (default var/qualification/<UTC time>/)",
        )
        parser.add_argument(
            "--select",
            default=OQ_SELECTION,
            help=f"pytest -m expression of the OQ tests (default: {OQ_SELECTION!r})",
        )
        parser.add_argument("pytest_args", nargs="*", help="more pytest arguments for --oq")

    def handle(self, *args, **options):
        if not (options["iq"] or options["oq"]):
            raise CommandError("say what to qualify: --iq, --oq or both")
        output: Path = options["output"] or (
            Path(settings.VAR_DIR)
            / "qualification"
            / provenance.now_utc().strftime("%Y%m%dT%H%M%SZ")
        )
        failures = []
        if options["iq"]:
            failures += self._iq(output)
        if options["oq"]:
            failures += self._oq(output, options["select"], options["pytest_args"])
        if failures:
            raise CommandError("; ".join(failures) + f" (reports in {output})")

    def _iq(self, output: Path) -> list[str]:
        checks = qualification.iq_checks()
        hashes = qualification.code_hashes()
        output.mkdir(parents=True, exist_ok=True)
        manifest = output / "iq-code.sha256"
        # `sha256sum -c` from the project root re-checks the installed code against it.
        manifest.write_text("".join(f"{digest}  {path}\n" for digest, path in hashes))
        html_path, pdf_path = documents.write(
            qualification.iq_document(checks, hashes, manifest.name), output, "iq-report"
        )
        failed = [c for c in checks if c.outcome == qualification.FAIL]
        for check in failed:
            self.stdout.write(
                f"  IQ failed: {check.name}: expected {check.expected}, found {check.actual}"
            )
        self.stdout.write(
            f"IQ: {len(checks)} checks, {len(failed)} failed; {len(hashes)} code files hashed.\n"
            f"Written: {html_path}, {pdf_path} and {manifest}"
        )
        return [f"IQ: {len(failed)} checks failed"] if failed else []

    def _oq(self, output: Path, select: str, extra_args: list[str]) -> list[str]:
        try:
            import pytest  # noqa: F401  (the OQ runs the suite: the dev requirements are needed)
        except ImportError as exc:
            raise CommandError(
                "--oq runs the test suite: install it with make install-dev"
            ) from exc
        try:
            exit_code, run = run_pytest(
                junit_path=output / "oq-junit.xml", select=select, extra_args=extra_args
            )
        except TestRunError as exc:
            raise CommandError(f"OQ: {exc}") from exc
        html_path, pdf_path = documents.write(
            qualification.oq_document(run, exit_code, select, extra_args), output, "oq-report"
        )
        failed = [r for r in run.results if r.outcome == "failed"]
        self.stdout.write(
            f"OQ: {len(run.results)} tests, {len(failed)} failed.\n"
            f"Written: {html_path} and {pdf_path}"
        )
        if failed or not run.results:
            return [f"OQ: {len(failed)} of {len(run.results)} tests failed"]
        return []
