from django.conf import settings
from django.core.management.base import BaseCommand

from radiopharmacy.core.audit import checkpoint_write


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head now (entry id, count, head hash, time) and append it to the "
        "checkpoint files in AUDIT_CHECKPOINT_DIR and to the checkpoint table."
    )

    def handle(self, *args, **options):
        checkpoint = checkpoint_write()
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint written to {settings.AUDIT_CHECKPOINT_DIR}: {checkpoint.count} "
                f"entries up to entry {checkpoint.entry_id}, head "
                f"{checkpoint.head_hash[:16]}..., at {checkpoint.at}."
            )
        )
