"""A worker keeps its database connection from task to task, as a web process does."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery_app import _database_connections_tidy, app

pytestmark = pytest.mark.django_db(transaction=True)


def _around_a_task(fixup: DjangoWorkerFixup, task) -> int:
    """What a worker process runs before and after a task; the task's server process id."""
    fixup.on_task_prerun(sender=task)
    _database_connections_tidy(task=task)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 1"
        )
        (pid,) = cursor.fetchone()
    fixup.on_task_postrun(sender=task)
    _database_connections_tidy(task=task)
    return pid


def test_tasks_share_the_workers_connection_until_it_is_too_old():
    task = app.tasks["common.tasks.email_send"]
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max == 10_000
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE as in production
    raw = connection.connection
    pids = {_around_a_task(fixup, task) for _ in range(3)}
    assert connection.connection is raw
    assert len(pids) == 1
    # Past its age, the connection is closed after the task, and the next task opens another.
    connection.close_at = time.monotonic() - 1
    _database_connections_tidy(task=task)
    assert connection.connection is None
    connection.ensure_connection()
    assert connection.connection is not raw


def test_a_connection_left_broken_is_replaced():
    task = app.tasks["common.tasks.email_send"]
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    connection.errors_occurred = True
    raw = connection.connection
    raw.close()  # as when the server went away during the task
    _database_connections_tidy(task=task)
    assert connection.connection is None
