"""PostgreSQL itself refuses what would break the books, even from raw SQL. Committed transactions."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import Account, JournalEntry, Posting
from ledger.services import (
    campaign_escrow_account,
    credit,
    debit,
    ledger_entry_post,
    platform_account,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    from tests.fixtures import require_service

    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )


@pytest.fixture
def books():
    cash = platform_account(AccountPurpose.STRIPE_CASH, "EUR")
    escrow = campaign_escrow_account(1, "EUR")
    with transaction.atomic():
        entry = ledger_entry_post(
            kind=EntryKind.PLEDGE_CHARGE,
            legs=[debit(cash, 1000), credit(escrow, 1000)],
            idempotency_key="seed",
        )
    return cash, escrow, entry


def _raw_entry(cursor, key):
    cursor.execute(
        "INSERT INTO ledger_journalentry (kind, memo, idempotency_key, reference_type, created_at, hash)"
        " VALUES ('transfer', '', %s, '', now(), md5(%s) || md5(%s)) RETURNING id",
        [key, key, key + "x"],
    )
    return cursor.fetchone()[0]


def test_unbalanced_entry_is_refused_at_commit(books):
    cash, escrow, _ = books
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        entry_id = _raw_entry(cursor, "raw-unbalanced")
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency) VALUES (%s, %s, 'debit', 500, 'EUR'), (%s, %s, 'credit', 400, 'EUR')",
            [entry_id, cash.pk, entry_id, escrow.pk],
        )
    assert not JournalEntry.objects.filter(idempotency_key="raw-unbalanced").exists()
    assert Posting.objects.count() == 2


def test_entry_with_a_single_posting_is_refused(books):
    cash, _escrow, _ = books
    with (
        pytest.raises(IntegrityError, match="needs a debit and a credit"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        entry_id = _raw_entry(cursor, "raw-single")
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency) VALUES (%s, %s, 'debit', 500, 'EUR')",
            [entry_id, cash.pk],
        )
    assert not JournalEntry.objects.filter(idempotency_key="raw-single").exists()


def test_entry_without_postings_is_refused(books):
    with (
        pytest.raises(IntegrityError, match="needs a debit and a credit"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_entry(cursor, "raw-empty")
    assert not JournalEntry.objects.filter(idempotency_key="raw-empty").exists()


def test_currency_mismatch_is_refused(books):
    cash, escrow, _ = books
    with (
        pytest.raises(IntegrityError, match="currency"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        entry_id = _raw_entry(cursor, "raw-currency")
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency) VALUES (%s, %s, 'debit', 500, 'USD'), (%s, %s, 'credit', 500, 'USD')",
            [entry_id, cash.pk, entry_id, escrow.pk],
        )


@pytest.mark.parametrize("amount", [0, -500])
def test_non_positive_amount_is_refused(books, amount):
    cash, escrow, _ = books
    with (
        pytest.raises(IntegrityError, match="ledger_posting_amount_positive"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        entry_id = _raw_entry(cursor, f"raw-amount{amount}")
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency) VALUES (%s, %s, 'debit', %s, 'EUR'), (%s, %s, 'credit', %s, 'EUR')",
            [entry_id, cash.pk, amount, entry_id, escrow.pk, amount],
        )
    assert Posting.objects.count() == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_posting SET amount = amount + 1",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_journalentry SET memo = 'edited'",
        "DELETE FROM ledger_journalentry",
    ],
)
def test_the_books_are_append_only(books, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert sorted(Posting.objects.values_list("amount", flat=True)) == [1000, 1000]
    assert JournalEntry.objects.get().memo == ""


def test_overdraft_is_refused_by_the_database(books):
    _cash, escrow, _ = books
    with pytest.raises(IntegrityError, match="ledger_account_no_overdraft"), transaction.atomic():
        Account.objects.filter(pk=escrow.pk).update(balance=-1)
    assert Account.objects.get(pk=escrow.pk).balance == 1000
