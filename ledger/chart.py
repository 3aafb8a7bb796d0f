"""The chart of accounts: what each purpose of account is, and who owns it."""

from dataclasses import dataclass

from .enums import AccountPurpose as P
from .enums import AccountType as T
from .enums import OwnerType as O


@dataclass(frozen=True)
class AccountRule:
    type: str
    owner_type: str
    allow_negative: bool


CHART: dict[str, AccountRule] = {
    P.STRIPE_CASH: AccountRule(T.ASSET, O.PLATFORM, False),
    P.BANK_CASH: AccountRule(T.ASSET, O.PLATFORM, False),
    P.PROCESSOR_FEES: AccountRule(T.EXPENSE, O.PLATFORM, True),
    P.PAYOUTS_PAYABLE: AccountRule(T.LIABILITY, O.PLATFORM, False),
    P.SUSPENSE: AccountRule(T.ASSET, O.PLATFORM, True),
    P.CAMPAIGN_ESCROW: AccountRule(T.LIABILITY, O.CAMPAIGN, False),
    P.MEMBER_SHARES: AccountRule(T.EQUITY, O.MEMBER, False),
    P.MEMBER_SAVINGS: AccountRule(T.EQUITY, O.MEMBER, False),
    P.GRANTS_POOL: AccountRule(T.EQUITY, O.FUND, False),
    P.MATCHING_POOL: AccountRule(T.EQUITY, O.FUND, False),
    P.LIQUIDITY_RESERVE: AccountRule(T.EQUITY, O.FUND, False),
    P.IMPARTIBLE_RESERVE: AccountRule(T.EQUITY, O.FUND, False),
    P.LOANS_RECEIVABLE: AccountRule(T.ASSET, O.FUND, False),
    P.LOSS_PROVISION: AccountRule(T.LIABILITY, O.FUND, False),
    P.INTEREST_INCOME: AccountRule(T.INCOME, O.FUND, True),
    P.REMUNERATION_EXPENSE: AccountRule(T.EXPENSE, O.FUND, True),
    P.GRANTS_EXPENSE: AccountRule(T.EXPENSE, O.FUND, True),
}


def account_code(purpose: str, owner_type: str, owner_id: int | None, currency: str) -> str:
    owner = owner_type if owner_id is None else f"{owner_type}:{owner_id}"
    return f"{owner}:{purpose}:{currency}"
