"""Fixtures shared by every test module."""

import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from members.services import api_token_create

from .factories import MembershipFactory, RoleGrantFactory, UserFactory

IN_CI = os.environ.get("CI") == "true"
# Tasks executed by real workers during the run, reported at the end of the session.
WORKER_TASKS: list[tuple[str, str]] = []
ROLES = ["anonymous", "supporter", "member", "lead", "treasurer", "moderator", "auditor"]


def require_service(name: str, available: bool, how: str) -> None:
    """Under CI=true a missing service fails the test; elsewhere it is skipped, saying why."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required under CI=true: {how}")
    pytest.skip(f"{name} is not available here: {how}")


def require_module(name: str) -> None:
    """A test-only dependency (an oracle such as pabutools): under CI=true it must be there."""
    require_service(
        name,
        importlib.util.find_spec(name) is not None,
        "install the test dependencies with bin/setup --dev",
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    def make(role: str = "supporter", **kwargs: Any) -> Any:
        user = UserFactory(**kwargs)
        if role == "member":
            MembershipFactory(user=user, shares=2)
        elif role in {"lead", "treasurer", "moderator", "auditor"}:
            RoleGrantFactory(user=user, role=role)
        return user

    return make


@pytest.fixture
def client_as(make_user: Callable[..., Any]) -> Callable[[str], tuple[APIClient, Any]]:
    """An API client logged in (by session) with the given role, or anonymous."""

    def make(role: str) -> tuple[APIClient, Any]:
        client = APIClient()
        if role == "anonymous":
            return client, None
        user = make_user(role)
        client.force_authenticate(user=user)
        return client, user

    return make


@pytest.fixture
def token_client(make_user: Callable[..., Any]) -> Callable[..., tuple[APIClient, Any, str]]:
    """An API client authenticated by a personal token with the given scopes."""

    def make(
        scopes: list[str], role: str = "supporter", **kwargs: Any
    ) -> tuple[APIClient, Any, str]:
        user = make_user(role)
        _token, raw = api_token_create(user=user, name="test", scopes=scopes, **kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client, user, raw

    return make


def celery_use_broker(app: Any, url: str) -> None:
    """Point the Celery app at another broker; kombu keeps one connection pool per address."""
    app.conf.broker_url = url
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def worker_broker_url() -> str | None:
    """A Redis database for test workers, never the one REDIS_URL serves, one per xdist process.

    Each pytest-xdist process has its own test database, so it needs its own queues too: a worker
    of one process must never run a task published by the other against the wrong database.
    """
    url = redis_url()
    if url is None:
        return None
    base = os.environ.get("TEST_REDIS_URL") or url.rsplit("/", 1)[0] + "/15"
    prefix, _, number = base.rpartition("/")
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    return f"{prefix}/{(int(number or 0) - index) % 16}"


@pytest.fixture
def celery_worker(transactional_db: Any) -> Iterator[Any]:
    """A real Celery worker, in a thread of this process, consuming from Redis.

    Tests that use it see committed data only, so they run with transactional_db.
    """
    test_url = worker_broker_url()
    require_service("Redis", test_url is not None, "set REDIS_URL to a running Redis")
    assert test_url is not None
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.task_always_eager = False
    celery_use_broker(app, test_url)
    import redis

    redis.Redis.from_url(test_url).flushdb()
    queues = ["default", "payments", "ledger", "campaigns", "fund", "webhooks"]
    from celery.signals import task_postrun

    def record(sender: Any = None, task: Any = None, state: str | None = None, **_: Any) -> None:
        WORKER_TASKS.append((getattr(task, "name", str(sender)), f"{state} via {test_url}"))

    task_postrun.connect(record, weak=False)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            queues=queues,
            loglevel="WARNING",
            shutdown_timeout=10,
        ) as worker:
            yield worker
    finally:
        from common.queue import gathered_flush

        gathered_flush()  # what this process gathered goes to the test broker, not the next one
        task_postrun.disconnect(record)
        app.conf.task_always_eager = saved["task_always_eager"]
        celery_use_broker(app, saved["broker_url"])
