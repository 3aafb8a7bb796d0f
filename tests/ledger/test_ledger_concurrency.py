"""32 threads, each with its own connection, post 200 random transfers among 10 accounts."""

import random
import threading

import pytest
from django.db import connection, connections, transaction

from ledger.enums import AccountPurpose, EntryKind
from ledger.exceptions import InsufficientFundsError
from ledger.models import Account, JournalEntry
from ledger.selectors import balances_recomputed, trial_balance
from ledger.services import credit, debit, ledger_entry_post, member_account, platform_account

THREADS = 32
TRANSFERS = 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_transfers_keep_the_books_exact():
    from tests.fixtures import require_service

    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )
    source = platform_account(
        AccountPurpose.SUSPENSE, "EUR"
    )  # may go negative: it funds the others
    accounts = [member_account(AccountPurpose.MEMBER_SAVINGS, 1000 + i, "EUR") for i in range(10)]
    for account in accounts:
        with transaction.atomic(durable=True):
            ledger_entry_post(
                kind=EntryKind.TRANSFER,
                legs=[debit(source, 5_000), credit(account, 5_000)],
                idempotency_key=f"seed:{account.pk}",
            )

    outcomes = {"posted": 0, "refused": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        posted = refused = 0
        try:
            barrier.wait()
            for n in range(TRANSFERS):
                payer, payee = rng.sample(accounts, 2)
                amount = rng.randint(1, 3_000)
                try:
                    with transaction.atomic(durable=True):
                        # Equity accounts shrink with a debit: the payer pays, the payee receives.
                        ledger_entry_post(
                            kind=EntryKind.TRANSFER,
                            legs=[debit(payer, amount), credit(payee, amount)],
                            idempotency_key=f"t:{seed}:{n}",
                        )
                    posted += 1
                except InsufficientFundsError:
                    refused += 1
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            with lock:
                outcomes["posted"] += posted
                outcomes["refused"] += refused
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert outcomes["posted"] + outcomes["refused"] == THREADS * TRANSFERS
    assert outcomes["posted"] > THREADS * TRANSFERS // 2
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == outcomes["posted"] + len(
        accounts
    )
    # Every cached balance equals the sum of its postings.
    figures = balances_recomputed()
    assert all(cached == recomputed for cached, recomputed in figures.values()), figures
    # The total is zero, and the ten accounts still hold exactly what was put in.
    assert trial_balance() == {"EUR": 0}
    assert (
        sum(
            Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list(
                "balance", flat=True
            )
        )
        == 50_000
    )
    # No account that cannot be overdrawn went negative.
    assert not Account.objects.filter(allow_negative=False, balance__lt=0).exists()
    print(
        f"concurrent transfers: {outcomes['posted']} posted, {outcomes['refused']} refused for lack of funds"
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_key_posted_at_once_from_many_connections_posts_once():
    from tests.fixtures import require_service

    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )
    source = platform_account(AccountPurpose.SUSPENSE, "EUR")
    payee = member_account(AccountPurpose.MEMBER_SAVINGS, 2000, "EUR")
    other = member_account(AccountPurpose.MEMBER_SAVINGS, 2001, "EUR")
    barrier = threading.Barrier(8)
    results: list[object] = []
    lock = threading.Lock()

    def poster(n: int) -> None:
        # Half post the same legs, half the same key with other legs (a caller's bug).
        target = payee if n % 2 == 0 else other
        try:
            barrier.wait()
            with transaction.atomic(durable=True):
                entry = ledger_entry_post(
                    kind=EntryKind.TRANSFER,
                    legs=[debit(source, 700), credit(target, 700)],
                    idempotency_key="once",
                )
            outcome: object = ("posted", entry.pk, target.pk)
        except Exception as exc:
            outcome = ("refused", type(exc).__name__, target.pk)
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entry = JournalEntry.objects.get(idempotency_key="once")
    winner = entry.postings.get(side="credit").account_id
    loser = other.pk if winner == payee.pk else payee.pk
    assert sorted(results) == sorted(
        [("posted", entry.pk, winner)] * 4 + [("refused", "IdempotencyConflictError", loser)] * 4
    )
    assert Account.objects.get(pk=winner).balance == 700
    assert Account.objects.get(pk=loser).balance == 0
    assert Account.objects.get(pk=source.pk).balance == 700  # an asset: the debit grows it
