"""The Celery application and the one place where periodic work is declared."""

import contextlib
import gc
import logging
import os

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pouls")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger(__name__)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_as_around_a_request(task=None, **kwargs):
    """Connections live across tasks like across web requests: closed once unusable or
    older than CONN_MAX_AGE (CELERY_DB_REUSE_MAX keeps Celery from closing them all).
    Not around a task run eagerly, inside its caller's work (as Celery's fix-up)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _load_what_the_pool_children_share(**kwargs):
    """In the worker's main process, before the pool forks: what each child would
    otherwise build for itself at its start or first batch is built once here, and the
    children share its memory pages (copy-on-write): each app's
    `worker_preload_handlers` (the sending path, `mailings.preload`), and the C
    declaration parser that billiard's cffi builds in every child to set its
    parent-death signal (a few MB per child, when cffi is installed). A failure only
    leaves the children to load it themselves."""
    from billiard.util import get_pdeathsig
    from django.utils.module_loading import import_string

    from .tasks import handlers

    with contextlib.suppress(OSError):  # not Linux
        get_pdeathsig()
    for path in handlers("worker_preload"):
        try:
            import_string(path)()
        except Exception:
            logger.warning("worker preload %s failed", path, exc_info=True)


@signals.worker_before_create_process.connect
def _freeze_what_the_worker_has_loaded(**kwargs):
    """Just before the pool forks a child: what the worker has loaded (Django, the apps,
    the settings) lives as long as the worker, so it leaves the cyclic garbage
    collector's reach (`gc.freeze`, inherited by the child). Otherwise every full
    collection walks it again while a batch builds a thousand recipients' payloads (a
    tenth of a worker's CPU in an ESP hand-over), and those walks unshare the memory
    pages the children inherit (as the `gc.freeze` documentation explains)."""
    gc.freeze()


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
