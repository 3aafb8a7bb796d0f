"""A crashed worker: a real Celery worker, in its own process on Redis and PostgreSQL, is killed
with SIGKILL in the middle of a batch of disbursements. Once a worker runs again, each
disbursement is paid exactly once: one transfer at the provider, one entry in the books.

What makes it work: `acks_late` (the message stays in the broker until the task ends),
`reject_on_worker_lost`, the `submitted` state committed before the provider is called, and
the transfer's idempotency key (`disbursement:<id>`, namespaced) replayed by the provider.
"""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app
from ledger.enums import AccountPurpose, EntryKind
from ledger.services import credit, debit, fund_account, ledger_entry_post, platform_account
from payments import gateway
from payments.enums import DisbursementStatus
from payments.models import Disbursement
from payments.services import (
    disbursement_approve,
    disbursement_request,
    payee_account_connect_start,
    payee_account_sync,
)
from payments.services.disbursements import transfer_group
from tests.factories import RoleGrantFactory, UserFactory
from tests.fixtures import celery_use_broker, require_service, worker_broker_url

from .books import entries, grants_pool, stripe_cash

pytest_plugins = ["tests.support.localstripe_fixtures"]
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BATCH = 20
SEND_DELAY = 1.0  # seconds between the transfer and its `paid` commit: the kill lands there
VISIBILITY_TIMEOUT = 5  # an unacknowledged message is delivered again after this


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        str(REPO / ".venv" / "bin" / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        "payments",
        "--pool",
        "prefork",
        "--concurrency",
        "2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"crash-{uuid.uuid4().hex[:8]}@%h",
        "-l",
        "INFO",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _status_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Disbursement.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def _transfers(disbursement_id: int) -> list[str]:
    listed = gateway.client().v1.transfers.list(
        params={"transfer_group": transfer_group(disbursement_id), "limit": 100}
    )
    return [t.id for t in listed.data]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kill", ["worker", "pool process"])
def test_a_worker_killed_mid_batch_pays_each_disbursement_exactly_once(
    stripe_provider, tmp_path, kill
):
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL"
    )
    broker = worker_broker_url()
    require_service("Redis", broker is not None, "set REDIS_URL to a running Redis")
    assert broker is not None
    import redis

    redis.Redis.from_url(broker).flushdb()

    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    payee, _link = payee_account_connect_start(
        owner_type="project",
        owner_id=1,
        user=lead,
        return_url="http://127.0.0.1:8000/done",
        refresh_url="http://127.0.0.1:8000/again",
    )
    stripe_provider.complete_onboarding(payee.connect_account_id)
    payee = payee_account_sync(payee=payee)
    amounts = [1000 + 10 * i for i in range(BATCH)]
    ledger_entry_post(  # the grants pool, held at Stripe
        kind=EntryKind.DONATION,
        legs=[
            debit(platform_account(AccountPurpose.STRIPE_CASH, "EUR"), 100_000),
            credit(fund_account(AccountPurpose.GRANTS_POOL, "EUR"), 100_000),
        ],
        idempotency_key="crash-test-funding",
    )
    pool = fund_account(AccountPurpose.GRANTS_POOL, "EUR")

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.task_always_eager = False
    celery_use_broker(app, broker)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "PAYMENTS_PROVIDER": "stripe",
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
        "PAYMENTS_IDEMPOTENCY_NAMESPACE": settings.PAYMENTS_IDEMPOTENCY_NAMESPACE,
        "PAYMENTS_DISBURSEMENT_SEND_DELAY": str(SEND_DELAY),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        disbursements = []
        for i, amount in enumerate(amounts):
            disbursement = disbursement_request(
                payee=payee,
                amount=amount,
                currency="EUR",
                source_account=pool,
                purpose="grant",
                requested_by=lead,
                idempotency_key=f"crash-{i}",
            )
            # Approval publishes the send task to Redis when it commits.
            disbursements.append(disbursement_approve(disbursement=disbursement, actor=treasurer))

        workers.append(_worker(env, log))
        in_flight = None
        first_seen: dict[int, float] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and in_flight is None:
            submitted = Disbursement.objects.filter(status=DisbursementStatus.SUBMITTED)
            for pk in submitted.values_list("pk", flat=True):
                if pk not in first_seen and _transfers(pk):
                    first_seen[pk] = time.monotonic()
            paid = _status_counts().get(DisbursementStatus.PAID, 0)
            fresh = [
                pk
                for pk, seen in first_seen.items()
                if time.monotonic() - seen < SEND_DELAY / 3
                and Disbursement.objects.filter(pk=pk, status=DisbursementStatus.SUBMITTED).exists()
            ]
            if paid >= 3 and fresh:
                # A payout whose transfer was just made, its `paid` not yet committed.
                in_flight = fresh[0]
                break
            time.sleep(0.01)
        assert in_flight is not None, log.read_text()[-3000:]
        if kill == "worker":
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=10)
        else:  # the pool's processes only: the worker itself sees them lost
            for child in _children(workers[0].pid):
                os.kill(child, signal.SIGKILL)
        at_kill = _status_counts()
        assert at_kill.get(DisbursementStatus.PAID, 0) < BATCH, at_kill
        assert Disbursement.objects.get(pk=in_flight).status == DisbursementStatus.SUBMITTED

        if kill == "worker":
            # The restarted worker takes back, on start, the messages left unacknowledged for
            # longer than the visibility timeout.
            time.sleep(VISIBILITY_TIMEOUT + 1)
            workers.append(_worker({**env, "PAYMENTS_DISBURSEMENT_SEND_DELAY": "0.05"}, log))
        # Otherwise `reject_on_worker_lost` puts the lost tasks back at once.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _status_counts().get(DisbursementStatus.PAID, 0) == BATCH:
                break
            time.sleep(0.2)
        assert _status_counts() == {DisbursementStatus.PAID: BATCH}, (
            _status_counts(),
            log.read_text()[-4000:],
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=5)
        app.conf.task_always_eager = saved["task_always_eager"]
        celery_use_broker(app, saved["broker_url"])

    pool_code, cash_code = "fund:grants_pool:EUR", "platform:stripe_cash:EUR"
    for disbursement in Disbursement.objects.order_by("pk"):
        transfers = _transfers(disbursement.pk)
        assert transfers == [disbursement.provider_transfer_id], disbursement.pk
        assert entries("disbursement", disbursement.pk) == [
            (
                "grant",
                None,
                [
                    (pool_code, "debit", disbursement.amount),
                    (cash_code, "credit", disbursement.amount),
                ],
            )
        ]
    listed = gateway.client().v1.transfers.list(
        params={"destination": payee.connect_account_id, "limit": 100}
    )
    assert len(listed.data) == BATCH
    assert sorted(t.amount for t in listed.data) == amounts
    assert stripe_cash() == grants_pool() == 100_000 - sum(amounts)
    # The payout caught mid-flight was sent twice, and the provider replayed the first transfer.
    assert Disbursement.objects.get(pk=in_flight).send_attempts >= 2
    print(
        f"{kill} killed with {at_kill}; in flight: #{in_flight}; "
        f"{Disbursement.objects.filter(send_attempts__gte=2).count()} sent again, "
        f"{len(listed.data)} transfers"
    )
