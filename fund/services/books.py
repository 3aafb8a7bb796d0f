"""The fund's side of the books: its accounts, its locks, and the one way it posts.

Every fund entry goes through `fund_entry_post`, which refuses to debit the impartible reserve
except to absorb a loss (PostgreSQL refuses it too, with a trigger on the postings).
"""

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction

from ledger.enums import AccountPurpose, EntryKind, Side
from ledger.models import Account, JournalEntry
from ledger.services import (
    Leg,
    campaign_escrow_account,
    fund_account,
    ledger_entry_post,
    member_account,
    platform_account,
)

from ..models import FundLock
from ..money_exceptions import ImpartibleReserveError

# The only entries that may take money out of the impartible reserve: absorbing a loss.
LOSS_ABSORBING_KINDS = frozenset({EntryKind.LOAN_WRITE_OFF, EntryKind.RESERVE_ALLOCATION})


def savings_account(user_id: int, currency: str) -> Account:
    return member_account(AccountPurpose.MEMBER_SAVINGS, user_id, currency)


def pool(purpose: str, currency: str) -> Account:
    return fund_account(purpose, currency)


def payouts_payable(currency: str) -> Account:
    """Money promised to a payee and not yet sent: the fund's payouts wait here."""
    return platform_account(AccountPurpose.PAYOUTS_PAYABLE, currency)


def bank_cash(currency: str) -> Account:
    return platform_account(AccountPurpose.BANK_CASH, currency)


def escrow(campaign_id: int, currency: str) -> Account:
    return campaign_escrow_account(campaign_id, currency)


def fund_entry_post(
    *,
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str,
    reference: tuple[str, int] | None = None,
    actor: Any = None,
    absorbs_loss: bool = False,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post a fund entry (inside the caller's transaction). Legs of zero are left out."""
    legs = [leg for leg in legs if leg.amount]
    for leg in legs:
        if (
            leg.account.purpose == AccountPurpose.IMPARTIBLE_RESERVE
            and leg.side == Side.DEBIT
            and not (absorbs_loss and kind in LOSS_ABSORBING_KINDS)
        ):
            raise ImpartibleReserveError()
    return ledger_entry_post(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        memo=memo,
        actor=actor,
        reference=reference,
        reverses=reverses,
    )


def _lock_row(key: str) -> None:
    if not FundLock.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                FundLock.objects.create(key=key)
        except IntegrityError:  # created concurrently
            pass


def fund_locks_take(*keys: str) -> None:
    """Lock the fund's rows for these keys, in key order, until the transaction ends."""
    wanted = sorted(set(keys))
    for key in wanted:
        _lock_row(key)
    if connection.features.has_select_for_update:
        list(FundLock.objects.select_for_update().filter(key__in=wanted).order_by("key"))


def liquidity_key(currency: str) -> str:
    return f"liquidity:{currency}"


def matching_key(currency: str) -> str:
    return f"matching:{currency}"
