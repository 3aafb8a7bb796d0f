"""Redemptions under concurrency, on PostgreSQL: real threads, each with its own connection.

Savers ask for their shares back from two threads each, four workers process the queue, the
treasurer approves loans that compete for the same cash, the saver at the head of the queue
withdraws, and a monitor reads the fund's liquidity all along, all at the same time. Then:

- the liquidity rule (cash ≥ ⌈λ × savings pool⌉) and the capital floor (savings pool ≥ floor)
  held at every committed point. Every entry that lowers the fund's cash or its savings (a
  redemption made payable, a loan committed) is posted under the fund's liquidity lock and the
  other entries of this test do not touch the savings side, so replaying the entries in id order
  replays the committed states in commit order; the monitor's samples check the same live;
- no redemption was made payable twice, nor paid out twice when the payouts race too;
- the queue was paid strictly first come, first served: in the queue's order (request time,
  then id, the order a saver is shown), every redemption was made payable after all those
  ahead of it, unless one ahead was withdrawn.

The payouts are raced in a second test: two treasurers approve each payout at once.
"""

import contextlib
import datetime as dt
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Max
from django.utils import timezone

from common.errors import IllegalTransitionError
from fund.models import Redemption
from fund.money_exceptions import LiquidityReserveError, RedemptionTooLargeError
from fund.selectors.liquidity import liquidity_get
from fund.services.investments import investment_approve
from fund.services.savings import redemption_cancel, redemption_request, redemptions_process
from ledger.enums import DEBIT_NORMAL, AccountPurpose, OwnerType, Side
from ledger.models import JournalEntry, Posting
from payments.models import Disbursement
from payments.services import disbursement_approve
from tests.fixtures import require_service

from .money_factories import (
    EUR,
    approved_loan,
    balance,
    connect_payee,
    member,
    person,
    proposed,
    savings_of,
    subscribe,
)

SAVERS = 8
SAVED = 30_000  # each saver's shares
RATIO = 2_000  # λ = 20%
FLOOR = 200_000
FIRST_LOAN = 150_000
CONTESTED_LOANS = (15_000, 15_000)
PROCESS_RUNS = 25
# Liquidity-side accounts, as the liquidity selector reads them (fund-owned).
SAVINGS_SIDE = {
    AccountPurpose.LIQUIDITY_RESERVE,
    AccountPurpose.IMPARTIBLE_RESERVE,
    AccountPurpose.LOSS_PROVISION,
    AccountPurpose.INTEREST_INCOME,
    AccountPurpose.LOANS_RECEIVABLE,
    AccountPurpose.REMUNERATION_EXPENSE,
    AccountPurpose.GRANTS_EXPENSE,
}


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _require_postgres() -> None:
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )


def _run(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # surfaced by the assertion of the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return errors


def _pause(rng: random.Random, longest: float = 0.01) -> None:
    time.sleep(rng.random() * longest)


def _entry_effects(first_id: int) -> list[tuple[int, str, int, int]]:
    """(entry id, kind, change of the savings pool, change of the fund's cash) of each entry
    after `first_id`, in id order: the liquidity selector's formula applied to the postings."""
    effects: dict[int, list[int]] = {}
    kinds: dict[int, str] = {}
    postings = (
        Posting.objects.filter(entry_id__gt=first_id, account__currency=EUR)
        .values_list(
            "entry_id",
            "entry__kind",
            "account__purpose",
            "account__owner_type",
            "account__type",
            "side",
            "amount",
        )
        .order_by("entry_id", "id")
    )
    for entry_id, kind, purpose, owner_type, account_type, side, amount in postings:
        kinds[entry_id] = kind
        savings, cash = effects.setdefault(entry_id, [0, 0])
        grows = (side == Side.DEBIT) == (account_type in DEBIT_NORMAL)
        signed = amount if grows else -amount
        if purpose == AccountPurpose.MEMBER_SAVINGS and owner_type == OwnerType.MEMBER:
            savings += signed
            cash += signed
        elif owner_type == OwnerType.FUND and purpose in SAVINGS_SIDE:
            cash += -signed if account_type in DEBIT_NORMAL else signed
        effects[entry_id] = [savings, cash]
    return [(pk, kinds[pk], s, c) for pk, (s, c) in sorted(effects.items())]


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_keep_the_reserve_the_floor_and_the_queue(settings):
    _require_postgres()
    settings.FUND_LIQUIDITY_RATIO = RATIO
    settings.FUND_CAPITAL_FLOOR = FLOOR
    settings.FUND_REDEMPTION_NOTICE_DAYS = 1  # requests wait: only the workers process the queue
    settings.FUND_SAVINGS_MAX_PER_MEMBER = 0
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)

    savers = [member() for _ in range(SAVERS)]
    for saver in savers:
        subscribe(saver, SAVED)
        connect_payee(saver)
    approved_loan(FIRST_LOAN)  # 240 000 saved, 150 000 lent: cash 90 000
    contested = [proposed("loan", amount) for amount in CONTESTED_LOANS]
    treasurer = person("treasurer")
    start = liquidity_get(currency=EUR)
    assert (start.savings, start.cash, start.required) == (240_000, 90_000, 48_000)
    first_id = JournalEntry.objects.aggregate(last=Max("id"))["last"]
    # Each saver asks from two threads, small amounts first: 2 000 + 3 000 + (9 000 + 100 i)
    # and 2 500 + 3 500 + (10 000 + 100 i), 30 000 + 200 i in all: from the second saver on,
    # more than their 30 000, so a late request is refused. Far more is asked than the fund can
    # pay: 240 000 − 200 000 = 40 000 at most before the floor; less if the loans come first
    # (with both, cash 60 000 − x ≥ 20% × (240 000 − x) lets x reach 15 000 only).
    plans = {
        saver.pk: ([2_000, 3_000, 9_000 + 100 * i], [2_500, 3_500, 10_000 + 100 * i])
        for i, saver in enumerate(savers)
    }
    due = timezone.now() + dt.timedelta(days=2)

    ticket = itertools.count(1)  # orders what the threads saw happen
    committed: dict[int, int] = {}  # redemption id → ticket taken once its request returned
    refused: Counter[int] = Counter()
    # (ticket taken before the run, ticket taken after it, what it made payable)
    runs: list[tuple[int, int, list[int]]] = []
    cancelled: list[int] = []
    withdrawn_from: dict[int, int] = {}  # redemption id → ticket taken before its withdrawal
    samples: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def requester(saver: Any, amounts: list[int], rng: random.Random) -> Callable[[], None]:
        def work() -> None:
            for amount in amounts:
                _pause(rng, 0.4)  # requests trickle in while the queue is processed
                try:
                    redemption = redemption_request(user=saver, amount=amount)
                except RedemptionTooLargeError:
                    refused[saver.pk] += 1
                    continue
                committed[redemption.pk] = next(ticket)

        return work

    def processor(rng: random.Random) -> Callable[[], None]:
        def work() -> None:
            for _ in range(PROCESS_RUNS):
                _pause(rng, 0.15)
                before = next(ticket)
                made = redemptions_process(currency=EUR, now=due)
                runs.append((before, next(ticket), made))

        return work

    def lender() -> None:
        for loan in contested:
            _pause(rng, 0.5)
            with contextlib.suppress(LiquidityReserveError):  # the cash went to redemptions
                investment_approve(investment=loan, actor=treasurer)

    def withdrawer() -> None:
        """The saver at the head of the queue gives up, three times: the next may be paid."""
        while len(cancelled) < 3 and not stop.is_set():
            time.sleep(0.01)
            head = (
                Redemption.objects.filter(status="queued")
                .select_related("user")
                .order_by("requested_at", "id")
                .first()
            )
            if head is None:
                continue
            withdrawn_from[head.pk] = next(ticket)
            try:
                redemption_cancel(redemption=head, actor=head.user)
            except IllegalTransitionError:
                continue  # made payable meanwhile
            cancelled.append(head.pk)

    def monitor() -> None:
        while not stop.is_set():
            figures = liquidity_get(currency=EUR)
            samples.append((figures.savings, figures.cash, figures.required))

    workers: list[Callable[[], None]] = []
    for saver in savers:
        first, second = plans[saver.pk]
        workers.append(requester(saver, first, random.Random(rng.random())))
        workers.append(requester(saver, second, random.Random(rng.random())))
    workers += [processor(random.Random(rng.random())) for _ in range(4)]
    workers.append(lender)

    background_errors: list[BaseException] = []

    def background(work: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                work()
            except BaseException as exc:
                background_errors.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    watchers = [background(monitor), background(withdrawer)]
    errors = _run(workers)
    stop.set()
    for thread in watchers:
        thread.join(timeout=60)
    assert errors == [], f"seed {seed}"
    assert background_errors == [], f"seed {seed}"

    # A last run once everything is in: the queue goes as far as it can.
    before = next(ticket)
    made = redemptions_process(currency=EUR, now=due)
    runs.append((before, next(ticket), made))

    redemptions = {r.pk: r for r in Redemption.objects.all()}
    payable = {pk for pk, r in redemptions.items() if r.status == "payable"}
    waiting = [r for r in redemptions.values() if r.status in {"requested", "queued"}]
    key = {pk: (r.requested_at, pk) for pk, r in redemptions.items()}

    # Every request was answered: made, or refused because the saver's shares were asked for.
    assert sum(refused.values()) + len(redemptions) == 6 * SAVERS, f"seed {seed}"
    assert set(committed) == set(redemptions)
    assert set(cancelled) == {pk for pk, r in redemptions.items() if r.status == "cancelled"}
    for saver in savers:
        asked = sum(
            r.amount
            for r in redemptions.values()
            if r.user_id == saver.pk and r.status != "cancelled"
        )
        assert asked <= SAVED, f"seed {seed}"
        paid = sum(
            r.amount for r in redemptions.values() if r.user_id == saver.pk and r.pk in payable
        )
        assert savings_of(saver) == SAVED - paid

    # --- the reserve and the floor at every committed point (the ledger's history) ----------
    savings, cash = start.savings, start.cash
    lowering = 0
    for entry_id, kind, savings_change, cash_change in _entry_effects(first_id):
        savings += savings_change
        cash += cash_change
        if savings_change or cash_change:
            assert kind in {"savings_redemption", "loan_disbursement"}, (entry_id, kind)
            lowering += 1
        assert cash >= ceil_div(savings * RATIO, 10_000), (f"seed {seed}", entry_id, savings, cash)
        assert savings >= FLOOR, (f"seed {seed}", entry_id, savings)
    end = liquidity_get(currency=EUR)
    assert (savings, cash) == (end.savings, end.cash)
    assert lowering == len(payable) + sum(1 for loan in contested if _approved(loan))
    # ... and as the monitor saw it, live.
    assert samples, "the monitor took no sample"
    for sample_savings, sample_cash, sample_required in samples:
        assert sample_cash >= sample_required, (f"seed {seed}", sample_savings, sample_cash)
        assert sample_savings >= FLOOR, (f"seed {seed}", sample_savings)
    # The queue stops only where the rules stop it.
    if waiting:
        head = min(waiting, key=lambda r: key[r.pk])
        assert not end.can_pay_back(head.amount), f"seed {seed}"

    # --- made payable once each -------------------------------------------------------------
    entries = Counter(
        JournalEntry.objects.filter(kind="savings_redemption").values_list(
            "reference_id", flat=True
        )
    )
    assert set(entries) == payable, f"seed {seed}"
    assert set(entries.values()) <= {1}, f"seed {seed}"
    for pk in payable:
        redemption = redemptions[pk]
        assert redemption.entry is not None
        assert entry_amount(redemption.entry) == redemption.amount
    made = [pk for _before, _after, run in runs for pk in run]
    assert sorted(made) == sorted(payable), f"seed {seed}"
    assert len(made) == len(set(made)), f"seed {seed}"
    assert Counter(
        Disbursement.objects.filter(reference_type="redemption").values_list(
            "reference_id", flat=True
        )
    ) == Counter(payable)
    assert (
        balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform")
        == sum(redemptions[pk].amount for pk in payable)
        + sum(loan_amount for loan_amount in _approved_amounts(contested))
        + FIRST_LOAN
    )

    print(
        f"seed {seed}: {len(redemptions)} requests, {sum(refused.values())} refused, "
        f"{len(payable)} payable, {len(cancelled)} withdrawn, {len(waiting)} waiting, "
        f"{sum(1 for r in runs if r[2])} paying runs, {len(samples)} samples, "
        f"loans approved {len(_approved_amounts(contested))}"
    )

    # --- first come, first served ------------------------------------------------------------
    # The queue's order is (request time, id), the order the saver is shown. Strictly first come,
    # first served: a redemption is made payable only after every one ahead of it in that order
    # (runs hold the fund's liquidity lock one after another, so the entries' ids give the order
    # of payment), unless that one was withdrawn before the run that passed it ended.
    entry_of: dict[int, int] = {}
    for pk in payable:
        posted = redemptions[pk].entry_id
        assert posted is not None
        entry_of[pk] = posted
    run_end = {pk: after for _before, after, run in runs for pk in run}
    for _before, _after, run in runs:
        assert run == sorted(run, key=lambda pk: key[pk]), f"seed {seed}: a run out of order"
    for later in payable:
        for earlier in redemptions:
            if key[earlier] >= key[later]:
                continue
            if earlier in payable:
                assert entry_of[earlier] < entry_of[later], (
                    f"seed {seed}: {later} was paid before {earlier}, ahead of it"
                )
            else:
                waits = f"seed {seed}: {later} was paid while {earlier}, ahead of it, waits"
                assert earlier in cancelled, waits
                assert withdrawn_from[earlier] < run_end[later], waits


def entry_amount(entry: JournalEntry) -> int:
    return sum(p.amount for p in entry.postings.all() if p.side == Side.DEBIT)


def _approved(loan: Any) -> bool:
    loan.refresh_from_db()
    return loan.status == "approved"


def _approved_amounts(loans: list[Any]) -> list[int]:
    return [loan.amount for loan in loans if _approved(loan)]


@pytest.mark.django_db(transaction=True)
def test_racing_payouts_pay_each_redemption_once(settings):
    _require_postgres()
    settings.FUND_LIQUIDITY_RATIO = RATIO
    settings.FUND_CAPITAL_FLOOR = 0
    settings.FUND_REDEMPTION_NOTICE_DAYS = 0
    savers = [member() for _ in range(6)]
    for saver in savers:
        subscribe(saver, 10_000)
        connect_payee(saver)
    redemptions = [redemption_request(user=saver, amount=4_000) for saver in savers]
    for redemption in redemptions:
        redemption.refresh_from_db()
    # Notice 0: each request had the queue processed as it committed.
    assert {r.status for r in redemptions} == {"payable"}
    stripe_before = balance(AccountPurpose.STRIPE_CASH, owner_type="platform")
    treasurers = [person("treasurer"), person("treasurer")]

    def approve(redemption: Redemption, treasurer: Any) -> Callable[[], None]:
        def work() -> None:
            assert redemption.disbursement_id is not None
            disbursement = Disbursement.objects.select_related("payee").get(
                pk=redemption.disbursement_id
            )
            with contextlib.suppress(IllegalTransitionError):  # the other one was first
                disbursement_approve(disbursement=disbursement, actor=treasurer)

        return work

    def process() -> None:
        for _ in range(5):
            redemptions_process(currency=EUR)

    workers = [approve(r, t) for r in redemptions for t in treasurers] + [process, process]
    assert _run(workers) == []

    for redemption in redemptions:
        redemption.refresh_from_db()
        assert redemption.status == "paid"
        assert redemption.payout_attempts == 1
    entries = Counter(
        JournalEntry.objects.filter(kind="share_redemption").values_list("reference_id", flat=True)
    )
    assert entries == Counter({r.disbursement_id: 1 for r in redemptions})
    assert JournalEntry.objects.filter(kind="savings_redemption").count() == 6
    # 6 × 4 000 paid out once: the payouts account is empty, Stripe holds 24 000 less.
    assert balance(AccountPurpose.PAYOUTS_PAYABLE, owner_type="platform") == 0
    assert balance(AccountPurpose.STRIPE_CASH, owner_type="platform") == stripe_before - 24_000
    assert all(savings_of(saver) == 6_000 for saver in savers)
