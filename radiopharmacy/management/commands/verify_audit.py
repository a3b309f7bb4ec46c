from django.core.management.base import BaseCommand, CommandError

from radiopharmacy.core.audit import verify_chain


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; name the first broken entry."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at entry {report.first_broken_id}: {report.problem}. "
                f"{report.checked} entries before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries."))
