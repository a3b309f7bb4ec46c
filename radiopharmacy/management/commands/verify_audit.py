import os

from django.core.management.base import BaseCommand, CommandError

from radiopharmacy.core.audit import verify_chain

# A broken chain lists this many problems at most (the first one names where it starts).
SHOWN = 20


class Command(BaseCommand):
    help = (
        "Check the audit trail: each entry's hash, its link to the one before and its HMAC, and "
        "the chain against every signed checkpoint; name the first bad entry or missing range."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="Check only the entries after the latest signed checkpoint, after checking that "
            "checkpoint itself (the hourly job); the whole chain when there is none yet.",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=os.cpu_count() or 1,
            help="Processes that hash the entries of a long chain (default: one per CPU; 1: "
            "this process only). Same findings either way.",
        )

    def handle(self, *args, **options):
        report = verify_chain(
            since_checkpoint=options["since_checkpoint"], processes=max(1, options["processes"])
        )
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
        since = report.since
        scope = (
            f" ({report.read} read from the checkpoint of {since.at} at entry {since.entry_id})"
            if since
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} entries{scope}, signed{anchored}."
            )
        )
