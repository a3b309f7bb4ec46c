"""API tokens are knox tokens now (stored hashed, expiring). The old DRF tokens were stored in
clear in `authtoken_token`; they no longer authenticate anything, and a table of credentials in
clear has no place in the database, so it goes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0007_audit_anchoring")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
