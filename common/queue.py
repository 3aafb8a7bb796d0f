"""Scheduling tasks so that a broker outage never fails a request.

The request commits its state first; the task is published after the commit. If the broker is
down the publish is logged and dropped: each app's sweeper task (Celery beat) finds work whose
state says it is still pending and publishes it again. Tasks are idempotent, so a task that is
published twice does its work once.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)

# Publishing gives up quickly: the sweeper, not the request, is responsible for retrying.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}


def publish(task: Task, *args: Any, **kwargs: Any) -> bool:
    """Publish now; False if the broker could not be reached (the sweeper will catch up)."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu and redis raise several types for an unreachable broker
        if task.app.conf.task_always_eager:
            raise  # in process the task itself failed: that is a real error
        logger.warning("broker unavailable, %s deferred to its sweeper: %s", task.name, exc)
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Publish once the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: publish(task, *args, **kwargs))
