from django.core.management.base import BaseCommand, CommandError

from qc.inspector_verify import verify_export


class Command(BaseCommand):
    help = (
        "Check an inspector export ZIP offline: the manifest, each signed record against its "
        "hash, the certificate (hash, PAdES signature), each audit entry's hash, the chain links "
        "to the checkpoint included, and (with this site's key) the HMACs. One line per piece; "
        "exits non-zero naming what is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("export", help="The ZIP file of the export.")
        parser.add_argument(
            "--no-hmac",
            action="store_true",
            help="Do not check the HMACs (an installation without the site's AUDIT_HMAC_KEY).",
        )

    def handle(self, *args, **options):
        report = verify_export(options["export"], check_hmac=not options["no_hmac"])
        for check in report.checks:
            style = self.style.SUCCESS if check.ok else self.style.ERROR
            self.stdout.write(style(check.line()))
        if not report.ok:
            names = ", ".join(c.piece for c in report.failures)
            raise CommandError(f"The export does not verify: {names}.")
        self.stdout.write(self.style.SUCCESS("OK: every piece of the export verifies."))
