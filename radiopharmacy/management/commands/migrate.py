"""`migrate` as the owner role: with DATABASE_OWNER_URL set, the migrations connect as that role
(which owns the tables), never as the application's (DATABASE_URL)."""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand

from radiopharmacy.core.audit_sql import owner_credentials


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Connects as DATABASE_OWNER_URL's role when it is set."

    def handle(self, *args, **options):
        with owner_credentials(options["database"]):
            return super().handle(*args, **options)
