"""Savings as cooperative shares: subscribing (members only, within the limits), the interest
share, redemptions through notice, queue and payout, and the liquidity rule."""

import datetime as dt

import pytest
from django.utils import timezone

from common.errors import IllegalTransitionError
from fund.models import Redemption, SavingsAccount
from fund.money_enums import RedemptionStatus
from fund.money_exceptions import (
    NotAMemberError,
    RedemptionTooLargeError,
    SubscriptionLimitError,
)
from fund.selectors.liquidity import liquidity_get
from fund.selectors.money import redemption_queue_position
from fund.services.savings import (
    redemption_cancel,
    redemption_request,
    redemption_sync,
    redemptions_process,
    savings_interest_share_set,
    savings_subscribe,
)
from ledger.enums import AccountPurpose
from ledger.models import JournalEntry
from payments.exceptions import PayeeNotReadyError
from payments.models import Payment

from .money_factories import (
    DECLINED,
    approved_loan,
    balance,
    connect_payee,
    entry_legs,
    member,
    pay_out,
    person,
    savings_of,
    subscribe,
)

pytestmark = pytest.mark.django_db

PAYABLE = "platform:payouts_payable:EUR"


def test_a_member_subscribes_and_the_shares_are_credited_to_their_savings():
    saver = member()
    payment = subscribe(saver, 50_000)
    assert payment.status == "succeeded"
    assert savings_of(saver) == 50_000
    assert entry_legs(payment.charge_entry) == [
        (f"member:{saver.pk}:member_savings:EUR", "credit", 50_000),
        ("platform:stripe_cash:EUR", "debit", 50_000),
    ]
    assert payment.charge_entry.kind == "savings_subscription"
    assert SavingsAccount.objects.filter(user=saver, currency="EUR").count() == 1
    assert liquidity_get(currency="EUR").savings == 50_000
    assert liquidity_get(currency="EUR").cash == 50_000


def test_a_declined_card_books_nothing():
    saver = member()
    payment = subscribe(saver, 50_000, card=DECLINED)
    assert payment.status == "failed"
    assert savings_of(saver) == 0
    assert not JournalEntry.objects.filter(kind="savings_subscription").exists()


def test_only_members_subscribe_and_nothing_is_created_for_others():
    supporter = person()
    with pytest.raises(NotAMemberError):
        savings_subscribe(user=supporter, amount=50_000)
    assert not Payment.objects.exists()
    assert not SavingsAccount.objects.exists()


def test_the_minimum_and_the_maximum_per_member(settings):
    settings.FUND_SAVINGS_MIN_SUBSCRIPTION = 1_000
    settings.FUND_SAVINGS_MAX_PER_MEMBER = 100_000
    saver = member()
    with pytest.raises(SubscriptionLimitError) as below:
        savings_subscribe(user=saver, amount=999)
    assert below.value.code == "subscription_limit"
    subscribe(saver, 60_000)
    pending = savings_subscribe(user=saver, amount=30_000)  # not paid yet: it still counts
    with pytest.raises(SubscriptionLimitError) as above:
        savings_subscribe(user=saver, amount=10_001)
    assert above.value.extra == {"maximum": 100_000, "room": 10_000}
    assert Payment.objects.filter(purpose="savings").count() == 2
    assert pending.status == "created"
    assert savings_subscribe(user=saver, amount=10_000).amount == 10_000


def test_the_interest_share_is_one_of_five_choices():
    saver = member()
    account = savings_interest_share_set(user=saver, interest_share=5_000)
    assert account.interest_share == 5_000
    assert account.is_sharing_savings
    with pytest.raises(Exception) as bad:
        savings_interest_share_set(user=saver, interest_share=3_000)
    assert bad.value.code == "invalid_interest_share"
    account.refresh_from_db()
    assert account.interest_share == 5_000


def test_a_redemption_needs_a_payout_account_and_savings_to_cover_it(settings):
    settings.FUND_REDEMPTION_NOTICE_DAYS = 30
    saver = member()
    subscribe(saver, 40_000)
    with pytest.raises(PayeeNotReadyError):
        redemption_request(user=saver, amount=10_000)
    connect_payee(saver)
    first = redemption_request(user=saver, amount=30_000)
    with pytest.raises(RedemptionTooLargeError) as too_much:
        redemption_request(user=saver, amount=10_001)
    assert too_much.value.extra == {"available": 10_000}
    assert list(Redemption.objects.values_list("pk", flat=True)) == [first.pk]
    assert first.status == "requested"
    assert first.notice_ends_at - first.requested_at == dt.timedelta(days=30)


def test_notice_then_payable_then_paid_with_every_entry(settings):
    settings.FUND_REDEMPTION_NOTICE_DAYS = 30
    settings.FUND_LIQUIDITY_RATIO = 1_000
    saver, other, treasurer = member(), member(), person("treasurer")
    subscribe(saver, 40_000)
    subscribe(other, 60_000)
    connect_payee(saver)
    redemption = redemption_request(user=saver, amount=25_000)
    assert redemptions_process(currency="EUR") == []  # notice not over
    later = timezone.now() + dt.timedelta(days=31)
    assert redemptions_process(currency="EUR", now=later) == [redemption.pk]
    redemption.refresh_from_db()
    assert redemption.status == "payable"
    assert entry_legs(redemption.entry) == [
        (f"member:{saver.pk}:member_savings:EUR", "debit", 25_000),
        (PAYABLE, "credit", 25_000),
    ]
    assert savings_of(saver) == 15_000
    assert balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform") == 25_000
    # The payout: the treasurer approves it and the sandbox transfers it.
    cash_before = balance(AccountPurpose.STRIPE_CASH, owner_type="platform")
    assert pay_out(redemption.disbursement_id, treasurer).status == "paid"
    redemption.refresh_from_db()
    assert redemption.status == "paid"
    assert balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform") == 0
    assert balance(AccountPurpose.STRIPE_CASH, owner_type="platform") == cash_before - 25_000
    assert [e.to_status for e in redemption.events.all()] == [
        "requested",
        "payable",
        "payable",
        "paid",
    ]


def test_the_queue_is_first_come_first_served_and_waits_for_liquidity(settings):
    settings.FUND_REDEMPTION_NOTICE_DAYS = 0
    settings.FUND_LIQUIDITY_RATIO = 2_000
    big, small, investor = member(), member(), member()
    subscribe(big, 60_000)
    subscribe(small, 20_000)
    subscribe(investor, 20_000)
    for person_ in (big, small):
        connect_payee(person_)
    # Lend out most of the cash: 100 000 saved, cash 30 000 left after a loan of 70 000.
    approved_loan(70_000)
    assert liquidity_get(currency="EUR").cash == 30_000
    first = redemption_request(user=big, amount=50_000)
    second = redemption_request(user=small, amount=1_000)
    assert redemptions_process(currency="EUR") == []
    first.refresh_from_db()
    second.refresh_from_db()
    # The small one could be paid (29 000 ≥ 20% × 99 000) but never jumps the big one.
    assert (first.status, second.status) == ("queued", "queued")
    assert redemption_queue_position(redemption=first) == (1, 0)
    assert redemption_queue_position(redemption=second) == (2, 50_000)
    assert savings_of(small) == 20_000
    # The head withdraws: the next one is paid at once.
    redemption_cancel(redemption=first, actor=big)
    assert redemptions_process(currency="EUR") == [second.pk]
    second.refresh_from_db()
    assert second.status == "payable"


def test_the_capital_floor_holds_back_redemptions(settings):
    settings.FUND_REDEMPTION_NOTICE_DAYS = 0
    settings.FUND_LIQUIDITY_RATIO = 0
    settings.FUND_CAPITAL_FLOOR = 30_000
    saver = member()
    subscribe(saver, 40_000)
    connect_payee(saver)
    redemption = redemption_request(user=saver, amount=10_001)
    assert redemptions_process(currency="EUR") == []
    redemption.refresh_from_db()
    assert redemption.status == "queued"
    assert savings_of(saver) == 40_000


def test_illegal_moves_are_refused_and_change_nothing(settings):
    settings.FUND_REDEMPTION_NOTICE_DAYS = 0
    saver = member()
    subscribe(saver, 10_000)
    connect_payee(saver)
    redemption = redemption_request(user=saver, amount=10_000)
    redemptions_process(currency="EUR")
    redemption.refresh_from_db()
    with pytest.raises(IllegalTransitionError):
        redemption_cancel(redemption=redemption, actor=saver)
    redemption.refresh_from_db()
    assert redemption.status == "payable"
    assert redemption_sync(redemption_id=redemption.pk).status == "payable"


def test_the_database_refuses_a_status_outside_the_machine():
    from django.db import IntegrityError, transaction

    saver = member()
    subscribe(saver, 10_000)
    connect_payee(saver)
    redemption = redemption_request(user=saver, amount=10_000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Redemption.objects.filter(pk=redemption.pk).update(status="lost")
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.REQUESTED
