from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from radiopharmacy.demo import LOADERS


class Command(BaseCommand):
    help = "Load the demo (users, a generator, elutions, batches, bookings). Safe to re-run."

    def handle(self, *args, **options):
        for dotted in LOADERS:
            import_string(dotted)(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo loaded."))
