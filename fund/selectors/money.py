"""Reads of the fund's money: the dashboard's figures, the money flows, a saver's summary and
yearly statement. Every amount comes from the ledger (balances and postings); the fund's own rows
only say what an entry was for (which loan, which theme)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Theme
from ledger.enums import AccountPurpose, EntryKind, OwnerType, Side
from ledger.models import Account, Posting
from ledger.selectors import account_balance_get

from ..models import (
    Donation,
    DonationReceipt,
    FundYear,
    Investment,
    MatchCommitment,
    QFMatch,
    Redemption,
    Remuneration,
    SavingsAccount,
)
from ..money_enums import (
    LOAN_OUTSTANDING_STATUSES,
    REDEMPTION_WAITING,
    DonationStatus,
    InvestmentKind,
    InvestmentStatus,
    MatchStatus,
    RedemptionStatus,
)
from ..services.books import pool, savings_account
from ..services.matching import matching_pool_available
from ..services.year import savings_balance_days, year_bounds
from .liquidity import Liquidity, liquidity_get

P = AccountPurpose
K = EntryKind


def _currency(currency: str | None) -> str:
    return currency or settings.PLATFORM_CURRENCY


def theme_name(theme: Theme | None) -> str:
    if theme is None:
        return str(_("No theme"))
    return theme.name_fr if (get_language() or "").startswith("fr") else theme.name_en


# --- matchfunding figures for campaigns (campaigns.selectors.matched_many calls this) ----------


def campaign_matched_many(campaign_ids: list[int]) -> dict[int, int]:
    """Per campaign: pending + committed matches (net of reversals) and quadratic matches."""
    totals: dict[int, int] = defaultdict(int)
    if not campaign_ids:
        return {}
    rows = (
        MatchCommitment.objects.filter(
            campaign_id__in=campaign_ids, status__in=[MatchStatus.PENDING, MatchStatus.COMMITTED]
        )
        .values("campaign_id")
        .annotate(total=Sum(F("amount") - F("reversed_amount")))
        .order_by()
    )
    for row in rows:
        totals[row["campaign_id"]] += int(row["total"] or 0)
    for row in (
        QFMatch.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        totals[row["campaign_id"]] += int(row["total"] or 0)
    return {pk: total for pk, total in totals.items() if total}


# --- the dashboard -------------------------------------------------------------------------------


def _balance(purpose: str, currency: str) -> int:
    return account_balance_get(account=pool(purpose, currency))


@dataclass(frozen=True)
class ThemeAllocation:
    theme_id: int | None
    name: str
    grants: int
    loans: int
    matches: int

    @property
    def total(self) -> int:
        return self.grants + self.loans + self.matches


@dataclass(frozen=True)
class Dashboard:
    currency: str
    liquidity: Liquidity
    savers: int
    loans_outstanding_count: int
    grants_pool: int
    grants_committed: int
    grants_count: int
    matching_pool: int
    matching_available: int
    matches_committed: int
    impartible_reserve: int
    loss_provision: int
    allocation: list[ThemeAllocation] = field(default_factory=list)


def _net_postings(account: Account, kinds: set[str]) -> int:
    """What entries of these kinds (less their reversals) took from an account."""
    rows = (
        Posting.objects.filter(account=account)
        .filter(Q(entry__kind__in=kinds) | Q(entry__reverses__kind__in=kinds))
        .values_list("side")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    sign = 1 if account.is_debit_normal else -1
    return sum((int(total) if side == Side.DEBIT else -int(total)) * sign for side, total in rows)


def allocation_by_theme(*, currency: str | None = None) -> list[ThemeAllocation]:
    """Grants, loans and matches by theme, from the ledger's commitments less reversals."""
    currency = _currency(currency)
    grants: dict[int | None, int] = defaultdict(int)
    loans: dict[int | None, int] = defaultdict(int)
    matches: dict[int | None, int] = defaultdict(int)
    investments = dict(Investment.objects.values_list("pk", "theme_id"))
    # Investments: what each commitment took from the grants pool or put into loans receivable.
    for purpose, target in ((P.GRANTS_POOL, grants), (P.LOANS_RECEIVABLE, loans)):
        rows = (
            Posting.objects.filter(
                account__purpose=purpose,
                account__owner_type=OwnerType.FUND,
                account__currency=currency,
                entry__reference_type="investment",
                entry__kind__in=[K.GRANT, K.LOAN_DISBURSEMENT, K.REVERSAL],
            )
            .values_list("entry__reference_id", "side")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        for reference_id, side, total in rows:
            signed = int(total) if side == Side.DEBIT else -int(total)
            target[investments.get(reference_id)] += signed
    # Matches: what reached each campaign's escrow from the matching pool.
    campaign_themes = dict(Campaign.objects.values_list("pk", "project__theme_id"))
    rows = (
        Posting.objects.filter(
            account__purpose=P.CAMPAIGN_ESCROW,
            account__currency=currency,
            entry__reference_type__in=["match", "qf_round"],
        )
        .values_list("account__owner_id", "side")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for campaign_id, side, total in rows:
        signed = int(total) if side == Side.CREDIT else -int(total)
        matches[campaign_themes.get(campaign_id)] += signed
    themes = {t.pk: t for t in Theme.objects.all()}
    keys = {k for k in (*grants, *loans, *matches) if grants[k] or loans[k] or matches[k]}
    result = [
        ThemeAllocation(
            theme_id=key,
            name=theme_name(themes.get(key)) if key is not None else theme_name(None),
            grants=grants[key],
            loans=loans[key],
            matches=matches[key],
        )
        for key in keys
    ]
    return sorted(result, key=lambda row: (-row.total, row.name))


def fund_dashboard_get(*, currency: str | None = None) -> Dashboard:
    currency = _currency(currency)
    grants_pool = pool(P.GRANTS_POOL, currency)
    matching_pool = pool(P.MATCHING_POOL, currency)
    return Dashboard(
        currency=currency,
        liquidity=liquidity_get(currency=currency),
        savers=Account.objects.filter(
            purpose=P.MEMBER_SAVINGS, owner_type=OwnerType.MEMBER, currency=currency, balance__gt=0
        ).count(),
        loans_outstanding_count=Investment.objects.filter(
            kind=InvestmentKind.LOAN, currency=currency, status__in=LOAN_OUTSTANDING_STATUSES
        ).count(),
        grants_pool=account_balance_get(account=grants_pool),
        grants_committed=-_net_postings(grants_pool, {K.GRANT}),
        grants_count=Investment.objects.filter(
            kind=InvestmentKind.GRANT,
            currency=currency,
            status__in=[InvestmentStatus.APPROVED, InvestmentStatus.DISBURSED],
        ).count(),
        matching_pool=account_balance_get(account=matching_pool),
        matching_available=matching_pool_available(currency=currency),
        matches_committed=-_net_postings(matching_pool, {K.MATCH}),
        impartible_reserve=_balance(P.IMPARTIBLE_RESERVE, currency),
        loss_provision=_balance(P.LOSS_PROVISION, currency),
        allocation=allocation_by_theme(currency=currency),
    )


# --- money flows ---------------------------------------------------------------------------------

# Nodes of the money-flow chart, in the order they are listed.
FLOW_NODES: dict[str, Any] = {
    "savers": _("Savers"),
    "donors": _("Donors"),
    "loan_repayments": _("Loan repayments"),
    "loan_interest": _("Interest from loans"),
    "result": _("The year's result"),
    "remuneration": _("Remuneration of savings"),
    "savings": _("Savings pool"),
    "grants_pool": _("Grants pool"),
    "matching_pool": _("Matching pool"),
    "loss_provision": _("Loan loss provision"),
    "impartible_reserve": _("Impartible reserve"),
    "loans": _("Loans to projects"),
    "grants": _("Grants to projects"),
    "matches": _("Matches to campaigns"),
    "paid_back": _("Savings paid back"),
    "written_off": _("Loans written off"),
    "losses_absorbed": _("Losses absorbed"),
}

# (entry kind, account purpose, side of the posting) → (from node, to node). A reversal or a
# refund counts against the flow of the entry it reverses.
FLOW_RULES: dict[tuple[str, str, str], tuple[str, str]] = {
    (K.SAVINGS_SUBSCRIPTION, P.MEMBER_SAVINGS, Side.CREDIT): ("savers", "savings"),
    (K.SAVINGS_REMUNERATION, P.MEMBER_SAVINGS, Side.CREDIT): ("remuneration", "savings"),
    (K.SAVINGS_REMUNERATION, P.GRANTS_POOL, Side.CREDIT): ("remuneration", "grants_pool"),
    (K.SAVINGS_REDEMPTION, P.MEMBER_SAVINGS, Side.DEBIT): ("savings", "paid_back"),
    (K.DONATION, P.GRANTS_POOL, Side.CREDIT): ("donors", "grants_pool"),
    (K.GRANT, P.GRANTS_POOL, Side.DEBIT): ("grants_pool", "grants"),
    (K.MATCH, P.MATCHING_POOL, Side.DEBIT): ("matching_pool", "matches"),
    (K.LOAN_DISBURSEMENT, P.LOANS_RECEIVABLE, Side.DEBIT): ("savings", "loans"),
    (K.LOAN_REPAYMENT, P.LOANS_RECEIVABLE, Side.CREDIT): ("loan_repayments", "savings"),
    (K.LOAN_REPAYMENT, P.INTEREST_INCOME, Side.CREDIT): ("loan_interest", "result"),
    (K.LOAN_WRITE_OFF, P.LOSS_PROVISION, Side.DEBIT): ("loss_provision", "written_off"),
    (K.LOAN_WRITE_OFF, P.IMPARTIBLE_RESERVE, Side.DEBIT): ("impartible_reserve", "written_off"),
    (K.LOAN_WRITE_OFF, P.INTEREST_INCOME, Side.DEBIT): ("result", "written_off"),
    (K.RESERVE_ALLOCATION, P.REMUNERATION_EXPENSE, Side.CREDIT): ("result", "remuneration"),
    (K.RESERVE_ALLOCATION, P.LOSS_PROVISION, Side.CREDIT): ("result", "loss_provision"),
    (K.RESERVE_ALLOCATION, P.IMPARTIBLE_RESERVE, Side.CREDIT): ("result", "impartible_reserve"),
    (K.RESERVE_ALLOCATION, P.IMPARTIBLE_RESERVE, Side.DEBIT): (
        "impartible_reserve",
        "losses_absorbed",
    ),
}
OPPOSITE = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    amount: int

    @property
    def source_label(self) -> str:
        return str(FLOW_NODES[self.source])

    @property
    def target_label(self) -> str:
        return str(FLOW_NODES[self.target])


def money_flows(
    *, currency: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[Flow]:
    """Flows between the fund's pools over a period (days in the platform's time zone, both
    included), from the postings on the fund's accounts grouped by entry kind and side."""
    currency = _currency(currency)
    postings = Posting.objects.filter(account__currency=currency).filter(
        Q(account__owner_type=OwnerType.FUND)
        | Q(account__owner_type=OwnerType.MEMBER, account__purpose=P.MEMBER_SAVINGS)
    )
    zone = timezone.get_current_timezone()
    if date_from is not None:
        start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone)
        postings = postings.filter(entry__created_at__gte=start)
    if date_to is not None:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        postings = postings.filter(entry__created_at__lt=end)
    rows = (
        postings.values_list("entry__kind", "entry__reverses__kind", "account__purpose", "side")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    amounts: dict[tuple[str, str], int] = defaultdict(int)
    transfers: dict[str, int] = defaultdict(int)
    for kind, reversed_kind, purpose, side, total in rows:
        sign = 1
        if reversed_kind:
            kind, side, sign = reversed_kind, OPPOSITE[side], -1
        if kind == K.TRANSFER and side == Side.CREDIT:
            transfers[purpose] += sign * int(total)
            continue
        edge = FLOW_RULES.get((kind, purpose, side))
        if edge is not None:
            amounts[edge] += sign * int(total)
    # Transfers between the two given-money pools, netted so the chart has no loop.
    net = transfers[P.MATCHING_POOL] - transfers[P.GRANTS_POOL]
    if net > 0:
        amounts["grants_pool", "matching_pool"] += net
    elif net < 0:
        amounts["matching_pool", "grants_pool"] += -net
    order = list(FLOW_NODES)
    flows = [Flow(s, t, amount) for (s, t), amount in amounts.items() if amount > 0]
    return sorted(flows, key=lambda f: (order.index(f.source), order.index(f.target)))


# --- a saver -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedemptionView:
    redemption: Redemption
    position: int | None
    ahead: int | None


def redemption_queue_position(
    *, redemption: Redemption, now: dt.datetime | None = None
) -> tuple[int, int] | None:
    """A queued redemption's place (1 = next to be paid) and the amount asked before it."""
    if redemption.status != RedemptionStatus.QUEUED:
        return None
    before = Redemption.objects.filter(
        currency=redemption.currency,
        status__in=REDEMPTION_WAITING,
        notice_ends_at__lte=now or timezone.now(),
    ).filter(
        Q(requested_at__lt=redemption.requested_at)
        | Q(requested_at=redemption.requested_at, id__lt=redemption.pk)
    )
    figures = before.aggregate(total=Sum("amount"))
    return before.count() + 1, int(figures["total"] or 0)


@dataclass(frozen=True)
class SavingsSummary:
    currency: str
    is_member: bool
    balance: int
    waiting: int
    interest_share: int
    pending_subscriptions: int
    redemptions: list[RedemptionView]
    remunerations: list[Remuneration]

    @property
    def available(self) -> int:
        return max(0, self.balance - self.waiting)


def savings_summary_get(*, user: Any, currency: str | None = None) -> SavingsSummary:
    from members.enums import Role
    from members.selectors import user_has_role
    from payments.enums import PaymentPurpose
    from payments.models import Payment

    from ..services.savings import OPEN_PAYMENT_STATUSES

    currency = _currency(currency)
    account = SavingsAccount.objects.filter(user=user, currency=currency).first()
    redemptions = list(Redemption.objects.filter(user=user, currency=currency).order_by("-id")[:50])
    views = []
    for redemption in redemptions:
        place = redemption_queue_position(redemption=redemption)
        views.append(RedemptionView(redemption, *(place or (None, None))))
    return SavingsSummary(
        currency=currency,
        is_member=user_has_role(user=user, role=Role.MEMBER),
        balance=account_balance_get(account=savings_account(user.pk, currency)),
        waiting=sum(r.amount for r in redemptions if r.status in REDEMPTION_WAITING),
        interest_share=account.interest_share if account else 0,
        pending_subscriptions=int(
            Payment.objects.filter(
                purpose=PaymentPurpose.SAVINGS,
                payer=user,
                currency=currency,
                status__in=OPEN_PAYMENT_STATUSES,
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        ),
        redemptions=views,
        remunerations=list(Remuneration.objects.filter(user=user, currency=currency)),
    )


def my_redemptions(*, user: Any) -> QuerySet[Redemption]:
    return Redemption.objects.filter(user=user)


def my_donations(*, user: Any) -> QuerySet[Donation]:
    return Donation.objects.filter(donor=user).select_related("campaign")


def my_receipts(*, user: Any) -> QuerySet[DonationReceipt]:
    return DonationReceipt.objects.filter(donor=user)


# --- the yearly statement ------------------------------------------------------------------------


@dataclass(frozen=True)
class FinancedLine:
    investment_id: int
    title: str
    theme: str
    kind: str
    amount: int
    my_part: int


@dataclass(frozen=True)
class Statement:
    year: int
    currency: str
    opening_balance: int
    subscriptions: int
    remuneration_credited: int  # remuneration credited during the year (for earlier years)
    redemptions: int
    refunds: int
    closing_balance: int
    average_balance: int
    pool_share: Fraction  # my balance-days / every saver's balance-days
    remuneration: Remuneration | None  # for this year, once the year is closed
    loans: list[FinancedLine]
    grants_share: Fraction  # my gifts to the grants pool / every gift to it this year
    grants: list[FinancedLine]
    donations: int
    receipts: list[DonationReceipt]

    @property
    def loans_part(self) -> int:
        return sum(line.my_part for line in self.loans)

    @property
    def grants_part(self) -> int:
        return sum(line.my_part for line in self.grants)


def _sum_signed(postings: QuerySet[Posting], *, credit_positive: bool = True) -> int:
    total = 0
    for side, amount in postings.values_list("side").annotate(total=Sum("amount")).order_by():
        signed = int(amount) if side == Side.CREDIT else -int(amount)
        total += signed if credit_positive else -signed
    return total


def _lines(
    investments: QuerySet[Investment], share: Fraction, start: dt.datetime, end: dt.datetime
) -> list[FinancedLine]:
    lines = []
    for investment in (
        investments.filter(
            commitment_entry__created_at__gte=start, commitment_entry__created_at__lt=end
        )
        .exclude(status=InvestmentStatus.CANCELLED)
        .select_related("theme")
    ):
        lines.append(
            FinancedLine(
                investment_id=investment.pk,
                title=investment.title,
                theme=theme_name(investment.theme),
                kind=investment.kind,
                amount=investment.amount,
                my_part=int(investment.amount * share),  # rounded down
            )
        )
    return lines


def savings_statement_get(*, user: Any, year: int, currency: str | None = None) -> Statement:
    """What a saver's money did in a year: their movements, their remuneration and shared
    interest, and their part (pro rata) of the loans the savings pool made and of the grants the
    gifts made."""
    currency = _currency(currency)
    start, end = year_bounds(year)
    account = savings_account(user.pk, currency)
    mine = Posting.objects.filter(account=account)
    in_year = mine.filter(entry__created_at__gte=start, entry__created_at__lt=end)
    opening = _sum_signed(mine.filter(entry__created_at__lt=start))
    closing = _sum_signed(mine.filter(entry__created_at__lt=end))
    subscriptions = _sum_signed(in_year.filter(entry__kind=K.SAVINGS_SUBSCRIPTION))
    refunds = -_sum_signed(in_year.filter(entry__kind=K.REFUND))
    credited = _sum_signed(in_year.filter(entry__kind=K.SAVINGS_REMUNERATION))
    redemptions = -_sum_signed(in_year.filter(entry__kind=K.SAVINGS_REDEMPTION))
    balance_days, days = savings_balance_days(year=year, currency=currency)
    total_days = sum(balance_days.values())
    share = Fraction(balance_days.get(user.pk, 0), total_days) if total_days else Fraction(0)
    # Gifts to the grants pool this year: donations and shared interest.
    grants_pool = pool(P.GRANTS_POOL, currency)
    gifts = Posting.objects.filter(
        account=grants_pool,
        side=Side.CREDIT,
        entry__kind__in=[K.DONATION, K.SAVINGS_REMUNERATION],
        entry__created_at__gte=start,
        entry__created_at__lt=end,
    )
    all_gifts = int(gifts.aggregate(total=Sum("amount"))["total"] or 0)
    my_donations = int(
        Donation.objects.filter(
            donor=user,
            currency=currency,
            campaign__isnull=True,
            status=DonationStatus.SUCCEEDED,
            received_at__gte=start,
            received_at__lt=end,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    my_shared = int(
        Remuneration.objects.filter(
            user=user, currency=currency, entry__created_at__gte=start, entry__created_at__lt=end
        ).aggregate(total=Sum("shared"))["total"]
        or 0
    )
    grants_share = (
        Fraction(min(my_donations + my_shared, all_gifts), all_gifts) if all_gifts else Fraction(0)
    )
    investments = Investment.objects.filter(currency=currency).order_by("pk")
    return Statement(
        year=year,
        currency=currency,
        opening_balance=opening,
        subscriptions=subscriptions,
        remuneration_credited=credited,
        redemptions=redemptions,
        refunds=refunds,
        closing_balance=closing,
        average_balance=balance_days.get(user.pk, 0) // days,
        pool_share=share,
        remuneration=Remuneration.objects.filter(user=user, year=year, currency=currency).first(),
        loans=_lines(investments.filter(kind=InvestmentKind.LOAN), share, start, end),
        grants_share=grants_share,
        grants=_lines(investments.filter(kind=InvestmentKind.GRANT), grants_share, start, end),
        donations=my_donations,
        receipts=list(
            DonationReceipt.objects.filter(donor=user, currency=currency, year=year).order_by(
                "sequence"
            )
        ),
    )


def statement_years(*, user: Any) -> list[int]:
    """Years with something to say: from the first savings posting to this year."""
    first = (
        Posting.objects.filter(
            account__owner_type=OwnerType.MEMBER,
            account__owner_id=user.pk,
            account__purpose=P.MEMBER_SAVINGS,
        )
        .order_by("entry__created_at")
        .values_list("entry__created_at", flat=True)
        .first()
    )
    this_year = timezone.localdate().year
    if first is None:
        return []
    return list(range(this_year, timezone.localtime(first).year - 1, -1))


def fund_years(*, currency: str | None = None) -> QuerySet[FundYear]:
    return FundYear.objects.filter(currency=_currency(currency))


def investments_public(*, currency: str | None = None) -> QuerySet[Investment]:
    qs = Investment.objects.select_related("theme", "project").exclude(
        status=InvestmentStatus.CANCELLED
    )
    if currency:
        qs = qs.filter(currency=currency)
    return qs
