"""A worked example: one year of the common fund, checked entry by entry.

Four savers subscribe cooperative shares in 2025, the savings pool lends 1 000 € to a project,
the borrower repays (interest first, then principal), gifts pay a grant, a saver asks for part
of their shares back (notice, then paid), and in January 2026 the year is closed: the savers'
remuneration (at the statutory cap, then cut down to what the surplus may distribute), the
interest they chose to share with the grants pool, the loss provision and the impartible reserve.

Every figure below is worked out by hand in the comments; the code under test only has to agree.
Settings: λ = 20% (FUND_LIQUIDITY_RATIO 2000), notice 30 days, remuneration cap 3% (300 bp),
impartible share 57.5%, loss provision 10%. The sandbox's processing fee is 1.5% (rounded half
up) + 0.25 €, booked by the platform as an expense.

2025 has 365 days; day n is n days after 1 January (1 January is day 0). The dates are picked on
multiples of 73 days (= 365 / 5) so that each saver's average balance is a round figure.
"""

import csv
import datetime as dt
import io
from fractions import Fraction
from typing import Any

import pytest
from django.urls import reverse

from fund.models import DonationReceipt, FundYear, Redemption, Remuneration
from fund.money_exceptions import RemunerationCapError
from fund.selectors.liquidity import liquidity_get
from fund.selectors.money import savings_statement_get
from fund.services.investments import (
    investment_approve,
    investment_propose,
    loan_repayment_record,
)
from fund.services.savings import (
    redemption_request,
    redemptions_process,
    savings_interest_share_set,
)
from fund.services.year import fund_year_close, remuneration_preview
from ledger.selectors import trial_balance
from ledger.services import ledger_balances_verify

from .money_books import Books, entry
from .money_factories import (
    EUR,
    clock,
    connect_payee,
    donate,
    member,
    paris,
    pay_out,
    person,
    project_ready,
    subscribe,
)

pytestmark = pytest.mark.django_db

STRIPE = "platform:stripe_cash:EUR"
BANK = "platform:bank_cash:EUR"
FEES = "platform:processor_fees:EUR"
PAYABLE = "platform:payouts_payable:EUR"
LOANS = "fund:loans_receivable:EUR"
INCOME = "fund:interest_income:EUR"
EXPENSE = "fund:remuneration_expense:EUR"
PROVISION = "fund:loss_provision:EUR"
RESERVE = "fund:impartible_reserve:EUR"
GRANTS = "fund:grants_pool:EUR"


def savings_code(user: Any) -> str:
    return f"member:{user.pk}:member_savings:EUR"


def paid_out(disbursement_id: int | None, treasurer: Any) -> None:
    """The treasurer approves the payout; the sandbox transfers it."""
    assert disbursement_id is not None
    pay_out(disbursement_id, treasurer)


def fee(amount: int) -> int:
    """The sandbox's fee, for the comments' arithmetic: 1.5% rounded half up, plus 25 cents."""
    return (amount * 150 + 5_000) // 10_000 + 25


@pytest.fixture
def fund_settings(settings: Any) -> Any:
    settings.FUND_LIQUIDITY_RATIO = 2_000
    settings.FUND_CAPITAL_FLOOR = 0
    settings.FUND_REDEMPTION_NOTICE_DAYS = 30
    settings.FUND_SAVINGS_REMUNERATION_CAP = 300
    settings.FUND_IMPARTIBLE_RESERVE_SHARE = 5_750
    settings.FUND_LOSS_PROVISION_SHARE = 1_000
    settings.SANDBOX_FEE_PERCENT_BASIS_POINTS = 150
    settings.SANDBOX_FEE_FIXED = 25
    settings.FUND_SAVINGS_MIN_SUBSCRIPTION = 1_000
    settings.FUND_SAVINGS_MAX_PER_MEMBER = 0
    settings.FUND_DONATION_MIN = 100
    return settings


def test_a_year_of_the_fund_entry_by_entry(fund_settings, client):
    alice, bob, chloe, david = member(), member(), member(), member()
    moderator, treasurer = person("moderator"), person("treasurer")
    A, B, C, D = (savings_code(saver) for saver in (alice, bob, chloe, david))
    # Interest shares: Alice 25%, Bob 50%, Chloé 100% ("épargne de partage"); David keeps all.
    savings_interest_share_set(user=alice, interest_share=2_500)
    savings_interest_share_set(user=bob, interest_share=5_000)
    savings_interest_share_set(user=chloe, interest_share=10_000)
    books = Books()
    assert fee(100_000) == 1_525  # 1 500 + 25
    assert fee(40_000) == 625  # 600 + 25

    # --- 1 January (day 0): Alice subscribes 1 000 €, David 400 € -----------------------------
    with clock(paris(2025, 1, 1)):
        subscribe(alice, 100_000)
        subscribe(david, 40_000)
    assert books.new_entries() == [
        entry("savings_subscription", (STRIPE, "debit", 100_000), (A, "credit", 100_000)),
        entry("processor_fee", (FEES, "debit", 1_525), (STRIPE, "credit", 1_525)),
        entry("savings_subscription", (STRIPE, "debit", 40_000), (D, "credit", 40_000)),
        entry("processor_fee", (FEES, "debit", 625), (STRIPE, "credit", 625)),
    ]
    # Stripe holds 140 000 − 1 525 − 625 = 137 850; the fees 1 525 + 625 = 2 150.
    assert books.balances() == {
        A: 100_000,
        D: 40_000,
        STRIPE: 137_850,
        FEES: 2_150,
    }
    # Savings pool 140 000, all of it cash; the reserve ⌈20% × 140 000⌉ = 28 000;
    # lendable 140 000 − 28 000 = 112 000.
    liquidity = liquidity_get(currency=EUR)
    assert (liquidity.savings, liquidity.cash, liquidity.required, liquidity.lendable) == (
        140_000,
        140_000,
        28_000,
        112_000,
    )

    # --- 1 February (day 31): a solidarity loan of 1 000 € at 12% a year over 10 months -------
    project = project_ready()
    with clock(paris(2025, 2, 1)):
        loan = investment_propose(
            kind="loan",
            title="Prêt solidaire : ateliers numériques",
            amount=100_000,
            rate=1_200,
            term_months=10,
            project=project,
            actor=moderator,
        )
        loan = investment_approve(investment=loan, actor=treasurer)
        # Committed: the money leaves the savings side for the payouts to send.
        assert books.new_entries() == [
            entry("loan_disbursement", (LOANS, "debit", 100_000), (PAYABLE, "credit", 100_000)),
        ]
        # Cash 140 000 − 100 000 = 40 000; lendable 40 000 − 28 000 = 12 000.
        liquidity = liquidity_get(currency=EUR)
        assert (liquidity.cash, liquidity.lent, liquidity.lendable) == (40_000, 100_000, 12_000)
        paid_out(loan.disbursement_id, treasurer)
    loan.refresh_from_db()
    assert loan.status == "disbursed"
    assert books.new_entries() == [
        entry("loan_disbursement", (PAYABLE, "debit", 100_000), (STRIPE, "credit", 100_000)),
    ]
    # Stripe 137 850 − 100 000 = 37 850.
    assert books.balances() == {
        A: 100_000,
        D: 40_000,
        STRIPE: 37_850,
        FEES: 2_150,
        LOANS: 100_000,
    }
    # 10 000 of principal a month; interest 12%/12 = 1% a month of what is still owed:
    # 1% × 100 000 = 1 000, 1% × 90 000 = 900, … 1% × 10 000 = 100. Due on the 1st, from March.
    assert list(loan.schedule.values_list("number", "due_date", "principal", "interest")) == [
        (n, dt.date(2025, 2 + n, 1), 10_000, 1_000 - 100 * (n - 1)) for n in range(1, 11)
    ]

    # --- 1 March: the first installment, 11 000 = 1 000 interest + 10 000 principal ------------
    with clock(paris(2025, 3, 1)):
        first = loan_repayment_record(
            investment=loan, amount=11_000, bank_reference="VIR-2025-03", actor=treasurer
        )
    assert (first.interest, first.principal) == (1_000, 10_000)
    assert books.new_entries() == [
        entry(
            "loan_repayment",
            (BANK, "debit", 11_000),
            (LOANS, "credit", 10_000),
            (INCOME, "credit", 1_000),
        ),
    ]
    assert books.balances() == {
        A: 100_000,
        D: 40_000,
        STRIPE: 37_850,
        FEES: 2_150,
        LOANS: 90_000,  # 100 000 − 10 000
        BANK: 11_000,
        INCOME: 1_000,
    }

    # --- 15 March (day 73): Bob subscribes 800 € -------------------------------------------
    with clock(paris(2025, 3, 15)):
        subscribe(bob, 80_000)
    # Fee: 1.5% × 80 000 = 1 200, + 25 = 1 225.
    assert books.new_entries() == [
        entry("savings_subscription", (STRIPE, "debit", 80_000), (B, "credit", 80_000)),
        entry("processor_fee", (FEES, "debit", 1_225), (STRIPE, "credit", 1_225)),
    ]

    # --- 1 April: the second installment, 900 interest + 10 000 principal ----------------------
    with clock(paris(2025, 4, 1)):
        loan_repayment_record(
            investment=loan, amount=10_900, bank_reference="VIR-2025-04", actor=treasurer
        )
    assert books.new_entries() == [
        entry(
            "loan_repayment",
            (BANK, "debit", 10_900),
            (LOANS, "credit", 10_000),
            (INCOME, "credit", 900),
        ),
    ]

    # --- 27 May (day 146): Chloé subscribes 500 € --------------------------------------------
    with clock(paris(2025, 5, 27)):
        subscribe(chloe, 50_000)
    # Fee: 750 + 25 = 775.
    assert books.new_entries() == [
        entry("savings_subscription", (STRIPE, "debit", 50_000), (C, "credit", 50_000)),
        entry("processor_fee", (FEES, "debit", 775), (STRIPE, "credit", 775)),
    ]
    # Stripe 37 850 + 80 000 − 1 225 + 50 000 − 775 = 165 850; fees 2 150 + 1 225 + 775 = 4 150;
    # bank 11 000 + 10 900 = 21 900; loans 90 000 − 10 000 = 80 000; income 1 000 + 900 = 1 900.
    assert books.balances() == {
        A: 100_000,
        B: 80_000,
        C: 50_000,
        D: 40_000,
        STRIPE: 165_850,
        FEES: 4_150,
        LOANS: 80_000,
        BANK: 21_900,
        INCOME: 1_900,
    }

    # --- 2 June: the borrower sends 25 000 at once, spread interest first, installment by
    # installment: #3 800 + 10 000, #4 700 + 10 000, #5 600 + 2 900 (of its 10 000) --------------
    with clock(paris(2025, 6, 2)):
        third = loan_repayment_record(
            investment=loan, amount=25_000, bank_reference="VIR-2025-06", actor=treasurer
        )
    # Interest 800 + 700 + 600 = 2 100; principal 10 000 + 10 000 + 2 900 = 22 900.
    assert (third.interest, third.principal) == (2_100, 22_900)
    assert books.new_entries() == [
        entry(
            "loan_repayment",
            (BANK, "debit", 25_000),
            (LOANS, "credit", 22_900),
            (INCOME, "credit", 2_100),
        ),
    ]
    assert list(
        loan.schedule.filter(number__in=[3, 4, 5, 6]).values_list(
            "number", "principal_paid", "interest_paid", "status"
        )
    ) == [
        (3, 10_000, 800, "paid"),
        (4, 10_000, 700, "paid"),
        (5, 2_900, 600, "due"),
        (6, 0, 0, "due"),
    ]

    # --- 1 July: gifts to the grants pool, Bob 60 € and a donor 180 € ---------------------------
    donor = person()
    with clock(paris(2025, 7, 1)):
        donate(bob, 6_000)
        donate(donor, 18_000)
    # Fees: 90 + 25 = 115 and 270 + 25 = 295.
    assert books.new_entries() == [
        entry("donation", (STRIPE, "debit", 6_000), (GRANTS, "credit", 6_000)),
        entry("processor_fee", (FEES, "debit", 115), (STRIPE, "credit", 115)),
        entry("donation", (STRIPE, "debit", 18_000), (GRANTS, "credit", 18_000)),
        entry("processor_fee", (FEES, "debit", 295), (STRIPE, "credit", 295)),
    ]
    # Given money is not the savers': the fund's cash is unchanged by gifts.
    # Cash = savings 270 000 + income 4 000 − loans 57 100 = 216 900.
    assert liquidity_get(currency=EUR).cash == 216_900

    # --- 1 September: a grant of 200 € out of the grants pool -----------------------------------
    with clock(paris(2025, 9, 1)):
        grant = investment_propose(
            kind="grant",
            title="Subvention : tiers-lieu numérique",
            amount=20_000,
            project=project_ready(),
            actor=moderator,
        )
        grant = investment_approve(investment=grant, actor=treasurer)
        paid_out(grant.disbursement_id, treasurer)
    assert books.new_entries() == [
        entry("grant", (GRANTS, "debit", 20_000), (PAYABLE, "credit", 20_000)),
        entry("grant", (PAYABLE, "debit", 20_000), (STRIPE, "credit", 20_000)),
    ]
    assert liquidity_get(currency=EUR).cash == 216_900  # savings never pay grants
    # Stripe 165 850 + 6 000 − 115 + 18 000 − 295 − 20 000 = 169 440; fees 4 150 + 410 = 4 560;
    # bank 21 900 + 25 000 = 46 900; loans 80 000 − 22 900 = 57 100; income 1 900 + 2 100 = 4 000;
    # grants pool 24 000 − 20 000 = 4 000.
    assert books.balances() == {
        A: 100_000,
        B: 80_000,
        C: 50_000,
        D: 40_000,
        STRIPE: 169_440,
        FEES: 4_560,
        LOANS: 57_100,
        BANK: 46_900,
        INCOME: 4_000,
        GRANTS: 4_000,
    }

    # --- 20 September (day 262): David asks for 100 € of his shares back -------------------------
    connect_payee(david)
    with clock(paris(2025, 9, 20)):
        redemption = redemption_request(user=david, amount=10_000, now=paris(2025, 9, 20))
    assert redemption.notice_ends_at == paris(2025, 10, 20)  # 30 days of notice
    assert books.new_entries() == []  # a request moves no money

    # 19 October: the notice is not over, nothing is paid.
    assert redemptions_process(currency=EUR, now=paris(2025, 10, 19)) == []
    redemption.refresh_from_db()
    assert redemption.status == "requested"
    assert books.new_entries() == []

    # --- 20 October (day 292): the notice is over; the fund can pay --------------------------------
    # Before: savings 270 000, cash 216 900. After paying 10 000: savings 260 000, cash 206 900,
    # reserve ⌈20% × 260 000⌉ = 52 000 ≤ 206 900, so it is payable at once.
    with clock(paris(2025, 10, 20)):
        assert redemptions_process(currency=EUR, now=paris(2025, 10, 20)) == [redemption.pk]
        redemption.refresh_from_db()
        assert redemption.status == "payable"
        paid_out(redemption.disbursement_id, treasurer)
    redemption.refresh_from_db()
    assert redemption.status == "paid"
    assert books.new_entries() == [
        entry("savings_redemption", (D, "debit", 10_000), (PAYABLE, "credit", 10_000)),
        entry("share_redemption", (PAYABLE, "debit", 10_000), (STRIPE, "credit", 10_000)),
    ]
    liquidity = liquidity_get(currency=EUR)
    assert (liquidity.savings, liquidity.cash, liquidity.required) == (260_000, 206_900, 52_000)
    assert [e.to_status for e in redemption.events.all()] == [
        "requested",
        "payable",
        "payable",  # the payout requested
        "paid",
    ]

    # --- 1 December: 30 000 more: #5's last 7 100, #6 500 + 10 000, #7 400 + 10 000,
    # #8 300 + 1 700 (of its 10 000) ----------------------------------------------------------------
    with clock(paris(2025, 12, 1)):
        fourth = loan_repayment_record(
            investment=loan, amount=30_000, bank_reference="VIR-2025-12", actor=treasurer
        )
    # Interest 500 + 400 + 300 = 1 200; principal 7 100 + 10 000 + 10 000 + 1 700 = 28 800.
    assert (fourth.interest, fourth.principal) == (1_200, 28_800)
    assert books.new_entries() == [
        entry(
            "loan_repayment",
            (BANK, "debit", 30_000),
            (LOANS, "credit", 28_800),
            (INCOME, "credit", 1_200),
        ),
    ]
    # The year's interest: 1 000 + 900 + 2 100 + 1 200 = 5 200; principal repaid
    # 10 000 + 10 000 + 22 900 + 28 800 = 71 700, so 28 300 is still lent.
    # Stripe 169 440 − 10 000 = 159 440; bank 46 900 + 30 000 = 76 900.
    assert books.balances() == {
        A: 100_000,
        B: 80_000,
        C: 50_000,
        D: 30_000,
        STRIPE: 159_440,
        FEES: 4_560,
        LOANS: 28_300,
        BANK: 76_900,
        INCOME: 5_200,
        GRANTS: 4_000,
    }

    # --- 5 January 2026: a repayment of the new year (not the 2025 result): #8's last 8 300,
    # #9 200 + 1 500 -------------------------------------------------------------------------------
    with clock(paris(2026, 1, 5)):
        fifth = loan_repayment_record(
            investment=loan, amount=10_000, bank_reference="VIR-2026-01", actor=treasurer
        )
    assert (fifth.interest, fifth.principal) == (200, 9_800)
    assert books.new_entries() == [
        entry(
            "loan_repayment",
            (BANK, "debit", 10_000),
            (LOANS, "credit", 9_800),
            (INCOME, "credit", 200),
        ),
    ]
    loan.refresh_from_db()
    # 71 700 + 9 800 = 81 500 repaid; 5 200 + 200 = 5 400 of interest.
    assert (loan.status, loan.principal_repaid, loan.interest_paid) == ("repaying", 81_500, 5_400)

    # --- The basis of the remuneration: each saver's balance-days over 2025 --------------------
    # Alice  100 000 × 365                         = 36 500 000 → at 3%: 36 500 000 × 300 /
    #        (10 000 × 365) = 3 000
    # Bob     80 000 × (365 − 73) = 80 000 × 292     = 23 360 000 → 1 920 (80 000 × 0.8 × 3%)
    # Chloé   50 000 × (365 − 146) = 50 000 × 219    = 10 950 000 →   900 (50 000 × 0.6 × 3%)
    # David   40 000 × 365 − 10 000 × (365 − 292)    = 14 600 000 − 730 000 = 13 870 000 → 1 140
    # Shared (rounded down): Alice 25% × 3 000 = 750, Bob 50% × 1 920 = 960, Chloé 900, David 0.
    preview = remuneration_preview(year=2025, currency=EUR, rate=300)
    assert [(s.user_id, s.balance_days, s.amount, s.interest_share, s.shared) for s in preview] == [
        (alice.pk, 36_500_000, 3_000, 2_500, 750),
        (bob.pk, 23_360_000, 1_920, 5_000, 960),
        (chloe.pk, 10_950_000, 900, 10_000, 900),
        (david.pk, 13_870_000, 1_140, 0, 0),
    ]

    # --- 10 January 2026: closing 2025 ---------------------------------------------------------
    # The statutes cap the rate at 3%: 3.01% is refused and nothing is posted.
    close_moment = paris(2026, 1, 10)
    with clock(close_moment), pytest.raises(RemunerationCapError):
        fund_year_close(year=2025, currency=EUR, rate=301, actor=treasurer, now=close_moment)
    assert books.new_entries() == []
    assert not FundYear.objects.exists()

    # The 2025 result R is the interest received in 2025: 5 200 (the 200 of 2026 left out).
    # At least ⌈57.5% × 5 200⌉ = 2 990 stays in the fund for good, so at most
    # 5 200 − 2 990 = 2 210 may remunerate the shares. At 3% the savers would get
    # 3 000 + 1 920 + 900 + 1 140 = 6 960 > 2 210: each amount is scaled by 2 210 / 6 960,
    # rounded down:
    #   Alice 3 000 × 2 210 // 6 960 = 6 630 000 // 6 960 = 952   (952.58)
    #   Bob   1 920 × 2 210 // 6 960 = 4 243 200 // 6 960 = 609   (609.66)
    #   Chloé   900 × 2 210 // 6 960 = 1 989 000 // 6 960 = 285   (285.78)
    #   David 1 140 × 2 210 // 6 960 = 2 519 400 // 6 960 = 361   (361.98)
    # total 952 + 609 + 285 + 361 = 2 207.
    # Shared: Alice 952 × 25% = 238 (credited 714); Bob 609 × 50% = 304.5 → 304 (credited 305);
    # Chloé all 285 (credited 0); David 0 (credited 361). Shared in all 238 + 304 + 285 = 827.
    # What is left, 5 200 − 2 207 = 2 993: the provision takes 10% × 5 200 = 520 only as far as
    # the impartible minimum allows, min(2 993 − 2 990, 520) = 3; the impartible reserve the rest,
    # 2 993 − 3 = 2 990.
    with clock(close_moment):
        year = fund_year_close(year=2025, currency=EUR, rate=300, actor=treasurer, now=close_moment)
    assert (
        year.income,
        year.rate,
        year.remuneration,
        year.shared_interest,
        year.loss_provision,
        year.impartible_reserve,
        year.loss_absorbed,
    ) == (5_200, 300, 2_207, 827, 3, 2_990, 0)
    assert books.new_entries() == [
        entry(
            "savings_remuneration",
            (EXPENSE, "debit", 952),
            (A, "credit", 714),
            (GRANTS, "credit", 238),
        ),
        entry(
            "savings_remuneration",
            (EXPENSE, "debit", 609),
            (B, "credit", 305),
            (GRANTS, "credit", 304),
        ),
        # Chloé shares everything: no leg of zero on her savings.
        entry("savings_remuneration", (EXPENSE, "debit", 285), (GRANTS, "credit", 285)),
        entry("savings_remuneration", (EXPENSE, "debit", 361), (D, "credit", 361)),
        entry(
            "reserve_allocation",
            (INCOME, "debit", 5_200),
            (EXPENSE, "credit", 2_207),
            (PROVISION, "credit", 3),
            (RESERVE, "credit", 2_990),
        ),
    ]
    assert year.closing_entry is not None
    assert year.closing_entry.kind == "reserve_allocation"
    assert list(
        Remuneration.objects.filter(year=2025)
        .order_by("user_id")
        .values_list(
            "user_id", "balance_days", "days", "amount", "shared", "credited", "interest_share"
        )
    ) == [
        (alice.pk, 36_500_000, 365, 952, 238, 714, 2_500),
        (bob.pk, 23_360_000, 365, 609, 304, 305, 5_000),
        (chloe.pk, 10_950_000, 365, 285, 285, 0, 10_000),
        (david.pk, 13_870_000, 365, 361, 0, 361, 0),
    ]
    # Shared interest is a gift with a receipt (66%), numbered in the year it is given (2026).
    assert list(
        DonationReceipt.objects.filter(kind="shared_interest")
        .order_by("sequence")
        .values_list("number", "donor_id", "amount", "tax_rate")
    ) == [
        ("2026-000001", alice.pk, 238, 6_600),
        ("2026-000002", bob.pk, 304, 6_600),
        ("2026-000003", chloe.pk, 285, 6_600),
    ]

    # The books at the end. Savings: Alice 100 000 + 714, Bob 80 000 + 305, Chloé 50 000,
    # David 30 000 + 361. Grants pool 4 000 + 827 = 4 827. Income 5 200 + 200 − 5 200 = 200.
    # Expense 2 207 − 2 207 = 0. Loans 28 300 − 9 800 = 18 500. Bank 76 900 + 10 000 = 86 900.
    final = {
        A: 100_714,
        B: 80_305,
        C: 50_000,
        D: 30_361,
        STRIPE: 159_440,
        FEES: 4_560,
        LOANS: 18_500,
        BANK: 86_900,
        INCOME: 200,
        GRANTS: 4_827,
        PROVISION: 3,
        RESERVE: 2_990,
    }
    assert books.balances() == final
    # They balance: debit-normal (assets, expenses) 159 440 + 86 900 + 4 560 + 18 500 = 269 400;
    # credit-normal 100 714 + 80 305 + 50 000 + 30 361 + 4 827 + 200 + 3 + 2 990 = 269 400.
    debit_normal = final[STRIPE] + final[BANK] + final[FEES] + final[LOANS]
    assert debit_normal == 269_400
    assert sum(final.values()) - debit_normal == 269_400
    assert trial_balance() == {EUR: 0}
    check = ledger_balances_verify()
    assert check.is_clean
    assert check.drift == []
    # Savings pool 261 380; the fund's cash 261 380 + (2 990 + 3 + 200) − 18 500 = 246 073.
    liquidity = liquidity_get(currency=EUR)
    assert (liquidity.savings, liquidity.cash, liquidity.lent) == (261_380, 246_073, 18_500)

    # Closing twice posts nothing more.
    with clock(paris(2026, 1, 11)):
        again = fund_year_close(year=2025, currency=EUR, rate=300, now=paris(2026, 1, 11))
    assert again.pk == year.pk
    assert books.new_entries() == []
    # 2026 opens with the 2025 balances; the remuneration credited on 10 January (day 9) counts
    # for the 356 days left: Alice 100 000 × 365 + 714 × 356 = 36 500 000 + 254 184;
    # Bob 80 000 × 365 + 305 × 356 = 29 200 000 + 108 580; Chloé 50 000 × 365;
    # David 30 000 × 365 + 361 × 356 = 10 950 000 + 128 516.
    assert [
        (s.user_id, s.balance_days) for s in remuneration_preview(year=2026, currency=EUR, rate=0)
    ] == [
        (alice.pk, 36_754_184),
        (bob.pk, 29_308_580),
        (chloe.pk, 18_250_000),
        (david.pk, 11_078_516),
    ]

    # --- Each saver's statement for 2025 ------------------------------------------------------
    # Pool shares are balance-days over all of them (84 680 000 = 73 × 1 160 000):
    #   Alice 36 500 000 / 84 680 000 = 25/58, Bob 23 360 000 / 84 680 000 = 8/29,
    #   Chloé 10 950 000 / 84 680 000 = 15/116, David 13 870 000 / 84 680 000 = 19/116.
    # Their part of the 100 000 loan (rounded down): 2 500 000/58 = 43 103.4 → 43 103;
    # 800 000/29 = 27 586.2 → 27 586; 1 500 000/116 = 12 931.0 → 12 931;
    # 1 900 000/116 = 16 379.3 → 16 379.
    # Gifts to the grants pool in 2025: 6 000 + 18 000 = 24 000 (the shared interest arrived in
    # 2026); Bob gave 6 000 of them, 1/4, so his part of the 20 000 grant is 5 000.
    expected = {
        alice: (0, 100_000, 0, 0, 100_000, 100_000, Fraction(25, 58), 43_103, Fraction(0), 0, 0),
        bob: (
            0,
            80_000,
            0,
            0,
            80_000,
            64_000,
            Fraction(8, 29),
            27_586,
            Fraction(1, 4),
            5_000,
            6_000,
        ),
        chloe: (0, 50_000, 0, 0, 50_000, 30_000, Fraction(15, 116), 12_931, Fraction(0), 0, 0),
        david: (
            0,
            40_000,
            0,
            10_000,
            30_000,
            38_000,  # 13 870 000 // 365
            Fraction(19, 116),
            16_379,
            Fraction(0),
            0,
            0,
        ),
    }
    remunerations = {
        alice: (952, 238, 714),
        bob: (609, 304, 305),
        chloe: (285, 285, 0),
        david: (361, 0, 361),
    }
    for saver, figures in expected.items():
        statement = savings_statement_get(user=saver, year=2025, currency=EUR)
        assert (
            statement.opening_balance,
            statement.subscriptions,
            statement.remuneration_credited,
            statement.redemptions,
            statement.closing_balance,
            statement.average_balance,
            statement.pool_share,
            statement.loans_part,
            statement.grants_share,
            statement.grants_part,
            statement.donations,
        ) == figures, saver
        assert statement.refunds == 0
        assert statement.remuneration is not None
        assert (
            statement.remuneration.amount,
            statement.remuneration.shared,
            statement.remuneration.credited,
        ) == remunerations[saver]
        assert [(line.investment_id, line.amount) for line in statement.loans] == [
            (loan.pk, 100_000)
        ]
        assert [(line.investment_id, line.amount) for line in statement.grants] == [
            (grant.pk, 20_000)
        ]
    bob_receipts = savings_statement_get(user=bob, year=2025, currency=EUR).receipts
    assert [(r.number, r.kind, r.amount, r.tax_rate) for r in bob_receipts] == [
        ("2025-000001", "donation", 6_000, 6_600)
    ]
    # 2026 opens with the 2025 balance, and the remuneration credited in January.
    alice_2026 = savings_statement_get(user=alice, year=2026, currency=EUR)
    assert (alice_2026.opening_balance, alice_2026.remuneration_credited) == (100_000, 714)
    assert [r.number for r in alice_2026.receipts] == ["2026-000001"]

    # The same statement as David downloads it.
    client.force_login(david)
    response = client.get(
        reverse("frontend:savings-statement", kwargs={"year": 2025}), {"format": "csv"}
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    by_item = {(row[0], row[1]): row[2] for row in rows[1:]}
    assert by_item[("savings", "subscriptions")] == "40000"
    assert by_item[("savings", "redemptions")] == "10000"
    assert by_item[("savings", "closing_balance")] == "30000"
    assert by_item[("savings", "average_balance")] == "38000"
    assert by_item[("remuneration", "amount")] == "361"
    assert by_item[("remuneration", "credited")] == "361"
    assert by_item[("share", "savings_pool")] == "19/116"
    assert [row[2] for row in rows if row[0] == "loan"] == ["16379"]
    assert Redemption.objects.get(pk=redemption.pk).paid_at is not None


def test_a_surplus_that_covers_the_remuneration_funds_the_loss_provision(fund_settings):
    """The other branch of the close: nothing is cut down and the provision gets its 10%.

    One saver, 1 000 € from 1 January. A loan of 600 € over one month at 20% a year earns
    60 000 × 2 000 // 120 000 = 1 000 of interest: the result R = 1 000. At least
    ⌈57.5% × 1 000⌉ = 575 stays, so 425 may be distributed. At 0.3% the saver is due
    100 000 × 365 × 30 // (10 000 × 365) = 300 ≤ 425: paid in full. Left 1 000 − 300 = 700;
    the provision takes 10% × 1 000 = 100 (≤ 700 − 575 = 125); the reserve the other 600.
    """
    saver = member()
    S = savings_code(saver)
    with clock(paris(2025, 1, 1)):
        subscribe(saver, 100_000)
    treasurer = person("treasurer")
    with clock(paris(2025, 1, 2)):
        loan = investment_propose(
            kind="loan",
            title="Prêt d'un mois",
            amount=60_000,
            rate=2_000,
            term_months=1,
            project=project_ready(),
            actor=person("moderator"),
        )
        loan = investment_approve(investment=loan, actor=treasurer)
        paid_out(loan.disbursement_id, treasurer)
    loan.refresh_from_db()
    assert list(loan.schedule.values_list("principal", "interest")) == [(60_000, 1_000)]
    with clock(paris(2025, 2, 2)):
        loan_repayment_record(
            investment=loan, amount=61_000, bank_reference="VIR-1", actor=treasurer
        )
    books = Books()
    close_moment = paris(2026, 1, 2)
    with clock(close_moment):
        year = fund_year_close(year=2025, currency=EUR, rate=30, now=close_moment)
    assert (
        year.income,
        year.remuneration,
        year.shared_interest,
        year.loss_provision,
        year.impartible_reserve,
    ) == (1_000, 300, 0, 100, 600)
    assert books.new_entries() == [
        entry("savings_remuneration", (EXPENSE, "debit", 300), (S, "credit", 300)),
        entry(
            "reserve_allocation",
            (INCOME, "debit", 1_000),
            (EXPENSE, "credit", 300),
            (PROVISION, "credit", 100),
            (RESERVE, "credit", 600),
        ),
    ]
    balances = books.balances()
    assert (balances[S], balances.get(INCOME, 0), balances.get(EXPENSE, 0)) == (100_300, 0, 0)
    assert (balances[PROVISION], balances[RESERVE]) == (100, 600)
    assert not DonationReceipt.objects.exists()  # nothing shared, no receipt
    assert trial_balance() == {EUR: 0}
