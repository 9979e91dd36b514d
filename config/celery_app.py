"""The Celery application and the one place where periodic work is declared."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pouls")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every schedule lives in the database; beat only wakes the workers up.
app.conf.beat_schedule = {
    "tick": {
        "task": "pouls.tick",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    "daily": {
        "task": "pouls.daily",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 3600},
    },
}
