"""Scheduling tasks so that a broker outage never fails a request.

The request commits its state first; the task is published after the commit. If the broker is
down the publish is logged and dropped: each app's sweeper task (Celery beat) finds work whose
state says it is still pending and publishes it again. Tasks are idempotent, so a task that is
published twice does its work once.

Work that many requests ask of one task within a moment (a receipt for each pledge of a surge)
can be gathered: each process publishes the items it was given over TASK_GATHER_SECONDS as one
message, so the request pays for an append instead of a publish, and the worker runs one task
for the lot. An item a process never got to publish (it was killed in that moment) is left to
the sweeper, as a publish lost to a broker outage is.
"""

import atexit
import logging
import os
import threading
from typing import Any

from celery import Task
from django.conf import settings
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


# The most items one gathered message carries.
GATHER_MAX_ITEMS = 500


class _Gatherer:
    """The items waiting in this process, per task, and the timer that will publish them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, tuple[Task, list[Any]]] = {}
        self.timer: threading.Timer | None = None
        self.pid = os.getpid()

    def add(self, task: Task, item: Any, seconds: float) -> None:
        with self.lock:
            if self.pid != os.getpid():  # a forked child: the parent's timer did not come along
                self.pending, self.timer, self.pid = {}, None, os.getpid()
            self.pending.setdefault(task.name, (task, []))[1].append(item)
            if self.timer is None:
                self.timer = threading.Timer(seconds, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> int:
        with self.lock:
            batches = list(self.pending.values())
            self.pending, self.timer = {}, None
        sent = 0
        for task, items in batches:
            for start in range(0, len(items), GATHER_MAX_ITEMS):
                chunk = items[start : start + GATHER_MAX_ITEMS]
                if publish(task, chunk):
                    sent += len(chunk)
        return sent


_gatherer = _Gatherer()
atexit.register(_gatherer.flush)


def gathered_flush() -> int:
    """Publish what this process has gathered now; the number of items published."""
    return _gatherer.flush()


def enqueue_gathered_on_commit(task: Task, item: Any) -> None:
    """Once the current transaction commits, publish `task([item, …])` with the items other
    requests of this process give the same task within TASK_GATHER_SECONDS. When tasks run in
    process, or with no gathering time, `task([item])` is published at once."""

    def gather() -> None:
        seconds = float(settings.TASK_GATHER_SECONDS)
        if seconds <= 0 or task.app.conf.task_always_eager:
            publish(task, [item])
        else:
            _gatherer.add(task, item, seconds)

    transaction.on_commit(gather)
