import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("biencommun")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_tidy(task: Any = None, **kwargs: Any) -> None:
    """What Django does around each request, around each task: a connection older than
    CONN_MAX_AGE, or left unusable (an error inside a transaction, a server that restarted),
    is closed and the next query opens a new one; a healthy one is kept. Tasks run in process
    (eager) are inside their caller's transaction and are left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
