"""The demo's money: the whole `seed_demo` run (every seeder, through the services and the
sandbox), then the books and the fund's pages checked against it."""

import datetime as dt
import io
import random
import re
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from fund.models import (
    Donation,
    DonationReceipt,
    FundYear,
    Investment,
    MatchCommitment,
    Redemption,
    Remuneration,
    Round,
    SavingsAccount,
)
from fund.money_demo import MATCHING_RULE, THIRD_PLACE_LOAN, seed_money
from fund.selectors.matching import matching_rule_in_force
from ledger.enums import AccountPurpose, EntryKind, OwnerType, Side
from ledger.models import Account, JournalEntry, Posting
from ledger.selectors import trial_balance
from ledger.services import ledger_balances_verify
from members.enums import Role
from members.models import RoleGrant, User

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def balance(purpose: str, owner_type: str = OwnerType.FUND) -> int:
    total = Account.objects.filter(
        purpose=purpose, owner_type=owner_type, currency="EUR"
    ).aggregate(total=Sum("balance"))["total"]
    return int(total or 0)


def posted(kind: str, purpose: str, side: str, owner_type: str = OwnerType.FUND) -> int:
    total = Posting.objects.filter(
        entry__kind=kind, account__purpose=purpose, account__owner_type=owner_type, side=side
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def figure(html: str, name: str) -> int:
    match = re.search(rf'<data class="figure-{name}" value="(-?\d+)"', html)
    assert match is not None, name
    return int(match.group(1))


def test_the_demo_fund_has_every_money_story_with_balanced_books(client):
    out = io.StringIO()
    call_command("seed_demo", "--people", "24", verbosity=0, stdout=out)
    assert "Fund:" in out.getvalue()
    assert "balances verified" in out.getvalue()
    today = timezone.localdate()
    last_year = today.year - 1

    # The books: every entry balances, every account is the sum of its postings, and the trial
    # balance is zero.
    sides: dict[int, dict[str, int]] = defaultdict(lambda: {Side.DEBIT: 0, Side.CREDIT: 0})
    for entry_id, side, amount in Posting.objects.values_list("entry_id", "side", "amount"):
        sides[entry_id][side] += amount
    assert sides
    assert all(s[Side.DEBIT] == s[Side.CREDIT] for s in sides.values())
    assert trial_balance() == {"EUR": 0}
    assert ledger_balances_verify().is_clean

    # Savers: subscriptions paid through the sandbox, and their interest-share choices.
    savings = balance(AccountPurpose.MEMBER_SAVINGS, OwnerType.MEMBER)
    subscribed = posted(
        EntryKind.SAVINGS_SUBSCRIPTION, AccountPurpose.MEMBER_SAVINGS, Side.CREDIT, OwnerType.MEMBER
    )
    remunerated = posted(
        EntryKind.SAVINGS_REMUNERATION, AccountPurpose.MEMBER_SAVINGS, Side.CREDIT, OwnerType.MEMBER
    )
    paid_back = posted(
        EntryKind.SAVINGS_REDEMPTION, AccountPurpose.MEMBER_SAVINGS, Side.DEBIT, OwnerType.MEMBER
    )
    assert savings == subscribed + remunerated - paid_back > 0
    accounts = SavingsAccount.objects.all()
    assert accounts.count() >= 15
    assert len(set(accounts.values_list("interest_share", flat=True))) >= 3

    # Donations: each one received has its receipt, for its amount; last year's and this year's.
    received = Donation.objects.filter(status="succeeded")
    assert received.count() >= 20
    assert received.filter(campaign__isnull=False).exists()
    for donation in received:
        assert (donation.receipt.amount, donation.receipt.kind) == (donation.amount, "donation")
    assert {last_year, today.year} <= set(DonationReceipt.objects.values_list("year", flat=True))
    to_pool = received.filter(campaign__isnull=True).aggregate(total=Sum("amount"))["total"]
    assert posted(EntryKind.DONATION, AccountPurpose.GRANTS_POOL, Side.CREDIT) == to_pool

    # Last year is closed: the surplus came from the loan's interest, at least 57.5% of it is
    # in the impartible reserve, and the shared interest went to the grants pool with receipts.
    year = FundYear.objects.get(year=last_year)
    assert year.income > 0
    assert year.remuneration > 0
    assert year.income == year.remuneration + year.loss_provision + year.impartible_reserve
    assert year.impartible_reserve * 1000 >= year.income * 575
    assert balance(AccountPurpose.IMPARTIBLE_RESERVE) == year.impartible_reserve
    remunerations = Remuneration.objects.filter(year=last_year)
    assert remunerations.aggregate(total=Sum("amount"))["total"] == year.remuneration
    assert remunerations.aggregate(total=Sum("shared"))["total"] == year.shared_interest > 0
    assert (
        DonationReceipt.objects.filter(kind="shared_interest").aggregate(total=Sum("amount"))[
            "total"
        ]
        == year.shared_interest
    )

    # The loan being repaid: one repayment per installment due so far, interest in the result.
    loan = Investment.objects.get(title=THIRD_PLACE_LOAN)
    due = loan.schedule.filter(due_date__lte=today)
    assert loan.status == "repaying"
    assert loan.repayments.count() == due.count() > 0
    assert loan.principal_repaid == sum(i.principal for i in due)
    assert 0 < loan.outstanding < loan.amount
    assert not loan.schedule.filter(due_date__gt=today, principal_paid__gt=0).exists()

    # The governance round is funded: each winner has its grant or loan, paid where the pools
    # allowed it, the rest proposed.
    round = Round.objects.get(status="published")
    winners = round.projects.filter(is_selected=True)
    assert winners.exists()
    assert not winners.filter(investment_id__isnull=True).exists()
    funded = Investment.objects.filter(round_project__round=round)
    assert funded.count() == winners.count()
    assert funded.filter(kind="grant", status="disbursed").exists()
    granted = funded.filter(kind="grant", status="disbursed").aggregate(total=Sum("amount"))
    assert posted(EntryKind.GRANT, AccountPurpose.GRANTS_POOL, Side.DEBIT) == granted["total"]

    # A matching rule the members adopted, and matches of the pledges made since.
    rule = matching_rule_in_force(currency="EUR")
    assert rule is not None
    assert rule.title == MATCHING_RULE
    assert rule.poll is not None
    assert rule.poll.result is not None
    assert rule.poll.result["outcome"] == "adopted"
    matches = MatchCommitment.objects.filter(rule=rule)
    assert matches.filter(status="pending").exists()
    assert matches.filter(status="committed").exists()
    committed = matches.filter(status="committed").aggregate(total=Sum("amount"))["total"]
    assert posted(EntryKind.MATCH, AccountPurpose.MATCHING_POOL, Side.DEBIT) == committed > 0

    # Redemptions: last year's paid after its notice, the demo member's waiting for it.
    assert Redemption.objects.filter(status="paid", paid_at__year=last_year).count() == 1
    waiting = Redemption.objects.get(status="requested")
    assert waiting.user.email == "demo@demo.biencommun.example"
    assert waiting.notice_ends_at > timezone.now()

    # The dashboard shows it, non-zero and as the books say.
    html = client.get("/fund/").content.decode()
    assert figure(html, "savings") == savings
    assert figure(html, "lent") == balance(AccountPurpose.LOANS_RECEIVABLE) > 0
    assert figure(html, "grants-pool") == balance(AccountPurpose.GRANTS_POOL) > 0
    assert figure(html, "liquidity") > 0
    assert html.count('class="link"') >= 10  # the money-flow chart's bands
    assert f'<th scope="row">{last_year}</th>' in html  # the closed year
    assert THIRD_PLACE_LOAN in html
    assert MATCHING_RULE in html

    # Seeding again adds nothing: the command says so, and the money seeder alone too.
    entries = JournalEntry.objects.count()
    out = io.StringIO()
    call_command("seed_demo", verbosity=0, stdout=out)
    assert "Demo data is already there." in out.getvalue()
    staff = {
        g.role: g.user for g in RoleGrant.objects.filter(role__in=[Role.TREASURER, Role.MODERATOR])
    }
    seed_money(
        context={
            "rng": random.Random(1),
            "staff": staff,
            "demo": User.objects.get(email="demo@demo.biencommun.example"),
        }
    )
    assert JournalEntry.objects.count() == entries
    assert FundYear.objects.count() == 1
    assert timezone.now() - waiting.requested_at >= dt.timedelta(days=10)
