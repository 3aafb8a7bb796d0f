"""Books built through the services, for the ledger's API, export, verifier and page tests."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import Account, Block, JournalEntry
from ledger.services import (
    campaign_escrow_account,
    credit,
    debit,
    fund_account,
    ledger_blocks_seal,
    ledger_entry_post,
    ledger_entry_reverse,
    member_account,
    platform_account,
)
from members.enums import PublicIdentity
from tests.factories import UserFactory


@dataclass
class Books:
    people: dict[str, Any]
    accounts: dict[str, Account]
    entries: dict[str, JournalEntry]
    blocks: list[Block] = field(default_factory=list)

    @property
    def sealed(self) -> list[JournalEntry]:
        return [e for e in self.entries.values() if e.pk in self.sealed_ids]

    @property
    def unsealed(self) -> list[JournalEntry]:
        return [e for e in self.entries.values() if e.pk not in self.sealed_ids]

    @property
    def sealed_ids(self) -> set[int]:
        return {
            entry_id
            for block in self.blocks
            for entry_id in block.seals.values_list("entry_id", flat=True)
        }


def build_books() -> Books:
    """Pledges, a donation, savings, a refund (reversal), a partial refund, fees, a grant, in
    EUR and USD; sealed into two blocks, with two newer entries not sealed yet."""
    camille = UserFactory(display_name="Camille Martin", public_identity=PublicIdentity.NAME)
    hugo = UserFactory(display_name="Hugo Petit", public_identity=PublicIdentity.PSEUDONYM)
    nora = UserFactory(display_name="Nora Diallo", public_identity=PublicIdentity.ANONYMOUS)
    cash = platform_account(AccountPurpose.STRIPE_CASH, "EUR")
    usd_cash = platform_account(AccountPurpose.STRIPE_CASH, "USD")
    fees = platform_account(AccountPurpose.PROCESSOR_FEES, "EUR")
    escrow = campaign_escrow_account(7, "EUR")
    usd_escrow = campaign_escrow_account(8, "USD")
    grants = fund_account(AccountPurpose.GRANTS_POOL, "EUR")
    savings = member_account(AccountPurpose.MEMBER_SAVINGS, camille.pk, "EUR")
    hugo_savings = member_account(AccountPurpose.MEMBER_SAVINGS, hugo.pk, "EUR")
    shares = member_account(AccountPurpose.MEMBER_SHARES, nora.pk, "EUR")

    def post(key: str, kind: str, legs: list[Any], **kwargs: Any) -> JournalEntry:
        return ledger_entry_post(kind=kind, legs=legs, idempotency_key=key, **kwargs)

    e: dict[str, JournalEntry] = {}
    e["pledge1"] = post(
        "pledge:1",
        EntryKind.PLEDGE_CHARGE,
        [debit(cash, 2_500), credit(escrow, 2_500)],
        memo="Pledge collected",
        reference=("pledge", 1),
    )
    e["pledge2"] = post(
        "pledge:2",
        EntryKind.PLEDGE_CHARGE,
        [debit(cash, 4_000), credit(escrow, 4_000)],
        reference=("pledge", 2),
    )
    e["fee"] = post("fee:1", EntryKind.PROCESSOR_FEE, [debit(fees, 120), credit(cash, 120)])
    e["savings"] = post(
        "savings:1", EntryKind.SAVINGS_SUBSCRIPTION, [debit(cash, 10_000), credit(savings, 10_000)]
    )
    e["shares"] = post(
        "share:1", EntryKind.SHARE_PURCHASE, [debit(cash, 5_000), credit(shares, 5_000)]
    )
    e["usd"] = post(
        "pledge:3", EntryKind.PLEDGE_CHARGE, [debit(usd_cash, 1_999), credit(usd_escrow, 1_999)]
    )
    blocks = [ledger_blocks_seal()]
    e["refund"] = ledger_entry_reverse(entry=e["pledge2"], idempotency_key="refund:2")
    e["partial"] = post(
        "refund:1:partial",
        EntryKind.REFUND,
        [debit(escrow, 500), credit(cash, 500)],
        reverses=e["pledge1"],
        memo="Partial refund",
    )
    e["donation"] = post(
        "donation:1", EntryKind.DONATION, [debit(cash, 3_000), credit(grants, 3_000)]
    )
    blocks.append(ledger_blocks_seal())
    e["grant"] = post("grant:1", EntryKind.GRANT, [debit(grants, 1_000), credit(cash, 1_000)])
    e["hugo"] = post(
        "savings:2",
        EntryKind.SAVINGS_SUBSCRIPTION,
        [debit(cash, 2_000), credit(hugo_savings, 2_000)],
    )
    return Books(
        people={"camille": camille, "hugo": hugo, "nora": nora},
        accounts={
            "cash": cash,
            "usd_cash": usd_cash,
            "fees": fees,
            "escrow": escrow,
            "usd_escrow": usd_escrow,
            "grants": grants,
            "hugo_savings": hugo_savings,
            "savings": savings,
            "shares": shares,
        },
        entries=e,
        blocks=[b for b in blocks if b is not None],
    )


@pytest.fixture
def books(db: Any) -> Books:
    return build_books()
