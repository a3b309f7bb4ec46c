"""Demo data for `manage.py load_demo`: one user per role, then each area's records.

Every loader is idempotent: running the command again changes nothing that exists. Each goes
through the same services as a person's input, so the demo's audit trail is real.
"""

# "module.function" of each loader, called in this order by load_demo with (stdout=...).
LOADERS = [
    "radiopharmacy.demo.users.load_users",
    "radiopharmacy.demo.generators.load_generators",
    "qc.demo.breakthrough.load_breakthrough",
    "qc.demo.batches.load_batches",
    "qc.demo.quality_events.load_quality_events",  # after the batches, before the releases
    "qc.demo.releases.load_releases",
    "scheduling.demo.bookings.load_bookings",  # after the batch and release loaders
    "scheduling.demo.plans.load_plan",  # after the bookings loader
]
