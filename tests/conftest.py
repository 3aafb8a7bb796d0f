"""Test setup: real services when they are at hand; under CI=true a missing one is an error."""

import os
from collections import Counter
from typing import Any

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures"]

IN_CI = os.environ.get("CI") == "true"


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI:
        problems = []
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            problems.append("DATABASE_URL does not point at PostgreSQL")
        if not os.environ.get("REDIS_URL"):
            problems.append("REDIS_URL is not set")
        if problems:
            raise pytest.UsageError("CI=true but " + "; ".join(problems))


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}{(':' + str(db['PORT'])) if db.get('PORT') else ''}",
        f"redis: {os.environ.get('REDIS_URL') or 'none'}; CI={os.environ.get('CI', '')}",
    ]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist process: hand the tasks its real workers ran to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.fixtures import WORKER_TASKS

        workeroutput["worker_tasks"] = [list(task) for task in WORKER_TASKS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller: gather what each process's real workers ran."""
    from tests.fixtures import WORKER_TASKS

    output = getattr(node, "workeroutput", None) or {}
    WORKER_TASKS.extend((name, state) for name, state in output.get("worker_tasks", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.fixtures import WORKER_TASKS

    if WORKER_TASKS:
        names = Counter(name for name, _state in WORKER_TASKS)
        states = Counter(state for _name, state in WORKER_TASKS)
        terminalreporter.write_line(
            f"real Celery workers executed {len(WORKER_TASKS)} task(s): "
            + ", ".join(f"{name} ×{n}" for name, n in names.most_common())
            + f" (states: {dict(states)})"
        )


@pytest.fixture(scope="session", autouse=True)
def _stray_connections_closed(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Threads that ran code against the test database (a Celery worker's startup and pool, a
    live server) can leave a session open; end them so the database can be dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
