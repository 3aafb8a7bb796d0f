"""The fund's year-end: savers' remuneration, then the allocation of the surplus.

**Remuneration basis: the average balance.** Each saver earns on the sum over the days of the
year of their end-of-day savings balance (a subscription counts from its day, a redemption stops
counting on its day), at the rate the members decide, capped by the statutes
(FUND_SAVINGS_REMUNERATION_CAP):

    remuneration = ⌊ balance-days × rate / (10 000 × days in the year) ⌋

in exact integer arithmetic, rounded down (in the fund's favour). Shares of a cooperative are
only remunerated out of a surplus: if the remuneration of all savers would exceed what may be
distributed (what is left after the impartible reserve's share), every saver's amount is scaled
down in proportion, rounded down.

Each saver's remuneration splits by their interest share (0, 25, 50, 75 or 100%): the shared part
(rounded down) goes to the grants pool as a donation, with a receipt; the rest becomes new savings
shares. One entry: debit REMUNERATION_EXPENSE, credit MEMBER_SAVINGS and GRANTS_POOL.

**Surplus.** The year's result R is what INTEREST_INCOME holds for the year (interest received,
less any loan loss the reserves could not absorb, less a loss carried from earlier years). If
R > 0: at least ⌈57.5% × R⌉ (FUND_IMPARTIBLE_RESERVE_SHARE, never below 5750) stays in the
fund for good; the remuneration is paid from the rest; FUND_LOSS_PROVISION_SHARE of R (as far as
the rest allows) funds the loan loss provision; everything else also goes to the impartible
reserve. The closing entry (RESERVE_ALLOCATION) debits INTEREST_INCOME by R and credits
REMUNERATION_EXPENSE, LOSS_PROVISION and IMPARTIBLE_RESERVE. If R < 0, the impartible reserve
absorbs the loss as far as it can (the one debit it allows); the rest is carried forward.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.enums import AccountPurpose, EntryKind, OwnerType, Side
from ledger.models import Posting
from ledger.selectors import account_balance_get
from ledger.services import credit, debit

from ..models import FundYear, Remuneration, SavingsAccount
from ..money_enums import InterestShare, ReceiptKind, TaxRate
from ..money_exceptions import FundMoneyError, RemunerationCapError, YearNotOverError
from ..selectors.liquidity import ceil_div
from .books import fund_entry_post, fund_locks_take, liquidity_key, pool, savings_account
from .donations import GRANTS_POOL_BENEFICIARY, receipt_issue

BPS = 10_000
LEGAL_IMPARTIBLE_SHARE = 5_750  # SCIC: at least 57.5% of each year's surplus


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The year in the platform's time zone: [1 January, next 1 January)."""
    zone = timezone.get_current_timezone()
    return (
        dt.datetime(year, 1, 1, tzinfo=zone),
        dt.datetime(year + 1, 1, 1, tzinfo=zone),
    )


def _signed(side: str, amount: int) -> int:
    """Savings accounts grow with credits."""
    return amount if side == Side.CREDIT else -amount


def savings_balance_days(*, year: int, currency: str) -> tuple[dict[int, int], int]:
    """Each saver's balance-days over the year, and the number of days."""
    start, end = year_bounds(year)
    days = (end.date() - start.date()).days
    postings = Posting.objects.filter(
        account__purpose=AccountPurpose.MEMBER_SAVINGS,
        account__owner_type=OwnerType.MEMBER,
        account__currency=currency,
        entry__created_at__lt=end,
    )
    totals: dict[int | None, int] = {}
    opening = (
        postings.filter(entry__created_at__lt=start)
        .values_list("account__owner_id", "side")
        .annotate(total=Sum("amount"))
    )
    for owner_id, side, total in opening:
        totals[owner_id] = totals.get(owner_id, 0) + _signed(side, int(total)) * days
    for owner_id, side, amount, created_at in postings.filter(
        entry__created_at__gte=start
    ).values_list("account__owner_id", "side", "amount", "entry__created_at"):
        day = (timezone.localtime(created_at).date() - start.date()).days
        totals[owner_id] = totals.get(owner_id, 0) + _signed(side, int(amount)) * (days - day)
    return {
        owner: value for owner, value in totals.items() if owner is not None and value > 0
    }, days


@dataclass(frozen=True)
class SaverRemuneration:
    user_id: int
    balance_days: int
    amount: int
    interest_share: int
    shared: int

    @property
    def credited(self) -> int:
        return self.amount - self.shared


def _income_of_year(currency: str, end: dt.datetime) -> int:
    """INTEREST_INCOME as it stood at the end of the year (what later entries added excluded)."""
    account = pool(AccountPurpose.INTEREST_INCOME, currency)
    later = (
        Posting.objects.filter(account=account, entry__created_at__gte=end)
        .values_list("side")
        .annotate(total=Sum("amount"))
    )
    after = sum(int(total) if side == Side.CREDIT else -int(total) for side, total in later)
    return account_balance_get(account=account) - after


def remuneration_preview(
    *, year: int, currency: str, rate: int, distributable: int | None = None
) -> list[SaverRemuneration]:
    """What each saver would get (a read; `fund_year_close` posts it)."""
    balance_days, days = savings_balance_days(year=year, currency=currency)
    raw = {user: value * rate // (BPS * days) for user, value in balance_days.items()}
    total = sum(raw.values())
    if distributable is not None and total > distributable:
        raw = {user: amount * max(distributable, 0) // total for user, amount in raw.items()}
    shares = dict(
        SavingsAccount.objects.filter(currency=currency, user_id__in=list(raw)).values_list(
            "user_id", "interest_share"
        )
    )
    result = []
    for user_id in sorted(raw):
        amount = raw[user_id]
        share = int(shares.get(user_id, InterestShare.NONE))
        result.append(
            SaverRemuneration(user_id, balance_days[user_id], amount, share, amount * share // BPS)
        )
    return result


def _rate_check(rate: int) -> None:
    cap = int(settings.FUND_SAVINGS_REMUNERATION_CAP)
    if type(rate) is not int or rate < 0:
        raise FundMoneyError(_("A rate is a whole number of basis points."), code="invalid_rate")
    if rate > cap:
        raise RemunerationCapError(extra={"cap": cap})


def fund_year_close(
    *,
    year: int,
    currency: str | None = None,
    rate: int | None = None,
    actor: Any = None,
    now: dt.datetime | None = None,
) -> FundYear:
    """Remunerate the savers and allocate the year's surplus, once per year and currency."""
    currency = currency or settings.PLATFORM_CURRENCY
    rate = int(settings.FUND_SAVINGS_REMUNERATION_RATE) if rate is None else rate
    _rate_check(rate)
    now = now or timezone.now()
    end = year_bounds(year)[1]
    if now < end:
        raise YearNotOverError()
    impartible_share = max(LEGAL_IMPARTIBLE_SHARE, int(settings.FUND_IMPARTIBLE_RESERVE_SHARE))
    with transaction.atomic(durable=True):
        fund_locks_take(liquidity_key(currency))
        done = FundYear.objects.filter(year=year, currency=currency).first()
        if done is not None:
            return done
        if FundYear.objects.filter(year__gt=year, currency=currency).exists():
            raise FundMoneyError(
                _("A later year is closed already: years close in order."),
                code="later_year_closed",
                status_code=409,
            )
        income = _income_of_year(currency, end)
        income_account = pool(AccountPurpose.INTEREST_INCOME, currency)
        expense = pool(AccountPurpose.REMUNERATION_EXPENSE, currency)
        reserve = pool(AccountPurpose.IMPARTIBLE_RESERVE, currency)
        figures: dict[str, int] = {"remuneration": 0, "shared": 0, "provision": 0}
        impartible = absorbed = 0
        closing = None
        key = f"year:{year}:{currency}"
        if income > 0:
            minimum = ceil_div(income * impartible_share, BPS)
            distributable = income - minimum
            for saver in remuneration_preview(
                year=year, currency=currency, rate=rate, distributable=distributable
            ):
                if not saver.amount:
                    continue
                _remunerate(saver, year=year, currency=currency, rate=rate, at=now, key=key)
                figures["remuneration"] += saver.amount
                figures["shared"] += saver.shared
            rest = income - figures["remuneration"]
            provision_share = int(settings.FUND_LOSS_PROVISION_SHARE)
            figures["provision"] = max(0, min(rest - minimum, income * provision_share // BPS))
            impartible = rest - figures["provision"]
            closing = fund_entry_post(
                kind=EntryKind.RESERVE_ALLOCATION,
                legs=[
                    debit(income_account, income),
                    credit(expense, figures["remuneration"]),
                    credit(pool(AccountPurpose.LOSS_PROVISION, currency), figures["provision"]),
                    credit(reserve, impartible),
                ],
                idempotency_key=f"{key}:close",
                memo=f"Year {year} closed: surplus allocated",
                actor=actor,
            )
        elif income < 0:
            absorbed = min(-income, account_balance_get(account=reserve))
            if absorbed:
                closing = fund_entry_post(
                    kind=EntryKind.RESERVE_ALLOCATION,
                    legs=[debit(reserve, absorbed), credit(income_account, absorbed)],
                    idempotency_key=f"{key}:close",
                    memo=f"Year {year} closed: loss absorbed by the impartible reserve",
                    actor=actor,
                    absorbs_loss=True,
                )
        return FundYear.objects.create(
            year=year,
            currency=currency,
            rate=rate,
            income=income,
            remuneration=figures["remuneration"],
            shared_interest=figures["shared"],
            loss_provision=figures["provision"],
            impartible_reserve=impartible,
            loss_absorbed=absorbed,
            closing_entry=closing,
            closed_by=actor if getattr(actor, "pk", None) else None,
            closed_at=now,
        )


def _remunerate(
    saver: SaverRemuneration, *, year: int, currency: str, rate: int, at: dt.datetime, key: str
) -> Remuneration:
    entry = fund_entry_post(
        kind=EntryKind.SAVINGS_REMUNERATION,
        legs=[
            debit(pool(AccountPurpose.REMUNERATION_EXPENSE, currency), saver.amount),
            credit(savings_account(saver.user_id, currency), saver.credited),
            credit(pool(AccountPurpose.GRANTS_POOL, currency), saver.shared),
        ],
        idempotency_key=f"{key}:remuneration:{saver.user_id}",
        memo=f"Remuneration of savings for {year}",
        reference=("member", saver.user_id),
    )
    _start, end = year_bounds(year)
    remuneration = Remuneration.objects.create(
        user_id=saver.user_id,
        year=year,
        currency=currency,
        balance_days=saver.balance_days,
        days=(end.date() - _start.date()).days,
        rate=rate,
        amount=saver.amount,
        interest_share=saver.interest_share,
        shared=saver.shared,
        credited=saver.credited,
        entry=entry,
    )
    if saver.shared:
        receipt_issue(
            kind=ReceiptKind.SHARED_INTEREST,
            donor_id=saver.user_id,
            amount=saver.shared,
            currency=currency,
            tax_rate=TaxRate.GENERAL_INTEREST,
            beneficiary=GRANTS_POOL_BENEFICIARY,
            remuneration=remuneration,
            at=at,
        )
    return remuneration


def fund_year_close_previous(*, now: dt.datetime | None = None) -> list[FundYear]:
    """Beat, each January: close last year in every currency that holds savings."""
    now = now or timezone.now()
    year = timezone.localtime(now).year - 1
    currencies = sorted(
        set(SavingsAccount.objects.values_list("currency", flat=True))
        | {settings.PLATFORM_CURRENCY}
    )
    return [fund_year_close(year=year, currency=c, now=now) for c in currencies]
