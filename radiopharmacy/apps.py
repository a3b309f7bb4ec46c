from importlib import import_module
from importlib.util import find_spec

from django.apps import AppConfig

GALLIUM_APPS = ("radiopharmacy", "qc", "scheduling")


class RadiopharmacyConfig(AppConfig):
    name = "radiopharmacy"
    verbose_name = "Radiopharmacy production"

    def ready(self):
        # Loaded here rather than in the package __init__ so that importing the pure
        # radiopharmacy.physics module never pulls in Celery or Django.
        from radiopharmacy import celery  # noqa: F401

        # The role matrix as permissions (rules autodiscovers only a top-level rules.py), and
        # user, group and role changes in the audit chain (tokens revoked, no user deleted).
        from radiopharmacy.core import accounts, rules  # noqa: F401

        accounts.connect()

        # Register every app's tasks now (models are loaded at this point), so that eager
        # runs and the outbox can look tasks up by name in any process, not just in workers.
        for app_name in GALLIUM_APPS:
            if find_spec(f"{app_name}.tasks") is not None:
                import_module(f"{app_name}.tasks")
