import pytest
from django.db import IntegrityError, transaction

from ledger.enums import AccountPurpose, EntryKind, Side
from ledger.exceptions import (
    IdempotencyConflictError,
    InsufficientFundsError,
    LedgerError,
    UnbalancedEntryError,
)
from ledger.models import Account, ImmutableRowError, JournalEntry, Posting
from ledger.selectors import trial_balance
from ledger.services import (
    campaign_escrow_account,
    credit,
    debit,
    ledger_balances_verify,
    ledger_entry_post,
    ledger_entry_reverse,
    platform_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cash():
    return platform_account(AccountPurpose.STRIPE_CASH, "EUR")


@pytest.fixture
def escrow():
    return campaign_escrow_account(7, "EUR")


def balance(account):
    return Account.objects.get(pk=account.pk).balance


def test_a_balanced_entry_moves_both_balances(cash, escrow):
    entry = ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 2500), credit(escrow, 2500)],
        idempotency_key="k1",
    )
    assert balance(cash) == 2500
    assert balance(escrow) == 2500
    assert sorted(entry.postings.values_list("side", "amount")) == [
        (Side.CREDIT, 2500),
        (Side.DEBIT, 2500),
    ]
    assert len(entry.hash) == 64
    assert trial_balance() == {"EUR": 0}


def test_the_same_key_posts_once(cash, escrow):
    first = ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 100), credit(escrow, 100)],
        idempotency_key="same",
    )
    again = ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 100), credit(escrow, 100)],
        idempotency_key="same",
    )
    assert again.pk == first.pk
    assert balance(cash) == 100
    with pytest.raises(IdempotencyConflictError):
        ledger_entry_post(
            kind=EntryKind.PLEDGE_CHARGE,
            legs=[debit(cash, 999), credit(escrow, 999)],
            idempotency_key="same",
        )
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("legs", "error"),
    [
        (lambda c, e: [debit(c, 100), credit(e, 99)], UnbalancedEntryError),
        (lambda c, e: [debit(c, 100)], UnbalancedEntryError),
        (lambda c, e: [debit(c, 0), credit(e, 0)], LedgerError),
        (lambda c, e: [debit(c, -5), credit(e, -5)], LedgerError),
        (lambda c, e: [debit(c, 1.5), credit(e, 1.5)], LedgerError),
        (lambda c, e: [debit(c, True), credit(e, True)], LedgerError),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(cash, escrow, legs, error):
    with pytest.raises(error):
        ledger_entry_post(kind=EntryKind.TRANSFER, legs=legs(cash, escrow), idempotency_key="bad")
    assert JournalEntry.objects.count() == 0
    assert Posting.objects.count() == 0
    assert balance(cash) == balance(escrow) == 0


def test_currencies_balance_separately(cash, escrow):
    usd_cash = platform_account(AccountPurpose.STRIPE_CASH, "USD")
    with pytest.raises(UnbalancedEntryError):
        ledger_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(usd_cash, 100), credit(escrow, 100)],
            idempotency_key="fx",
        )
    assert JournalEntry.objects.count() == 0


def test_no_overdraft(cash, escrow):
    with pytest.raises(InsufficientFundsError):
        ledger_entry_post(
            kind=EntryKind.DISBURSEMENT,
            legs=[debit(escrow, 1), credit(cash, 1)],
            idempotency_key="over",
        )
    assert JournalEntry.objects.count() == 0
    assert balance(cash) == balance(escrow) == 0


def test_a_reversal_mirrors_the_entry(cash, escrow):
    entry = ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 700), credit(escrow, 700)],
        idempotency_key="charge",
    )
    reversal = ledger_entry_reverse(entry=entry, idempotency_key="charge:reversal")
    assert reversal.reverses_id == entry.pk
    assert balance(cash) == balance(escrow) == 0
    assert JournalEntry.objects.count() == 2


def test_entries_and_postings_cannot_be_changed_from_python(cash, escrow):
    entry = ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 700), credit(escrow, 700)],
        idempotency_key="x",
    )
    entry.memo = "changed"
    with pytest.raises(ImmutableRowError):
        entry.save()
    posting = entry.postings.first()
    with pytest.raises(ImmutableRowError):
        posting.delete()


def test_verification_reports_drift(cash, escrow):
    ledger_entry_post(
        kind=EntryKind.PLEDGE_CHARGE,
        legs=[debit(cash, 700), credit(escrow, 700)],
        idempotency_key="x",
    )
    assert ledger_balances_verify().is_clean
    Account.objects.filter(pk=cash.pk).update(balance=650)
    check = ledger_balances_verify()
    assert not check.is_clean
    assert check.drift == [
        {"account_id": cash.pk, "cached": 650, "recomputed": 700, "difference": -50}
    ]


def test_accounts_are_opened_once(escrow):
    assert campaign_escrow_account(7, "EUR").pk == escrow.pk
    assert escrow.code == "campaign:7:campaign_escrow:EUR"
    assert Account.objects.count() == 1


@pytest.mark.parametrize("owned", [True, False])
def test_the_database_keeps_one_account_per_owner_purpose_and_currency(cash, escrow, owned):
    original = escrow if owned else cash
    twin = Account(
        code=original.code + ":twin",
        name="twin",
        type=original.type,
        purpose=original.purpose,
        owner_type=original.owner_type,
        owner_id=original.owner_id,
        currency=original.currency,
    )
    with pytest.raises(IntegrityError, match=r"(?i)unique"), transaction.atomic():
        twin.save()
    twin.currency = "USD"  # another currency is another account
    twin.save()
    assert Account.objects.filter(purpose=original.purpose).count() == 2
