"""The fund's liquidity, read from the ledger in one statement (one consistent snapshot).

The fund's money is held at the payment provider and in the bank together with the platform's
other money; its accounts say whose it is. So the fund's cash is derived from its accounts:

    cash = savings pool + reserves + provision + the year's income
           − loans receivable − the year's expenses

leaving out the grants pool and the matching pool, which are given money earmarked for grants
and matches and never pay back a saver. The liquidity rule: cash ≥ ⌈λ × savings pool⌉.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Q, Sum, When

from ledger.enums import DEBIT_NORMAL, AccountPurpose, OwnerType
from ledger.models import Account

P = AccountPurpose
# Fund accounts whose money backs the savings side.
SAVINGS_SIDE_PURPOSES = (
    P.LIQUIDITY_RESERVE,
    P.IMPARTIBLE_RESERVE,
    P.LOSS_PROVISION,
    P.INTEREST_INCOME,
    P.LOANS_RECEIVABLE,
    P.REMUNERATION_EXPENSE,
    P.GRANTS_EXPENSE,
)
BPS = 10_000


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


@dataclass(frozen=True)
class Liquidity:
    currency: str
    savings: int  # the savings pool: every member's savings shares
    cash: int  # the fund's cash backing the savings side
    lent: int  # loans receivable
    ratio: int  # λ, basis points
    floor: int  # capital floor

    @property
    def required(self) -> int:
        """The liquidity reserve: λ × savings pool, rounded up (in the savers' favour)."""
        return ceil_div(self.savings * self.ratio, BPS)

    @property
    def lendable(self) -> int:
        """What loans may still take: cash above the reserve."""
        return max(0, self.cash - self.required)

    @property
    def ratio_held(self) -> int | None:
        """Cash / savings pool in basis points, rounded down; None with no savings."""
        return self.cash * BPS // self.savings if self.savings else None

    def can_pay_back(self, amount: int) -> bool:
        """Paying `amount` back to a saver keeps the reserve and the capital floor."""
        savings = self.savings - amount
        return (
            savings >= self.floor
            and self.cash - amount >= 0
            and self.cash - amount >= ceil_div(savings * self.ratio, BPS)
        )

    def after_payback(self, amount: int) -> "Liquidity":
        return Liquidity(
            self.currency,
            self.savings - amount,
            self.cash - amount,
            self.lent,
            self.ratio,
            self.floor,
        )


def liquidity_get(*, currency: str) -> Liquidity:
    """The savings pool, the fund's cash and what is lent out, in one query."""
    debit_normal = [str(t) for t in DEBIT_NORMAL]
    savings_q = Q(purpose=P.MEMBER_SAVINGS, owner_type=OwnerType.MEMBER)
    side_q = Q(owner_type=OwnerType.FUND, purpose__in=SAVINGS_SIDE_PURPOSES)
    figures = Account.objects.filter(Q(currency=currency) & (savings_q | side_q)).aggregate(
        savings=Sum(Case(When(savings_q, then="balance"), default=0)),
        credit_side=Sum(Case(When(side_q & ~Q(type__in=debit_normal), then="balance"), default=0)),
        debit_side=Sum(Case(When(side_q & Q(type__in=debit_normal), then="balance"), default=0)),
        lent=Sum(Case(When(side_q & Q(purpose=P.LOANS_RECEIVABLE), then="balance"), default=0)),
    )
    savings = int(figures["savings"] or 0)
    cash = savings + int(figures["credit_side"] or 0) - int(figures["debit_side"] or 0)
    return Liquidity(
        currency=currency,
        savings=savings,
        cash=cash,
        lent=int(figures["lent"] or 0),
        ratio=int(settings.FUND_LIQUIDITY_RATIO),
        floor=int(settings.FUND_CAPITAL_FLOOR),
    )
