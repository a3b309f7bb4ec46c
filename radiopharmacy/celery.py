"""The Celery application.

Worker: `celery -A radiopharmacy worker`; beat: `celery -A radiopharmacy beat`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")

app = Celery("gallium")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
