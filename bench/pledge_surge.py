"""Benchmark: a pledge surge on gunicorn, PostgreSQL, Redis and a Celery worker.

    .venv/bin/python bench/pledge_surge.py                     # the surge, floors and reads
    .venv/bin/python bench/pledge_surge.py --redis-outage 30   # the same, Redis down for 30 s

It creates its own PostgreSQL database (`biencommun_bench` next to DATABASE_URL's, or
postgres://biencommun@127.0.0.1:5432), migrates it, and starts as subprocesses a private
`redis-server` on a free port (the machine's Redis is never touched), gunicorn (sync workers,
`config.settings.bench`, whose URLs add the floor endpoints) and a Celery worker (prefork).
It seeds one live campaign and 64 backers, each with a personal token and a saved sandbox
card. The campaign is all-or-nothing, the platform's default: each pledge is committed with its
saved card, the campaign then closes at its deadline (the clock moved past it) and the worker
charges every card and books the money in the campaign's escrow. With --funding-model
keep_it_all the worker charges each pledge during the surge instead.

1. Write floor: a DRF endpoint doing one ORM write (an atomic create plus an F() update),
   64 clients, median of --repeat runs.
2. Write load: 64 clients make --pledges pledges through `POST /api/v1/pledges`: pledges/s,
   p50, p99; then (all-or-nothing) the campaign closes, the worker charges and drains, and the
   books are checked: campaign total = Σ pledges = escrow in the ledger = Σ collected payments,
   one payment and one escrow entry per pledge.
3. Read load: the read floor (DRF, no database), the campaign page (anonymous, as cached) and
   the progress API, interleaved, each for --read-seconds, median of --repeat runs.

With --redis-outage N the private Redis is stopped N seconds in the middle of the surge (the
clients are paced so the surge lasts past it), and beat runs the sweepers every few seconds
with a short grace: every pledge must still be accepted (no 5xx), and every deferred task
must run once Redis is back.

The client is its own: processes of threads with plain blocking sockets (gunicorn's sync
workers close each connection, so each request is a connect, a send and a read to EOF). Its
own CPU use is measured and printed. Exits non-zero if a correctness check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
VENV_BIN = REPO_ROOT / ".venv" / "bin"

DEFAULT_SERVER = "postgres://biencommun@127.0.0.1:5432/biencommun"
QUEUES = "default,payments,ledger,campaigns,fund,webhooks"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes and machine ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_pids(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def _pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _cpu_ticks(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK, sum(values[:8]) / CLK_TCK


class Meter:
    """CPU used by each part of the system, and by the whole machine, during one phase."""

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups  # name -> callable returning pids

    def __enter__(self) -> Meter:
        self.start = {name: _cpu_ticks(pids()) for name, pids in self.groups.items()}
        self.machine = _machine_busy()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.monotonic() - self.t0
        self.used = {}
        for name, pids in self.groups.items():
            # Processes that started during the phase count from zero; those that ended are lost.
            end = _cpu_ticks(pids())
            start = self.start[name]
            self.used[name] = sum(t - start.get(pid, 0) for pid, t in end.items()) / CLK_TCK
        busy, total = _machine_busy()
        self.machine_busy = (busy - self.machine[0]) / max(total - self.machine[1], 1e-9)

    def summary(self, client_cpu: float) -> str:
        cores = os.cpu_count() or 1
        parts = [f"client {client_cpu / self.wall:.2f}"]
        parts += [f"{name} {used / self.wall:.2f}" for name, used in self.used.items()]
        return f"cores used: {', '.join(parts)}; machine {self.machine_busy * cores:.2f} of {cores}"


# --- the load client --------------------------------------------------------------------------


@dataclass
class LoadResult:
    count: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    client_cpu: float = 0.0
    stamps: list[tuple[float, int]] = field(default_factory=list)  # (end time, status)

    @property
    def rate(self) -> float:
        return self.count / self.wall if self.wall else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


def _exchange(port: int, payload: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection; gunicorn's sync workers close it after the answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(payload)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError as exc:
        return 0, str(exc).encode()
    data = b"".join(chunks)
    try:
        return int(data[9:12]), data
    except ValueError:
        return 0, data[:200]


def _client_process(
    port: int,
    jobs: list[list[bytes]] | list[bytes],
    go: Any,
    until: float | None,
    pace: float | None,
    out: Any,
) -> None:
    """Threads of one client process: each runs its list of requests (or one request until
    `until`), one at a time, and records latency and status."""
    results: list[tuple[float, float, int]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(requests: list[bytes] | bytes, offset: float) -> None:
        mine: list[tuple[float, float, int]] = []
        bad: list[str] = []
        if pace:
            time.sleep(offset)
        i = 0
        while True:
            if isinstance(requests, list):
                if i >= len(requests):
                    break
                payload = requests[i]
            else:
                if time.monotonic() >= until:  # type: ignore[operator]
                    break
                payload = requests
            if pace:
                due = start + offset + i * pace
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            t0 = time.monotonic()
            status, body = _exchange(port, payload)
            t1 = time.monotonic()
            mine.append((t1, t1 - t0, status))
            if not 200 <= status < 300 and len(bad) < 3:
                bad.append(f"{status}: {body[-300:]!r}")
            i += 1
        with lock:
            results.extend(mine)
            errors.extend(bad)

    go.wait()
    start = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    threads = [
        threading.Thread(target=run, args=(job, (n * (pace or 0)) / max(len(jobs), 1)))
        for n, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    out.send((start, results, errors[:5], cpu))
    out.close()


def load(
    port: int,
    jobs: list[list[bytes]] | list[bytes],
    *,
    processes: int,
    seconds: float | None = None,
    pace: float | None = None,
) -> LoadResult:
    """Run `jobs` (one per concurrent client) from `processes` client processes.

    A job is a list of requests (run in order, once each) or one request (repeated for
    `seconds`). With `pace`, each client sends one request every `pace` seconds at most.
    """
    if seconds is not None:
        return _load_timed(port, jobs, processes=processes, seconds=seconds)
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    pipes, procs = [], []
    for i in range(processes):
        share = jobs[i::processes]
        if not share:
            continue
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_client_process, args=(port, share, go, None, pace, sender), daemon=True
        )
        pipes.append(receiver)
        procs.append(proc)
    for proc in procs:
        proc.start()
    time.sleep(0.3)  # every process is waiting on the event
    go.set()
    result = LoadResult()
    starts = []
    for receiver in pipes:
        start, rows, errors, cpu = receiver.recv()
        starts.append(start)
        result.client_cpu += cpu
        result.errors += errors
        for end, latency, status in rows:
            result.latencies.append(latency)
            result.statuses[status] += 1
            result.stamps.append((end, status))
    for proc in procs:
        proc.join()
    result.count = len(result.latencies)
    result.wall = max(end for end, _s in result.stamps) - min(starts)
    return result


def _load_timed(port: int, jobs: list[Any], *, processes: int, seconds: float) -> LoadResult:
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    until = time.monotonic() + 0.5 + seconds  # monotonic clocks agree across processes
    pipes, procs = [], []
    for i in range(processes):
        share = jobs[i::processes]
        if not share:
            continue
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_client_process, args=(port, share, go, until, None, sender), daemon=True
        )
        pipes.append(receiver)
        procs.append(proc)
    for proc in procs:
        proc.start()
    delay = until - seconds - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    go.set()
    result = LoadResult()
    starts = []
    for receiver in pipes:
        start, rows, errors, cpu = receiver.recv()
        starts.append(start)
        result.client_cpu += cpu
        result.errors += errors
        for end, latency, status in rows:
            result.latencies.append(latency)
            result.statuses[status] += 1
            result.stamps.append((end, status))
    for proc in procs:
        proc.join()
    result.count = len(result.latencies)
    result.wall = max(end for end, _s in result.stamps) - min(starts) if result.stamps else 0
    return result


def _client_address(client: int) -> str:
    # Only a header: each benchmark client is one reader behind the proxy, as in production.
    return f"192.0.2.{client % 250 + 1}"


def http_get(port: int, path: str, headers: dict[str, str] | None = None, client: int = 0) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"X-Forwarded-For: {_client_address(client)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_post(
    port: int, path: str, body: dict[str, Any], headers: dict[str, str], client: int = 0
) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"X-Forwarded-For: {_client_address(client)}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


# --- the system under test ---------------------------------------------------------------------


class System:
    """PostgreSQL database, private Redis, gunicorn, a worker and (for the outage) beat."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
        parts = urlsplit(server)
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.database_url = urlunsplit(parts._replace(path=f"/{args.database}"))
        self.redis_port = _free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.http_port = _free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PAYMENTS_PROVIDER": "sandbox",
            "PYTHONUNBUFFERED": "1",
        }
        if args.redis_outage:
            self.env.update(
                {
                    "BENCH_SWEEP_SECONDS": str(args.sweep_seconds),
                    "CAMPAIGNS_SWEEP_GRACE_SECONDS": str(args.sweep_grace),
                }
            )

    def _admin(self, statement: str) -> None:
        import psycopg

        url = self.admin_url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)

    def database_create(self) -> None:
        name = self.args.database
        self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 (our own name)
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self._admin(f'CREATE DATABASE "{name}"')
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO_ROOT,
            env=self.env,
            check=True,
        )

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def redis_start(self) -> None:
        # An append-only file, as a production broker keeps one: a restart keeps the queues.
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
        )
        self._wait(lambda: self._redis_ping(), "redis-server did not start")

    def _redis_ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.redis_port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def redis_stop(self) -> None:
        proc = self.procs.pop("redis")
        proc.send_signal(signal.SIGTERM)  # shuts down cleanly, the append-only file flushed
        proc.wait(timeout=30)

    def web_start(self) -> None:
        self._spawn(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi:application",
                "--workers",
                str(self.args.gunicorn_workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.http_port}",
                "--backlog",
                "2048",
                "--timeout",
                "120",
            ],
        )
        self._wait(lambda: _exchange(self.http_port, http_get(0, "/healthz"))[0] == 200, "web")

    def worker_start(self) -> None:
        proc = self._spawn(
            "worker",
            [
                "nice",
                "-n",
                str(self.args.worker_nice),
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                QUEUES,
                "--pool",
                "prefork",
                "--concurrency",
                str(self.args.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"surge-{os.getpid()}@%h",
                "-l",
                "WARNING",
            ],
        )
        self._deprioritise(proc)

    def _deprioritise(self, proc: subprocess.Popen[bytes]) -> None:
        """Its own session is its own scheduling group (Linux autogroups), where `nice` alone
        would not yield to gunicorn: the group's niceness is set too."""
        with contextlib.suppress(OSError):
            Path(f"/proc/{proc.pid}/autogroup").write_text(str(self.args.worker_nice))

    def beat_start(self) -> None:
        self._spawn(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-s",
                str(self.workdir / "beat-schedule"),
                "-l",
                "WARNING",
            ],
        )

    def pids(self, name: str) -> list[int]:
        proc = self.procs.get(name)
        return _group_pids(proc.pid) if proc else []

    @staticmethod
    def _wait(check: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise SystemExit(f"timed out waiting for {what}")

    def stop(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
            del self.procs[name]


# --- seeding and checks (this process, on the bench database) ----------------------------------


def django_setup(system: System) -> None:
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ[key] = system.env[key]
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()


@dataclass
class Seed:
    campaign_id: int
    slug: str
    backers: list[tuple[str, int]]  # (token, saved card id)


def seed(clients: int, funding_model: str = "all_or_nothing") -> Seed:
    import datetime as dt

    from django.utils import timezone

    from bench.models import FloorCounter
    from campaigns import services
    from campaigns.enums import FundingModel, SSECriterion
    from campaigns.models import BudgetLine, Milestone, ProjectCriterion, Theme
    from campaigns.services import payments_port
    from members.models import RoleGrant, User
    from members.services import api_token_create

    def person(email: str, role: str = "") -> Any:
        user = User.objects.create_user(email=email, password=None, display_name=email[:20])
        if role:
            RoleGrant.objects.create(user=user, role=role)
        return user

    lead, moderator = person("lead@bench.example", "lead"), person("mod@bench.example", "moderator")
    project = services.project_create(
        user=lead,
        title="Ateliers numériques solidaires",
        summary="Des ateliers numériques gratuits dans les quartiers.",
        description="## Le projet\n\nDes **ateliers** pour tous.",
        theme=Theme.objects.order_by("position").first(),
    )
    for criterion in SSECriterion.values:
        ProjectCriterion.objects.update_or_create(
            project=project, criterion=criterion, defaults={"statement": "Déclaré."}
        )
    # All-or-nothing: a goal the surge reaches. Keep-it-all: one it never reaches.
    goal = 100_000 if funding_model == FundingModel.ALL_OR_NOTHING else 50_000_000
    campaign = services.campaign_create(
        project=project,
        actor=lead,
        title="La surge des ateliers",
        goal=goal,
        funding_model=funding_model,
        deadline=timezone.now() + dt.timedelta(days=30),
    )
    BudgetLine.objects.create(campaign=campaign, label="Animation", amount=goal)
    Milestone.objects.create(campaign=campaign, title="Étape 1", amount=goal, position=0)
    services.campaign_submit(campaign=campaign, actor=lead)
    services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    campaign = services.campaign_launch(campaign=campaign, actor=lead)

    backers = []
    for i in range(clients):
        user = person(f"backer{i}@bench.example")
        _token, raw = api_token_create(
            user=user, name="surge", scopes=["write:pledges", "read:funds"]
        )
        setup = payments_port.card_setup_start(user=user)
        result = payments_port.sandbox_card_setup_confirm(
            user=user,
            setup_intent_id=setup.setup_intent_id,
            number="4242424242424242",
            exp_month=12,
            exp_year=2034,
        )
        backers.append((raw, result.saved_method.pk))
    FloorCounter.objects.bulk_create(FloorCounter(pk=i) for i in range(1, 65))
    return Seed(campaign.pk, campaign.slug, backers)


def campaign_close_after_deadline(campaign_id: int) -> str:
    import datetime as dt

    from campaigns.models import Campaign
    from campaigns.services import campaign_close

    campaign = Campaign.objects.get(pk=campaign_id)
    closed = campaign_close(campaign=campaign, now=campaign.deadline + dt.timedelta(minutes=1))
    return str(closed.status)


def amount_for(client: int, n: int) -> int:
    return 500 + (client * 7919 + n * 104729) % 9500  # 5.00 to 99.99, varied


def books_check(campaign_id: int, sent: dict[str, int]) -> tuple[list[str], dict[str, int]]:
    """Every accepted pledge once, charged once, in the escrow once; returns (problems, figures)."""
    from django.db.models import Count, Sum

    from campaigns.models import Campaign, Pledge
    from campaigns.selectors import campaign_progress_get
    from ledger.models import Account, Posting
    from payments.models import Payment

    problems: list[str] = []
    campaign = Campaign.objects.get(pk=campaign_id)
    pledges = Pledge.objects.filter(campaign_id=campaign_id)
    rows = list(pledges.values_list("id", "client_key", "amount", "status", "payment_id"))
    keys = Counter(key for _id, key, _a, _s, _p in rows)
    lost = [key for key in sent if key not in keys]
    doubled = [key for key, n in keys.items() if n > 1]
    unknown = [key for key in keys if key not in sent]
    wrong_amount = [key for _i, key, amount, _s, _p in rows if sent.get(key, amount) != amount]
    not_collected = Counter(status for _i, _k, _a, status, _p in rows if status != "collected")
    if lost:
        problems.append(f"{len(lost)} accepted pledges missing, e.g. {lost[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} idempotency keys with several pledges")
    if unknown:
        problems.append(f"{len(unknown)} pledges nobody sent")
    if wrong_amount:
        problems.append(f"{len(wrong_amount)} pledges with another amount")
    if not_collected:
        problems.append(f"pledges not collected: {dict(not_collected)}")

    ids = [row[0] for row in rows]
    payments = Payment.objects.filter(reference_type="pledge", reference_id__in=ids)
    per_pledge = Counter(payments.values_list("reference_id", flat=True))
    several = [pk for pk, n in per_pledge.items() if n > 1]
    if several:
        problems.append(f"{len(several)} pledges with several payments")
    succeeded = payments.filter(status="succeeded")
    paid_total = succeeded.aggregate(total=Sum("amount"))["total"] or 0
    escrow = Account.objects.filter(
        purpose="campaign_escrow", owner_type="campaign", owner_id=campaign_id
    ).first()
    escrow_balance = int(escrow.balance) if escrow else 0
    postings = Posting.objects.filter(account=escrow) if escrow else Posting.objects.none()
    credited = postings.filter(side="credit").aggregate(total=Sum("amount"))["total"] or 0
    debited = postings.filter(side="debit").aggregate(total=Sum("amount"))["total"] or 0
    per_payment = (
        postings.filter(entry__reference_type="payment")
        .values("entry__reference_id")
        .annotate(n=Count("id"))
    )
    twice = [row for row in per_payment if row["n"] != 1]
    if twice:
        problems.append(f"{len(twice)} payments posted to the escrow more than once")
    entries_on_escrow = postings.count()
    pledged_total = sum(sent.values())
    raised = campaign_progress_get(campaign).raised
    figures = {
        "pledges": len(rows),
        "pledged_total": pledged_total,
        "campaign_raised": raised,
        "escrow_balance": escrow_balance,
        "escrow_postings_net": credited - debited,
        "payments_succeeded_total": paid_total,
        "payments": len(per_pledge),
        "escrow_entries": entries_on_escrow,
        "lost": len(lost),
        "counted_twice": len(doubled) + len(several) + len(twice),
    }
    money = {raised, escrow_balance, credited - debited, paid_total, pledged_total}
    if len(money) != 1:
        problems.append(
            "totals differ: Σ pledges sent {pledged_total}, campaign raised {campaign_raised}, "
            "escrow {escrow_balance}, escrow postings {escrow_postings_net}, "
            "collected payments {payments_succeeded_total}".format(**figures)
        )
    if entries_on_escrow != len(sent) or len(per_pledge) != len(sent):
        problems.append(
            f"{entries_on_escrow} escrow entries and {len(per_pledge)} payments "
            f"for {len(sent)} pledges"
        )
    return problems, figures


def backlog(campaign_id: int) -> dict[str, int]:
    from campaigns.models import Pledge
    from payments.models import WebhookEvent

    statuses = Counter(
        Pledge.objects.filter(campaign_id=campaign_id).values_list("status", flat=True)
    )
    events = WebhookEvent.objects.exclude(status="processed").count()
    return {**statuses, "events_unprocessed": events}


# --- the run -----------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _describe(name: str, result: LoadResult) -> str:
    return (
        f"{name}: {result.count} requests in {result.wall:.1f} s = {result.rate:,.0f}/s, "
        f"p50 {result.pct(0.5):.1f} ms, p99 {result.pct(0.99):.1f} ms, "
        f"non-2xx {result.failures}, client CPU {result.client_cpu / max(result.wall, 1e-9):.2f} cores"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--floor-requests", type=int, default=3000)
    parser.add_argument("--read-seconds", type=float, default=6.0)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="the worker's niceness: on one machine, requests come before settlement",
    )
    parser.add_argument(
        "--funding-model",
        choices=["all_or_nothing", "keep_it_all"],
        default="all_or_nothing",
        help="all-or-nothing (the default) charges after the close; keep-it-all during the surge",
    )
    parser.add_argument("--database", default="biencommun_bench")
    parser.add_argument("--redis-outage", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--outage-at", type=float, default=10, metavar="SECONDS")
    parser.add_argument("--sweep-seconds", type=int, default=5)
    parser.add_argument("--sweep-grace", type=int, default=15)
    parser.add_argument("--drain-timeout", type=float, default=1200)
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()

    # Stopped by a signal (even when started in the background), it still stops what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="pledge-surge-"))
    system = System(args, workdir)
    problems: list[str] = []
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    print(f"machine: {os.cpu_count()} cores; logs in {workdir}")
    try:
        system.redis_start()
        t0 = time.monotonic()
        system.database_create()
        django_setup(system)
        data = seed(args.clients, args.funding_model)
        print(f"database {args.database} migrated and seeded in {time.monotonic() - t0:.0f} s")
        system.web_start()
        system.worker_start()
        if args.redis_outage:
            system.beat_start()
        port = system.http_port
        meter_groups = {
            "gunicorn": lambda: system.pids("gunicorn"),
            "worker": lambda: system.pids("worker") + system.pids("beat"),
            "postgres": lambda: _pids_named("postgres"),
            "redis": lambda: system.pids("redis"),
        }

        # Warm every gunicorn worker and connection on each path.
        warm = [
            http_get(port, "/bench/floor/read"),
            http_get(port, f"/campaigns/{data.slug}/"),
            http_get(port, f"/api/v1/campaigns/{data.campaign_id}/progress"),
            http_post(port, "/bench/floor/write", {"slot": 0, "amount": 1}, {}),
        ]
        load(port, [warm * 20 for _ in range(8)], processes=2)

        # 1. The write floor.
        floor_runs: list[LoadResult] = []
        for rep in range(args.repeat):
            per_client = args.floor_requests // args.clients
            jobs = [
                [
                    http_post(
                        port,
                        "/bench/floor/write",
                        {"slot": c, "amount": amount_for(c, n)},
                        {},
                        client=c,
                    )
                    for n in range(per_client)
                ]
                for c in range(args.clients)
            ]
            with Meter(meter_groups) as meter:
                result = load(port, jobs, processes=args.client_processes)
            floor_runs.append(result)
            print(_describe(f"write floor, run {rep + 1}", result))
            print(f"  {meter.summary(result.client_cpu)}")
        write_floor = _median([r.rate for r in floor_runs])

        # 2. The pledge surge.
        sent: dict[str, int] = {}
        jobs = []
        for c in range(args.clients):
            token, card = data.backers[c]
            share = args.pledges // args.clients + (1 if c < args.pledges % args.clients else 0)
            requests = []
            for n in range(share):
                key = f"surge-{c}-{n}"
                amount = amount_for(c, n)
                sent[key] = amount
                body = {"campaign": data.campaign_id, "amount": amount, "payment_method": card}
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
                requests.append(http_post(port, "/api/v1/pledges", body, headers, client=c))
            jobs.append(requests)
        pace = None
        outage: dict[str, float] = {}
        if args.redis_outage:
            # Paced so the surge lasts the outage and some time on each side.
            duration = args.outage_at + args.redis_outage + 20
            pace = duration / (args.pledges / args.clients)

            def cut() -> None:
                time.sleep(args.outage_at)
                outage["down"] = time.monotonic()
                system.redis_stop()
                print(f"  Redis stopped at +{args.outage_at:.0f} s")
                time.sleep(args.redis_outage)
                system.redis_start()
                outage["up"] = time.monotonic()
                print(f"  Redis back after {outage['up'] - outage['down']:.1f} s")

            cutter = threading.Thread(target=cut)
            cutter.start()
        with Meter(meter_groups) as meter:
            surge = load(port, jobs, processes=args.client_processes, pace=pace)
        if args.redis_outage:
            cutter.join()
        print(_describe("pledges", surge))
        print(f"  {meter.summary(surge.client_cpu)}")
        for error in surge.errors[:5]:
            print(f"  error: {error}")
        server_errors = sum(n for s, n in surge.statuses.items() if s >= 500 or s == 0)
        if surge.failures:
            problems.append(f"{surge.failures} pledge requests failed: {dict(surge.statuses)}")
        during: Counter[int] = Counter()
        if outage:
            during = Counter(
                s for end, s in surge.stamps if outage["down"] <= end <= outage.get("up", end)
            )
            deferred = (workdir / "gunicorn.log").read_text().count("deferred to its sweeper")
            print(
                f"  during the outage: {sum(during.values())} pledge requests answered "
                f"{dict(during)}; {deferred} task publishes deferred to the sweepers"
            )

        # All-or-nothing: the campaign closes at its deadline (the clock moved past it, as the beat
        # task does once it has passed); it succeeded, so the worker charges every saved card.
        if args.funding_model == "all_or_nothing":
            closed = campaign_close_after_deadline(data.campaign_id)
            print(f"campaign closed at its deadline: {closed}")
        # Drain: the worker charges every pledge and books it.
        t0 = time.monotonic()
        drained = False
        settled_before = backlog(data.campaign_id).get("collected", 0)
        with Meter(meter_groups) as drain_meter:
            while time.monotonic() - t0 < args.drain_timeout:
                state = backlog(data.campaign_id)
                if (
                    state.get("collected", 0) >= len(sent) - surge.failures
                    and state["events_unprocessed"] == 0
                ):
                    drained = True
                    break
                time.sleep(1)
        drain = time.monotonic() - t0
        state = backlog(data.campaign_id)
        print(
            f"worker drained in {drain:.0f} s after the surge "
            f"({settled_before} pledges were already collected when the surge ended): {state}"
        )
        print(f"  {drain_meter.summary(0.0)}")
        if not drained:
            problems.append(f"the worker did not drain in {args.drain_timeout:.0f} s: {state}")
        # Every request of the surge had to be accepted (checked above): each one is in the books.
        book_problems, figures = books_check(data.campaign_id, sent)
        problems += book_problems
        print("books: " + ", ".join(f"{k} {v:,}" for k, v in figures.items()))

        # 3. The reads, interleaved.
        reads: dict[str, list[LoadResult]] = {"floor": [], "page": [], "progress": []}
        if not args.skip_reads:
            paths = {
                "floor": "/bench/floor/read",
                "page": f"/campaigns/{data.slug}/",
                "progress": f"/api/v1/campaigns/{data.campaign_id}/progress",
            }
            for rep in range(args.repeat):
                for name, path in paths.items():
                    with Meter(meter_groups) as meter:
                        result = load(
                            port,
                            [http_get(port, path, client=c) for c in range(args.clients)],
                            processes=args.client_processes,
                            seconds=args.read_seconds,
                        )
                    reads[name].append(result)
                    print(_describe(f"read {name}, run {rep + 1}", result))
                    print(f"  {meter.summary(result.client_cpu)}")
                    if result.failures:
                        problems.append(f"{name}: {result.failures} failed reads")

        # Report.
        print(f"\n=== Pledge surge: summary ({args.funding_model}) ===")
        print(
            f"write floor (median of {len(floor_runs)}): {write_floor:,.0f} req/s; "
            f"pledges: {surge.rate:,.0f}/s (p50 {surge.pct(0.5):.0f} ms, p99 {surge.pct(0.99):.0f} ms)"
        )
        if not args.redis_outage:
            ratio = surge.rate / write_floor if write_floor else 0
            print(
                f"pledges ÷ write floor = {ratio:.2f} (target ≥ 0.50: "
                f"{'met' if ratio >= 0.5 else 'NOT met'})"
            )
        else:
            print(
                f"outage run: paced at {args.clients / pace:,.0f} pledges/s offered; "
                f"server errors {server_errors}, error rate "
                f"{surge.failures / max(surge.count, 1):.2%}"
            )
        if reads["floor"]:
            floor = _median([r.rate for r in reads["floor"]])
            for name in ("page", "progress"):
                rate = _median([r.rate for r in reads[name]])
                ratio = rate / floor if floor else 0
                p50 = _median([r.pct(0.5) for r in reads[name]])
                print(
                    f"{name}: {rate:,.0f} req/s (p50 {p50:.1f} ms) ÷ read floor {floor:,.0f} = "
                    f"{ratio:.2f} (target ≥ 0.80: {'met' if ratio >= 0.8 else 'NOT met'})"
                )
        print(f"lost {figures['lost']}, counted twice {figures['counted_twice']}")
        if problems:
            print("\nFAILED checks:")
            for problem in problems:
                print(f"  - {problem}")
            return 1
        print("all correctness checks passed")
        return 0
    finally:
        system.stop()
        if not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
