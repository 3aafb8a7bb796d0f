"""Benchmark: the ledger on PostgreSQL.

    DATABASE_URL=postgres://user@127.0.0.1:5432/anydb .venv/bin/python bench/ledger.py

1. Entries posted per second by `ledger_entry_post`, each in its own durable transaction, with
   1 and with 8 concurrent writers (processes, each with its own connection):
   - spread: transfers between random pairs of 2,000 members' savings accounts;
   - hot: every entry debits the platform's Stripe cash account (as every card payment does)
     and credits one of 200 campaign escrows.
2. The balance read (`account_balance_get`, median of many reads) for an account with 10,000
   postings and one with 1,000,000 postings, and their ratio (the read is O(1): a cached balance).
   For contrast, the time to recompute the big account's balance from its postings.

It creates a database of its own next to DATABASE_URL's (bench_ledger_<pid>), migrates it, and
drops it at the end: it never touches the database DATABASE_URL names. The machine is shared and
noisy: each figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

MEMBERS = 2_000
CAMPAIGNS = 200
FUNDING = 10**12  # each member's savings: far more than the benchmark moves


def _bench_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(statement)


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    import django

    django.setup()


# Posting


def _prepare_accounts() -> dict[str, list[int]]:
    from django.db import transaction

    from ledger.enums import AccountPurpose, EntryKind
    from ledger.services import (
        campaign_escrow_account,
        credit,
        debit,
        ledger_entry_post,
        member_account,
        platform_account,
    )

    with transaction.atomic():  # one commit for all the accounts
        suspense = platform_account(AccountPurpose.SUSPENSE, "EUR")  # may go negative: it funds
        cash = platform_account(AccountPurpose.STRIPE_CASH, "EUR")
        members = [
            member_account(AccountPurpose.MEMBER_SAVINGS, m, "EUR") for m in range(1, MEMBERS + 1)
        ]
        escrows = [campaign_escrow_account(c, "EUR") for c in range(1, CAMPAIGNS + 1)]
    for first in range(0, len(members), 500):  # a few entries with many legs
        batch = members[first : first + 500]
        with transaction.atomic(durable=True):
            ledger_entry_post(
                kind=EntryKind.TRANSFER,
                legs=[debit(suspense, FUNDING * len(batch)), *(credit(a, FUNDING) for a in batch)],
                idempotency_key=f"bench:fund:{first}",
            )
    return {
        "members": [a.pk for a in members],
        "cash": [cash.pk],
        "escrows": [a.pk for a in escrows],
    }


def _writer(args: tuple[str, str, int, int, dict[str, list[int]], float, Any, Any]) -> None:
    scenario, label, worker, seed, ids, seconds, barrier, counts = args
    from django.db import connections, transaction

    from ledger.enums import EntryKind
    from ledger.models import Account
    from ledger.services import credit, debit, ledger_entry_post

    connections.close_all()  # never share the parent's connection after the fork
    accounts = {
        a.pk: a
        for a in Account.objects.filter(pk__in=[*ids["members"], *ids["cash"], *ids["escrows"]])
    }
    rng = random.Random(seed)
    barrier.wait()
    deadline = time.perf_counter() + seconds
    posted = 0
    while time.perf_counter() < deadline:
        amount = rng.randint(100, 20_000)
        if scenario == "spread":
            payer, payee = rng.sample(ids["members"], 2)
            kind, legs = (
                EntryKind.TRANSFER,
                [debit(accounts[payer], amount), credit(accounts[payee], amount)],
            )
        else:
            escrow = rng.choice(ids["escrows"])
            kind, legs = (
                EntryKind.PLEDGE_CHARGE,
                [debit(accounts[ids["cash"][0]], amount), credit(accounts[escrow], amount)],
            )
        with transaction.atomic(durable=True):
            ledger_entry_post(
                kind=kind, legs=legs, idempotency_key=f"bench:{label}:{worker}:{posted}"
            )
        posted += 1
    counts[worker] = posted
    connections.close_all()


def _post_run(
    scenario: str, writers: int, run: int, ids: dict[str, list[int]], seconds: float
) -> float:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(writers + 1)
    counts = context.Array("i", writers)
    label = f"{scenario}:{writers}:{run}"
    processes = [
        context.Process(
            target=_writer,
            args=((scenario, label, w, run * 100 + w, ids, seconds, barrier, counts),),
        )
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    if any(p.exitcode for p in processes):
        raise SystemExit(f"a writer failed in {label}")
    return sum(counts) / elapsed


# Balance reads


def _bulk_postings(account_id: int, counter_id: int, currency: str, count: int, tag: str) -> float:
    """`count` entries of 100 minor units from the counter account to `account`, in one
    transaction: one INSERT … SELECT from generate_series, not a round trip per row.

    Firing the deferred balance trigger once per row would take most of the benchmark's time
    for a million entries, so the load runs with the ledger's own triggers disabled (this is a
    throwaway database) and then checks the very rules the trigger enforces, set-wise, before
    committing: every entry has two or more postings, balances per currency, and posts in its
    accounts' currencies. The cached balances move in the same transaction.
    """
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM ledger_journalentry")
        before = cursor.fetchone()[0]
        for table in ("ledger_journalentry", "ledger_posting"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(
            """
            WITH new_entries AS (
                INSERT INTO ledger_journalentry
                    (kind, memo, idempotency_key, reference_type, created_at, hash)
                SELECT 'transfer', '', %(tag)s || i, '', now(),
                       encode(sha256(convert_to(%(tag)s || i, 'UTF8')), 'hex')
                FROM generate_series(1, %(count)s) AS i
                RETURNING id
            )
            INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency)
            SELECT id, %(account)s, 'debit', 100, %(currency)s FROM new_entries
            UNION ALL
            SELECT id, %(counter)s, 'credit', 100, %(currency)s FROM new_entries
            """,
            {
                "tag": f"bench:{tag}:",
                "count": count,
                "account": account_id,
                "counter": counter_id,
                "currency": currency,
            },
        )
        # Both are asset accounts: the debit grows one, the credit shrinks the other.
        cursor.execute(
            "UPDATE ledger_account SET balance = balance + CASE id WHEN %s THEN %s ELSE %s END"
            " WHERE id IN (%s, %s)",
            [account_id, count * 100, -count * 100, account_id, counter_id],
        )
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM (
                 SELECT e.id FROM ledger_journalentry e
                 LEFT JOIN ledger_posting p ON p.entry_id = e.id
                 WHERE e.id > %(before)s GROUP BY e.id HAVING count(p.id) < 2) AS lonely),
              (SELECT count(*) FROM (
                 SELECT entry_id FROM ledger_posting WHERE entry_id > %(before)s
                 GROUP BY entry_id, currency
                 HAVING sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0) AS u),
              (SELECT count(*) FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
                 WHERE p.entry_id > %(before)s AND p.currency <> a.currency)
            """,
            {"before": before},
        )
        broken = cursor.fetchone()
        if any(broken):
            raise SystemExit(f"the bulk load broke the ledger's rules: {broken}")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys, checked now
        for table in ("ledger_journalentry", "ledger_posting"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ledger_posting")
        cursor.execute("VACUUM ANALYZE ledger_journalentry")
    return time.perf_counter() - started


def _balance_reads(small: Any, big: Any, reads: int) -> tuple[list[float], list[float]]:
    from ledger.selectors import account_balance_get

    small_times, big_times = [], []
    for _ in range(50):  # warm the connection and the caches
        account_balance_get(account=small)
        account_balance_get(account=big)
    for _ in range(reads):  # interleaved: both see the same noise
        started = time.perf_counter()
        account_balance_get(account=small)
        small_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        account_balance_get(account=big)
        big_times.append(time.perf_counter() - started)
    return small_times, big_times


def _recompute(account: Any) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(CASE WHEN side = 'debit' THEN amount ELSE -amount END), 0)"
            " FROM ledger_posting WHERE account_id = %s",
            [account.pk],
        )
        cursor.fetchone()
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95)]


def main() -> int:
    parser = argparse.ArgumentParser(description="ledger posting and balance-read benchmark")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each posting run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure (the median is kept)"
    )
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the benchmark database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL must point at a PostgreSQL server", file=sys.stderr)
        return 2
    name = f"bench_ledger_{os.getpid()}"
    bench_url = _bench_url(url, name)
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        _setup_django(bench_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, skip_checks=True)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            synchronous = cursor.fetchone()[0]
        print(
            f"PostgreSQL {version} (synchronous_commit={synchronous}), {os.cpu_count()} CPUs, "
            f"database {name} (dropped at the end)"
        )

        started = time.perf_counter()
        ids = _prepare_accounts()
        print(
            f"opened and funded {MEMBERS} members' accounts in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"\nentries posted per second (ledger_entry_post, durable transactions; "
            f"median of {args.repeat} runs of {args.seconds:.0f} s)"
        )
        rates: dict[tuple[str, int], float] = {}
        for scenario in ("spread", "hot"):
            for writers in args.writers:
                runs = [
                    _post_run(scenario, writers, run, ids, args.seconds)
                    for run in range(args.repeat)
                ]
                rates[scenario, writers] = statistics.median(runs)
                print(
                    f"  {scenario:6s} {writers} writer{'s' if writers > 1 else ' '}: "
                    f"{rates[scenario, writers]:7.0f} entries/s   "
                    f"[{', '.join(f'{r:.0f}' for r in runs)}]"
                )
        if len(args.writers) > 1:
            low, high = min(args.writers), max(args.writers)
            for scenario in ("spread", "hot"):
                print(
                    f"  {scenario}: {high} writers / {low} = {rates[scenario, high] / rates[scenario, low]:.2f}x"
                )

        from django.db import connections

        connections.close_all()
        from ledger.enums import AccountPurpose
        from ledger.services import fund_account, platform_account

        small = fund_account(AccountPurpose.LOANS_RECEIVABLE, "USD")
        big = fund_account(AccountPurpose.LOANS_RECEIVABLE, "EUR")
        counter_small = platform_account(AccountPurpose.BANK_CASH, "USD")
        counter_big = platform_account(AccountPurpose.BANK_CASH, "EUR")
        # Loans go out of the bank: the counter accounts need the money first.
        for counter, amount in ((counter_small, args.small), (counter_big, args.big)):
            _fund_counter(counter, amount * 100)
        load_small = _bulk_postings(small.pk, counter_small.pk, "USD", args.small, "small")
        load_big = _bulk_postings(big.pk, counter_big.pk, "EUR", args.big, "big")
        counts = _posting_counts(small.pk, big.pk)
        print(
            f"\nloaded {counts[0]:,} postings on one account in {load_small:.1f} s and "
            f"{counts[1]:,} on another in {load_big:.1f} s (bulk load, the trigger's rules checked set-wise)"
        )
        small_times, big_times = _balance_reads(small, big, args.reads)
        small_median, big_median = statistics.median(small_times), statistics.median(big_times)
        print(f"balance read, account_balance_get, median of {args.reads:,} reads each:")
        print(
            f"  {counts[0]:>9,} postings: {small_median * 1e6:6.0f} µs (p95 {_p95(small_times) * 1e6:.0f} µs)"
        )
        print(
            f"  {counts[1]:>9,} postings: {big_median * 1e6:6.0f} µs (p95 {_p95(big_times) * 1e6:.0f} µs)"
        )
        print(f"  ratio 1M/10k: {big_median / small_median:.2f}")
        recompute = statistics.median(_recompute(big) for _ in range(3))
        print(
            f"for contrast, recomputing the 1M-posting balance from its postings: {recompute * 1e3:.0f} ms"
        )
        from ledger.selectors import balances_recomputed

        drift = {k: v for k, v in balances_recomputed().items() if v[0] != v[1]}
        print(f"balances verified against postings after the benchmark: {drift or 'no drift'}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


def _fund_counter(account: Any, amount: int) -> None:
    from django.db import transaction

    from ledger.enums import AccountPurpose, EntryKind
    from ledger.services import credit, debit, fund_account, ledger_entry_post

    capital = fund_account(AccountPurpose.LIQUIDITY_RESERVE, account.currency)
    with transaction.atomic(durable=True):
        ledger_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(account, amount), credit(capital, amount)],
            idempotency_key=f"bench:capital:{account.pk}",
        )


def _posting_counts(*account_ids: int) -> list[int]:
    from ledger.models import Posting

    return [Posting.objects.filter(account_id=pk).count() for pk in account_ids]


if __name__ == "__main__":
    sys.exit(main())
