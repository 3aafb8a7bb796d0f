"""Grants and solidarity loans: approval under the liquidity rule, payout, schedule, repayments,
late, default and write-off against the loss provision, and the impartible reserve kept whole."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from common.errors import IllegalTransitionError, PermissionDeniedError
from fund.models import Investment, LoanInstallment
from fund.money_exceptions import (
    FourEyesError,
    GrantsPoolError,
    ImpartibleReserveError,
    LiquidityReserveError,
    OverpaymentError,
)
from fund.selectors.liquidity import liquidity_get
from fund.services.books import bank_cash, fund_entry_post, pool
from fund.services.investments import (
    investment_approve,
    investment_cancel,
    investment_propose,
    investment_sync,
    loan_default_declare,
    loan_repayment_record,
    loan_schedule,
    loan_write_off,
    loans_late_check,
)
from ledger.enums import AccountPurpose, EntryKind
from ledger.models import JournalEntry
from ledger.services import credit, debit
from tests.fixtures import require_service

from .money_factories import (
    approved_loan,
    balance,
    disbursed,
    donate,
    entry_legs,
    member,
    person,
    project_ready,
    proposed,
    subscribe,
)

pytestmark = pytest.mark.django_db

PAYABLE = "platform:payouts_payable:EUR"
LOANS = "fund:loans_receivable:EUR"


def test_a_loan_is_committed_under_the_liquidity_rule_then_paid_out(settings):
    settings.FUND_LIQUIDITY_RATIO = 2_000
    subscribe(member(), 100_000)
    assert liquidity_get(currency="EUR").lendable == 80_000
    loan = proposed("loan", 80_001, rate=300, term_months=12)
    treasurer = person("treasurer")
    with pytest.raises(LiquidityReserveError) as refused:
        investment_approve(investment=loan, actor=treasurer)
    assert refused.value.status_code == 409
    assert refused.value.code == "liquidity_reserve"
    assert refused.value.extra == {"lendable": 80_000, "reserve": 20_000, "cash": 100_000}
    loan.refresh_from_db()
    assert loan.status == "proposed"
    assert balance(AccountPurpose.LOANS_RECEIVABLE) == 0
    assert not JournalEntry.objects.filter(kind="loan_disbursement").exists()

    loan = proposed("loan", 80_000, rate=300, term_months=12)
    loan = investment_approve(investment=loan, actor=treasurer)
    assert loan.status == "approved"
    assert entry_legs(loan.commitment_entry) == [
        (LOANS, "debit", 80_000),
        (PAYABLE, "credit", 80_000),
    ]
    assert liquidity_get(currency="EUR").cash == 20_000
    loan = disbursed(loan)
    assert loan.status == "disbursed"
    assert balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform") == 0
    schedule = list(loan.schedule.values_list("number", "principal", "interest"))
    # 80 000 over 12 months: 6 666 a month and 6 674 last; interest at 3%/12 on what is owed.
    assert schedule[0] == (1, 6_666, 200)
    assert schedule[1] == (2, 6_666, 183)
    assert schedule[11] == (12, 6_674, 16)
    assert sum(p for _n, p, _i in schedule) == 80_000


def test_four_eyes_and_roles():
    subscribe(member(), 100_000)
    moderator = person("moderator")
    loan = investment_propose(
        kind="loan", title="L", amount=1_000, project=project_ready(), actor=moderator
    )
    with pytest.raises(PermissionDeniedError):
        investment_approve(investment=loan, actor=moderator)
    both = person("treasurer")
    own = investment_propose(
        kind="grant", title="G", amount=1_000, project=project_ready(), actor=both
    )
    with pytest.raises(FourEyesError):
        investment_approve(investment=own, actor=both)
    with pytest.raises(PermissionDeniedError):
        investment_propose(kind="grant", title="G", amount=1_000, actor=member())
    assert Investment.objects.filter(status="approved").count() == 0


def test_a_grant_comes_from_the_grants_pool_only():
    donate(person(), 30_000)
    subscribe(member(), 100_000)  # savings never pay grants
    treasurer = person("treasurer")
    too_big = proposed("grant", 30_001)
    with pytest.raises(GrantsPoolError):
        investment_approve(investment=too_big, actor=treasurer)
    grant = investment_approve(investment=proposed("grant", 30_000), actor=treasurer)
    assert entry_legs(grant.commitment_entry) == [
        ("fund:grants_pool:EUR", "debit", 30_000),
        (PAYABLE, "credit", 30_000),
    ]
    grant = disbursed(grant)
    assert grant.status == "disbursed"
    assert balance(AccountPurpose.GRANTS_POOL) == 0
    assert liquidity_get(currency="EUR").cash == 100_000
    assert not LoanInstallment.objects.exists()


def test_cancelling_an_approved_investment_gives_the_money_back():
    subscribe(member(), 100_000)
    loan = approved_loan(10_000)
    treasurer = person("treasurer")
    loan = investment_cancel(investment=loan, actor=treasurer, reason="the project stopped")
    assert loan.status == "cancelled"
    assert balance(AccountPurpose.LOANS_RECEIVABLE) == 0
    assert balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform") == 0
    assert liquidity_get(currency="EUR").cash == 100_000


def test_repayments_interest_first_then_principal_until_repaid():
    subscribe(member(), 100_000)
    loan = disbursed(approved_loan(12_000, rate=1_200, term_months=3))
    # 4 000 a month; interest 1% a month on what is owed: 120, 80, 40.
    assert list(loan.schedule.values_list("principal", "interest")) == [
        (4_000, 120),
        (4_000, 80),
        (4_000, 40),
    ]
    treasurer = person("treasurer")
    first = loan_repayment_record(
        investment=loan, amount=4_120, bank_reference="VIR-A", actor=treasurer
    )
    assert (first.principal, first.interest) == (4_000, 120)
    assert entry_legs(first.entry) == [
        ("fund:interest_income:EUR", "credit", 120),
        (LOANS, "credit", 4_000),
        ("platform:bank_cash:EUR", "debit", 4_120),
    ]
    loan.refresh_from_db()
    assert loan.status == "repaying"
    # The same bank reference again is the same repayment, not a second one.
    again = loan_repayment_record(
        investment=loan, amount=4_120, bank_reference="VIR-A", actor=treasurer
    )
    assert again.pk == first.pk
    with pytest.raises(OverpaymentError):
        loan_repayment_record(
            investment=loan, amount=8_121, bank_reference="VIR-B", actor=treasurer
        )
    loan_repayment_record(investment=loan, amount=8_120, bank_reference="VIR-B", actor=treasurer)
    loan.refresh_from_db()
    assert (loan.status, loan.principal_repaid, loan.interest_paid) == ("repaid", 12_000, 240)
    assert balance(AccountPurpose.LOANS_RECEIVABLE) == 0
    assert balance(AccountPurpose.INTEREST_INCOME) == 240
    assert liquidity_get(currency="EUR").cash == 100_240


def test_late_default_and_write_off_against_the_provision_then_the_reserve(settings):
    settings.FUND_LOAN_LATE_GRACE_DAYS = 15
    subscribe(member(), 100_000)
    loan = disbursed(approved_loan(10_000, term_months=2))
    treasurer = person("treasurer")
    loan_repayment_record(investment=loan, amount=2_000, bank_reference="VIR-1", actor=treasurer)
    first_due = loan.schedule.get(number=1).due_date
    assert loans_late_check(today=first_due + dt.timedelta(days=15)) == []
    assert loans_late_check(today=first_due + dt.timedelta(days=16)) == [loan.pk]
    loan.refresh_from_db()
    assert loan.status == "late"
    loan = loan_default_declare(investment=loan, actor=treasurer, reason="no answer")
    # Reserves before the loss: a provision of 3 000 and an impartible reserve of 4 000.
    _reserves(provision=3_000, impartible=4_000)
    loan = loan_write_off(investment=loan, actor=treasurer)
    assert (loan.status, loan.written_off) == ("written_off", 8_000)
    entry = JournalEntry.objects.get(kind="loan_write_off")
    assert entry_legs(entry) == [
        ("fund:impartible_reserve:EUR", "debit", 4_000),
        ("fund:interest_income:EUR", "debit", 1_000),
        (LOANS, "credit", 8_000),
        ("fund:loss_provision:EUR", "debit", 3_000),
    ]
    assert balance(AccountPurpose.LOANS_RECEIVABLE) == 0
    assert balance(AccountPurpose.INTEREST_INCOME) == -1_000  # the part the year's result bears
    assert balance(AccountPurpose.LOSS_PROVISION) == 0
    assert balance(AccountPurpose.IMPARTIBLE_RESERVE) == 0
    with pytest.raises(IllegalTransitionError):
        loan_write_off(investment=loan, actor=treasurer)
    assert JournalEntry.objects.filter(kind="loan_write_off").count() == 1


def _reserves(*, provision: int, impartible: int) -> None:
    """Reserves as a closed year leaves them: interest received, then allocated."""
    income = pool(AccountPurpose.INTEREST_INCOME, "EUR")
    total = provision + impartible
    with transaction.atomic():
        fund_entry_post(
            kind=EntryKind.LOAN_REPAYMENT,
            legs=[debit(bank_cash("EUR"), total), credit(income, total)],
            idempotency_key="test:income",
            memo="interest",
        )
        fund_entry_post(
            kind=EntryKind.RESERVE_ALLOCATION,
            legs=[
                debit(income, total),
                credit(pool(AccountPurpose.LOSS_PROVISION, "EUR"), provision),
                credit(pool(AccountPurpose.IMPARTIBLE_RESERVE, "EUR"), impartible),
            ],
            idempotency_key="test:reserves",
            memo="reserves",
        )


def test_the_impartible_reserve_is_never_distributed():
    _reserves(provision=0, impartible=5_000)
    reserve = pool(AccountPurpose.IMPARTIBLE_RESERVE, "EUR")
    grants = pool(AccountPurpose.GRANTS_POOL, "EUR")
    with pytest.raises(ImpartibleReserveError):
        fund_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(reserve, 1_000), credit(grants, 1_000)],
            idempotency_key="test:raid",
            memo="raid",
        )
    with pytest.raises(ImpartibleReserveError):  # the kind alone is not enough
        fund_entry_post(
            kind=EntryKind.RESERVE_ALLOCATION,
            legs=[debit(reserve, 1_000), credit(grants, 1_000)],
            idempotency_key="test:raid2",
            memo="raid",
        )
    assert balance(AccountPurpose.IMPARTIBLE_RESERVE) == 5_000
    assert balance(AccountPurpose.GRANTS_POOL) == 0


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_a_debit_of_the_impartible_reserve_whoever_posts_it():
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL")
    from ledger.services import ledger_entry_post

    _reserves(provision=0, impartible=5_000)
    reserve = pool(AccountPurpose.IMPARTIBLE_RESERVE, "EUR")
    grants = pool(AccountPurpose.GRANTS_POOL, "EUR")
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(reserve, 1_000), credit(grants, 1_000)],
            idempotency_key="test:bypass",
            memo="bypassing the fund's services",
        )
    assert balance(AccountPurpose.IMPARTIBLE_RESERVE) == 5_000
    assert not JournalEntry.objects.filter(idempotency_key="test:bypass").exists()


def test_the_schedule_in_exact_integers():
    rows = loan_schedule(principal=1_000, rate=100, term_months=3, start=dt.date(2026, 1, 31))
    assert [(r["due_date"], r["principal"], r["interest"]) for r in rows] == [
        (dt.date(2026, 2, 28), 333, 0),
        (dt.date(2026, 3, 31), 333, 0),
        (dt.date(2026, 4, 30), 334, 0),
    ]


def test_the_investment_status_is_kept_by_the_database():
    subscribe(member(), 100_000)
    loan = proposed("loan", 1_000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Investment.objects.filter(pk=loan.pk).update(status="vanished")
    loan.refresh_from_db()
    assert loan.status == "proposed"
    assert investment_sync(investment_id=loan.pk).status == "proposed"


def test_a_rounds_loans_take_the_rate_and_term_the_managers_give(client_as):
    from fund.services.rounds import round_close, round_open, round_project_add, round_publish

    from .factories import HOUR, approve, make_round, member

    voter = member()
    start = dt.datetime.now(dt.UTC) - 3 * HOUR
    round = make_round(start=start, budget=10_000)
    round_project_add(round=round, name="Fab lab", cost=6_000, kind="loan")
    round_project_add(round=round, name="Maps", cost=3_000)
    round = round_open(round=round, now=start)
    approve(round, voter, ["1", "2"])
    round_close(round=round)
    round = round_publish(round=round)
    client, _moderator = client_as("moderator")
    url = f"/api/v1/fund/rounds/{round.pk}/investments"

    for body in ({"rate": 2_001}, {"rate": "150"}, {"term_months": 0}, {"months": 12}):
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
    assert not Investment.objects.exists()

    response = client.post(url, {"rate": 150, "term_months": 18}, format="json")
    assert response.status_code == 201, response.content
    made = {row["title"]: (row["kind"], row["rate"], row["term_months"]) for row in response.json()}
    assert made == {"Fab lab": ("loan", 150, 18), "Maps": ("grant", 0, 0)}
    loan = Investment.objects.get(title="Fab lab")
    assert (loan.rate, loan.term_months, loan.amount) == (150, 18, 6_000)
    # Each winner once: asking again makes nothing new.
    assert client.post(url, {"rate": 300}, format="json").json() == []
    assert Investment.objects.count() == 2
