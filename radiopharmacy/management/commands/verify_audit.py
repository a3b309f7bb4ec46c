from django.core.management.base import BaseCommand, CommandError

from radiopharmacy.core.audit import verify_chain

# A broken chain lists this many problems at most (the first one names where it starts).
SHOWN = 20


class Command(BaseCommand):
    help = (
        "Check the audit trail: each entry's hash, its link to the one before and its HMAC, and "
        "the chain against every signed checkpoint; name the first bad entry or missing range."
    )

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            where = (
                f"Audit chain broken at entry {report.first_broken_id}"
                if report.first_broken_id is not None
                else "Audit checkpoints broken"
            )
            lines = [f"{where}: {report.problem}. {report.checked} entries before it are intact."]
            lines += [f"  - {problem}" for problem in report.problems[1:SHOWN]]
            if len(report.problems) > SHOWN:
                lines.append(f"  ... and {len(report.problems) - SHOWN} more")
            raise CommandError("\n".join(lines))
        last = report.last_checkpoint
        anchored = (
            f", consistent with {report.checkpoints} signed checkpoints (the last at "
            f"{last.at}, entry {last.entry_id})"
            if last
            else ", no checkpoint yet (manage.py audit_checkpoint writes one)"
        )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} entries, signed{anchored}.")
        )
