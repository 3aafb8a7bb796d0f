"""Redis goes down in the middle of pledging: a private `redis-server` (never the machine's)
is the broker of a real Celery worker, in its own process on the test database.

While Redis is down the API keeps accepting pledges: each is committed, and the publish of its
charge task is dropped (`common.queue.enqueue_on_commit`). Once Redis is back the sweeper (what
beat runs every few minutes; called here as beat would, with a one-second grace) publishes
again what the database says is still to do, and the worker charges each pledge exactly once:
one payment, one escrow entry, and an escrow that holds exactly the sum of the pledges. The
Redis here keeps nothing on disk, so the messages queued before the outage are lost with it too.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from campaigns import tasks
from campaigns.enums import FundingModel, PledgeStatus
from campaigns.models import Pledge, PledgeEvent
from campaigns.selectors import campaign_progress_get
from common.queue import gathered_flush
from config.celery_app import app
from ledger.models import JournalEntry, Posting
from members.services import api_token_create
from payments.models import Payment
from tests.fixtures import celery_use_broker, require_service

from .conftest import escrow_balance, launched_campaign, person, saved_card, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
BEFORE, DURING = 4, 12  # pledges made with Redis up, then while it is down


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that can be stopped and started."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.is_up, "the private redis-server did not start", timeout=10)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc = None
        assert not self.is_up()

    def is_up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _worker(broker: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PAYMENTS_PROVIDER": "sandbox",
        "EMAIL_URL": "consolemail://",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        str(REPO / ".venv" / "bin" / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        "default,payments,ledger,campaigns,fund,webhooks",
        "--pool",
        "prefork",
        "--concurrency",
        "2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"outage-{uuid.uuid4().hex[:8]}@%h",
        "-l",
        "INFO",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _backer(campaign: Any) -> tuple[APIClient, int]:
    user = person()
    card = saved_card(user)
    _token, raw = api_token_create(user=user, name="outage", scopes=["write:pledges"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, card.pk


def _pledge(client: APIClient, campaign: Any, card: int, amount: int, key: str) -> Any:
    started = time.monotonic()
    response = client.post(
        "/api/v1/pledges",
        {"campaign": campaign.pk, "amount": amount, "payment_method": card},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    return response, time.monotonic() - started


def _collected(campaign: Any) -> int:
    return Pledge.objects.filter(campaign=campaign, status=PledgeStatus.COLLECTED).count()


def test_pledges_survive_a_redis_outage_and_are_charged_exactly_once(settings, tmp_path, caplog):
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL"
    )
    require_service(
        "redis-server", shutil.which("redis-server") is not None, "apt-get install redis-server"
    )
    settings.CAMPAIGNS_SWEEP_GRACE = timedelta(seconds=1)
    campaign = launched_campaign(
        lead=person("lead"), goal=100_000, funding_model=FundingModel.KEEP_IT_ALL
    )
    backers = [_backer(campaign) for _ in range(4)]
    amounts = {f"outage-{i}": 1_000 + 137 * i for i in range(BEFORE + DURING)}

    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.task_always_eager = False
    celery_use_broker(app, redis_server.url)
    log = tmp_path / "worker.log"
    worker = _worker(redis_server.url, log)
    try:
        keys = list(amounts)
        # Redis up: pledges are published at once, and the worker charges them.
        for i, key in enumerate(keys[:BEFORE]):
            client, card = backers[i % len(backers)]
            response, _took = _pledge(client, campaign, card, amounts[key], key)
            assert response.status_code == 201, response.content
        wait_until(
            lambda: _collected(campaign) == BEFORE,
            f"the worker did not charge the first pledges: {log.read_text()[-3000:]}",
            timeout=60,
        )

        # Redis down: every pledge is still accepted, quickly, and waits in the database.
        redis_server.stop()
        slowest = 0.0
        for i, key in enumerate(keys[BEFORE:]):
            client, card = backers[i % len(backers)]
            response, took = _pledge(client, campaign, card, amounts[key], key)
            assert response.status_code == 201, response.content
            assert response.json()["status"] == PledgeStatus.COLLECTING
            slowest = max(slowest, took)
        # A client retrying with the same key gets the same pledge, Redis or not.
        client, card = backers[0]
        again, _took = _pledge(client, campaign, card, amounts[keys[BEFORE]], keys[BEFORE])
        assert again.status_code == 201
        assert Pledge.objects.filter(campaign=campaign).count() == BEFORE + DURING
        assert slowest < 3.0, f"a pledge took {slowest:.1f} s while Redis was down"
        deferred = [r for r in caplog.records if "deferred to its sweeper" in r.getMessage()]
        assert len(deferred) == DURING
        time.sleep(1.5)  # nothing can run them: their publish was dropped
        assert _collected(campaign) == BEFORE
        assert Payment.objects.filter(reference_type="pledge").count() == BEFORE

        # Redis back, empty: the sweeper publishes the deferred charges again.
        redis_server.start()
        if worker.poll() is not None:
            # A worker that held an unacknowledged message when Redis went away can exit while
            # kombu restores it (celery/kombu#970); its supervisor starts it again, as
            # docker-compose's `restart: unless-stopped` does.
            worker = _worker(redis_server.url, log)
        time.sleep(1.1)  # past the grace
        swept = tasks.campaigns_sweep.apply().get()
        assert swept["collect"] == DURING, swept
        wait_until(
            lambda: _collected(campaign) == BEFORE + DURING,
            f"the deferred pledges were not charged: {log.read_text()[-3000:]}",
            timeout=90,
        )
        # Delivered twice (a sweep that overlaps a slow worker, a redelivery): charged once.
        for pledge_id in Pledge.objects.filter(campaign=campaign).values_list("id", flat=True):
            tasks.pledge_collect.delay(pledge_id)
        swept_again = tasks.campaigns_sweep.apply().get()
        assert swept_again["collect"] == 0, swept_again
        time.sleep(3)  # let the duplicates run
    finally:
        gathered_flush()  # receipts this process gathered go to this test's broker
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=5)
        if redis_server.proc is not None:
            redis_server.stop()
        app.conf.task_always_eager = saved["task_always_eager"]
        celery_use_broker(app, saved["broker_url"])

    pledges = list(Pledge.objects.filter(campaign=campaign).order_by("pk"))
    assert sorted(p.client_key for p in pledges) == sorted(amounts)
    assert {p.client_key: p.amount for p in pledges} == amounts
    assert Counter(p.status for p in pledges) == {PledgeStatus.COLLECTED: BEFORE + DURING}
    payments = Payment.objects.filter(reference_type="pledge").order_by("pk")
    assert sorted(p.reference_id for p in payments) == sorted(p.pk for p in pledges)
    assert {p.status for p in payments} == {"succeeded"}
    assert [p.payment_id for p in pledges] == [payments.get(reference_id=p.pk).pk for p in pledges]
    # One charge entry per payment, and each is the one on its pledge.
    charges = JournalEntry.objects.filter(
        reference_type="payment", postings__account__purpose="campaign_escrow"
    )
    assert sorted(charges.values_list("reference_id", flat=True)) == sorted(p.pk for p in payments)
    assert sorted(p.charge_entry_id for p in pledges) == sorted(
        charges.values_list("pk", flat=True)
    )
    escrow = Posting.objects.filter(
        account__purpose="campaign_escrow", account__owner_id=campaign.pk
    )
    assert list(escrow.values_list("side", flat=True).distinct()) == ["credit"]
    assert escrow.count() == BEFORE + DURING
    total = sum(amounts.values())
    assert escrow_balance(campaign) == total
    assert campaign_progress_get(campaign).raised == total
    # Each pledge moved to collected exactly once.
    moves = Counter(
        PledgeEvent.objects.filter(
            pledge__campaign=campaign, to_status=PledgeStatus.COLLECTED
        ).values_list("pledge_id", flat=True)
    )
    assert moves == dict.fromkeys((p.pk for p in pledges), 1)
