"""Matchfunding worked examples through the services and the pledge pipeline.

A rule is put to a resolution poll, adopted, and then each pledge goes the way of a real one: a
backer saves a card and pledges (all-or-nothing), the fund's sweep reserves the pledge's match in
the matching pool, the campaign closes at its deadline, the saved cards are charged, and the sweep
moves the match to the campaign's escrow (or releases it). Refunds take the match back. Every
step checks the entries posted and the matching pool: its balance (what the books hold) and what
is still available (the balance less the pending reservations).

The quadratic-funding round at the end goes through fund/services/qf.py: members give to the
round's campaigns, the round closes, and the matches are posted from the matching pool.

The sandbox's processing fee is set to zero here, so that the entries are the fund's alone.
"""

import datetime as dt
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from campaigns.models import Pledge
from campaigns.services import campaign_close, pledge_create, pledge_refund
from fund.models import MatchCommitment, QFMatch
from fund.selectors.matching import match_estimate
from fund.services.matching import (
    matching_pool_available,
    matching_sweep,
)
from fund.services.qf import qf_round_close, qf_round_create, qf_round_open
from ledger.enums import AccountPurpose
from ledger.selectors import trial_balance
from tests.campaigns.conftest import launched_campaign, past_deadline, saved_card

from .money_books import Books, entry
from .money_factories import EUR, balance, donate, member, person, rule_in_force, theme

pytestmark = pytest.mark.django_db

STRIPE = "platform:stripe_cash:EUR"
GRANTS = "fund:grants_pool:EUR"
MATCHING = "fund:matching_pool:EUR"


@pytest.fixture(autouse=True)
def _no_fees(settings: Any) -> None:
    settings.SANDBOX_FEE_PERCENT_BASIS_POINTS = 0
    settings.SANDBOX_FEE_FIXED = 0
    settings.CAMPAIGN_MIN_PLEDGE = 100
    settings.FUND_DONATION_MIN = 100


def escrow(campaign: Any) -> str:
    return f"campaign:{campaign.pk}:campaign_escrow:EUR"


def pool() -> tuple[int, int]:
    """The matching pool: (balance in the books, available for new matches)."""
    return balance(AccountPurpose.MATCHING_POOL), matching_pool_available(currency=EUR)


def fund_matching_pool(amount: int, books: Books) -> None:
    """A gift to the grants pool, moved by the treasurer to the matching pool."""
    import uuid

    from fund.services.pools import fund_pool_transfer

    donate(person(), amount)
    fund_pool_transfer(
        source="grants_pool",
        target="matching_pool",
        amount=amount,
        currency=EUR,
        actor=person("treasurer"),
        idempotency_key=uuid.uuid4().hex,
    )
    assert books.new_entries() == [
        entry("donation", (STRIPE, "debit", amount), (GRANTS, "credit", amount)),
        entry("transfer", (GRANTS, "debit", amount), (MATCHING, "credit", amount)),
    ]


def live_campaign(goal: int, *, on_theme: Any = None) -> Any:
    campaign = launched_campaign(lead=person("lead"), goal=goal)
    if on_theme is not None:
        campaign.project.theme = on_theme
        campaign.project.save(update_fields=["theme"])
    return campaign


def pledge(backer: Any, campaign: Any, amount: int) -> Pledge:
    """A pledge with a saved card (committed, all-or-nothing), as the pledge form makes it."""
    card = saved_card(backer)
    return pledge_create(backer=backer, campaign=campaign, amount=amount, payment_method_id=card.pk)


def match_of(pledge_: Pledge) -> tuple[int, str, str, int]:
    commitment = MatchCommitment.objects.get(pledge=pledge_)
    return commitment.amount, commitment.limited_by, commitment.status, commitment.reversed_amount


def close(campaign: Any) -> Any:
    """The deadline passes: the campaign closes and its saved cards are charged (in process)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return campaign_close(campaign=campaign, now=past_deadline(campaign))


def charged(campaign: Any, *amounts: int) -> list[Any]:
    return [
        entry("pledge_charge", (STRIPE, "debit", amount), (escrow(campaign), "credit", amount))
        for amount in amounts
    ]


def matched(campaign: Any, *amounts: int) -> list[Any]:
    return [
        entry("match", (MATCHING, "debit", amount), (escrow(campaign), "credit", amount))
        for amount in amounts
    ]


# --- the caps ------------------------------------------------------------------------------------


def test_the_cap_per_contribution():
    books = Books()
    fund_matching_pool(20_000, books)
    rule_in_force(factor=10_000, contribution_cap=3_000)  # 1:1, at most 30 € per contribution
    campaign = live_campaign(10_000)
    big, small = person(), person()
    # The pledge form's estimate, before pledging: 5 000 × 1 = 5 000, capped at 3 000.
    estimate = match_estimate(campaign=campaign, amount=5_000, user=big)
    assert (estimate.match, estimate.uncapped, estimate.limited_by) == (
        3_000,
        5_000,
        "contribution_cap",
    )
    assert "capped" in estimate.explanation

    first = pledge(big, campaign, 5_000)
    second = pledge(small, campaign, 2_000)
    assert matching_sweep() == {"reserved": 2, "synced": 0}
    assert match_of(first) == (3_000, "contribution_cap", "pending", 0)
    assert match_of(second) == (2_000, "factor", "pending", 0)  # 2 000 × 1, under the cap
    assert books.new_entries() == []  # reserved, not moved
    assert pool() == (20_000, 15_000)  # 20 000 − 3 000 − 2 000 available

    # Pledged 7 000 + matched 5 000 = 12 000 ≥ the goal of 10 000: it succeeds.
    assert close(campaign).status == "succeeded"
    assert books.new_entries() == charged(campaign, 5_000, 2_000)
    assert pool() == (20_000, 15_000)  # still only reserved
    matching_sweep()
    assert books.new_entries() == matched(campaign, 3_000, 2_000)
    assert match_of(first)[2] == match_of(second)[2] == "committed"
    assert pool() == (15_000, 15_000)
    assert (
        balance(AccountPurpose.CAMPAIGN_ESCROW, owner_type="campaign", owner_id=campaign.pk)
        == 12_000
    )


def test_the_cap_per_member_per_campaign():
    books = Books()
    fund_matching_pool(20_000, books)
    # 50 cents per euro, at most 20 € for one member in one campaign.
    rule_in_force(factor=5_000, member_campaign_cap=2_000)
    campaign, other_campaign = live_campaign(5_000), live_campaign(5_000)
    ana, ben = person(), person()
    pledges = [
        pledge(ana, campaign, 3_000),  # 3 000 × ½ = 1 500; 2 000 left under the cap → 1 500
        pledge(ana, campaign, 2_000),  # 1 000, but only 2 000 − 1 500 = 500 left → 500
        pledge(ana, campaign, 1_000),  # 500, nothing left → 0
        pledge(ben, campaign, 3_000),  # another member: 1 500
        pledge(ana, other_campaign, 3_000),  # another campaign: 1 500
    ]
    matching_sweep()
    assert [match_of(p)[:2] for p in pledges] == [
        (1_500, "factor"),
        (500, "member_cap"),
        (0, "member_cap"),
        (1_500, "factor"),
        (1_500, "factor"),
    ]
    # Reserved 1 500 + 500 + 0 + 1 500 + 1 500 = 5 000.
    assert pool() == (20_000, 15_000)
    assert books.new_entries() == []

    # 9 000 pledged + 3 500 matched ≥ 5 000: succeeds. The zero match posts nothing.
    assert close(campaign).status == "succeeded"
    assert books.new_entries() == charged(campaign, 3_000, 2_000, 1_000, 3_000)
    matching_sweep()
    assert books.new_entries() == matched(campaign, 1_500, 500, 1_500)
    assert [match_of(p)[2] for p in pledges] == [
        "committed",
        "committed",
        "committed",
        "committed",
        "pending",  # the other campaign is still live
    ]
    assert pool() == (16_500, 15_000)  # 20 000 − 3 500 moved; 1 500 still reserved


def test_the_cap_per_campaign():
    books = Books()
    fund_matching_pool(20_000, books)
    rule_in_force(factor=10_000, campaign_cap=5_000)  # 1:1, at most 50 € per campaign
    campaign = live_campaign(10_000)
    pledges = [
        pledge(person(), campaign, 2_000),  # 2 000; 5 000 − 2 000 = 3 000 left
        pledge(person(), campaign, 2_500),  # 2 500; 500 left
        pledge(person(), campaign, 1_500),  # 1 500, cut to 500
        pledge(person(), campaign, 1_000),  # nothing left: 0
    ]
    matching_sweep()
    assert [match_of(p)[:2] for p in pledges] == [
        (2_000, "factor"),
        (2_500, "factor"),
        (500, "campaign_cap"),
        (0, "campaign_cap"),
    ]
    assert pool() == (20_000, 15_000)
    # The form says so to the next backer.
    estimate = match_estimate(campaign=campaign, amount=1_000, user=person())
    assert (estimate.match, estimate.limited_by, estimate.bounds["campaign_cap"]) == (
        0,
        "campaign_cap",
        0,
    )

    # 7 000 pledged + 5 000 matched ≥ 10 000.
    assert close(campaign).status == "succeeded"
    assert books.new_entries() == charged(campaign, 2_000, 2_500, 1_500, 1_000)
    matching_sweep()
    assert books.new_entries() == matched(campaign, 2_000, 2_500, 500)
    assert pool() == (15_000, 15_000)
    assert (
        balance(AccountPurpose.CAMPAIGN_ESCROW, owner_type="campaign", owner_id=campaign.pk)
        == 12_000
    )


def test_a_campaign_outside_the_rules_themes_gets_no_match():
    books = Books()
    fund_matching_pool(10_000, books)
    digital, health = theme("inclusion-numerique"), theme("sante")
    rule_in_force(factor=10_000, themes=[digital])
    inside, outside = live_campaign(1_000, on_theme=digital), live_campaign(1_000, on_theme=health)
    backer = person()
    estimate = match_estimate(campaign=outside, amount=2_000, user=backer)
    assert (estimate.match, estimate.limited_by) == (0, "theme_not_eligible")
    matched_pledge = pledge(backer, inside, 2_000)
    unmatched_pledge = pledge(backer, outside, 2_000)
    assert matching_sweep() == {"reserved": 1, "synced": 0}
    assert match_of(matched_pledge)[:2] == (2_000, "factor")
    assert not MatchCommitment.objects.filter(pledge=unmatched_pledge).exists()
    assert pool() == (10_000, 8_000)

    assert close(outside).status == "succeeded"
    assert books.new_entries() == charged(outside, 2_000)
    matching_sweep()
    assert books.new_entries() == []  # nothing for the campaign outside the themes
    assert close(inside).status == "succeeded"
    matching_sweep()
    assert books.new_entries() == charged(inside, 2_000) + matched(inside, 2_000)
    assert pool() == (8_000, 8_000)


# --- the pool --------------------------------------------------------------------------------


def test_when_the_pool_runs_out_the_last_match_is_cut_then_matching_stops():
    books = Books()
    fund_matching_pool(5_000, books)
    rule_in_force(factor=10_000)
    campaign = live_campaign(5_000)
    pledges = [
        pledge(person(), campaign, 2_000),  # 2 000; 3 000 left in the pool
        pledge(person(), campaign, 2_000),  # 2 000; 1 000 left
        pledge(person(), campaign, 2_000),  # cut to the 1 000 left
        pledge(person(), campaign, 1_000),  # the pool is spent: 0
    ]
    matching_sweep()
    assert [match_of(p)[:2] for p in pledges] == [
        (2_000, "factor"),
        (2_000, "factor"),
        (1_000, "pool"),
        (0, "pool"),
    ]
    assert pool() == (5_000, 0)
    estimate = match_estimate(campaign=campaign, amount=1_000, user=person())
    assert (estimate.match, estimate.limited_by) == (0, "pool")

    assert close(campaign).status == "succeeded"
    matching_sweep()
    assert books.new_entries() == charged(campaign, 2_000, 2_000, 2_000, 1_000) + matched(
        campaign, 2_000, 2_000, 1_000
    )
    assert pool() == (0, 0)
    assert (
        balance(AccountPurpose.CAMPAIGN_ESCROW, owner_type="campaign", owner_id=campaign.pk)
        == 12_000
    )


def test_a_failed_campaign_gives_its_reserved_match_back_to_the_pool():
    books = Books()
    fund_matching_pool(10_000, books)
    rule_in_force(factor=5_000)
    campaign = live_campaign(50_000)
    pledges = [pledge(person(), campaign, 4_000), pledge(person(), campaign, 6_000)]
    matching_sweep()
    assert [match_of(p)[0] for p in pledges] == [2_000, 3_000]  # half of each
    assert pool() == (10_000, 5_000)

    # 10 000 pledged + 5 000 matched < 50 000: it fails; nothing is charged, nothing moves.
    assert close(campaign).status == "failed"
    assert pool() == (10_000, 5_000)  # reserved until the sweep follows it
    assert matching_sweep() == {"reserved": 0, "synced": 2}
    assert [match_of(p)[2] for p in pledges] == ["released", "released"]
    assert {p.status for p in Pledge.objects.filter(campaign=campaign)} == {"released"}
    assert books.new_entries() == []
    assert pool() == (10_000, 10_000)
    # The released 5 000 serves the next campaign: a 20 000 pledge gets all 10 000 at ½.
    next_campaign = live_campaign(5_000)
    next_pledge = pledge(person(), next_campaign, 20_000)
    matching_sweep()
    assert match_of(next_pledge)[:2] == (10_000, "factor")
    assert pool() == (10_000, 0)


# --- refunds ---------------------------------------------------------------------------------


def test_the_match_moves_only_on_success_and_refunds_take_it_back():
    books = Books()
    fund_matching_pool(20_000, books)
    rule_in_force(factor=10_000, contribution_cap=4_000)
    campaign = live_campaign(20_000)
    treasurer = person("treasurer")
    first = pledge(person(), campaign, 4_000)  # match 4 000
    second = pledge(person(), campaign, 3_000)  # match 3 000
    third = pledge(person(), campaign, 5_000)  # match 4 000 (the cap)
    matching_sweep()
    assert [match_of(p)[:2] for p in (first, second, third)] == [
        (4_000, "factor"),
        (3_000, "factor"),
        (4_000, "contribution_cap"),
    ]
    # While the campaign is live the match is only reserved.
    assert books.new_entries() == []
    assert pool() == (20_000, 9_000)

    # 12 000 pledged + 11 000 matched ≥ 20 000. Charged, then the matches move.
    assert close(campaign).status == "succeeded"
    assert books.new_entries() == charged(campaign, 4_000, 3_000, 5_000)
    matching_sweep()
    assert books.new_entries() == matched(campaign, 4_000, 3_000, 4_000)
    assert pool() == (9_000, 9_000)
    assert books.balances()[escrow(campaign)] == 23_000  # 12 000 + 11 000
    second_match = MatchCommitment.objects.get(pledge=second).entry
    assert second_match is not None

    # The second pledge is refunded in full: its whole match goes back to the pool.
    pledge_refund(pledge=second, actor=treasurer, reason_key="full", amount=None)
    second.refresh_from_db()
    assert second.status == "refunded"
    assert books.new_entries() == [
        entry("refund", (escrow(campaign), "debit", 3_000), (STRIPE, "credit", 3_000))
    ]
    assert matching_sweep() == {"reserved": 0, "synced": 1}
    reversal = books.new_entries()
    assert reversal == [
        entry("reversal", (escrow(campaign), "debit", 3_000), (MATCHING, "credit", 3_000))
    ]
    assert MatchCommitment.objects.get(pledge=second).status == "reversed"
    assert match_of(second) == (3_000, "factor", "reversed", 3_000)
    from ledger.models import JournalEntry

    assert JournalEntry.objects.filter(kind="reversal").get().reverses_id == second_match.pk
    assert pool() == (12_000, 12_000)  # 9 000 + 3 000
    assert books.balances()[escrow(campaign)] == 17_000  # 23 000 − 3 000 − 3 000

    # The third pledge (5 000, matched 4 000) is refunded 1 234: it keeps 3 766, and its match
    # keeps 4 000 × 3 766 / 5 000 = 3 012.8, rounded down to 3 012 (in the pool's favour):
    # 4 000 − 3 012 = 988 goes back.
    pledge_refund(pledge=third, actor=treasurer, reason_key="part-1", amount=1_234)
    third.refresh_from_db()
    assert (third.status, third.refunded_amount) == ("partially_refunded", 1_234)
    matching_sweep()
    assert books.new_entries() == [
        entry("refund", (escrow(campaign), "debit", 1_234), (STRIPE, "credit", 1_234)),
        entry("reversal", (escrow(campaign), "debit", 988), (MATCHING, "credit", 988)),
    ]
    assert match_of(third) == (4_000, "contribution_cap", "committed", 988)
    assert pool() == (12_988, 12_988)
    assert books.balances()[escrow(campaign)] == 14_778  # 17 000 − 1 234 − 988
    assert matching_sweep() == {"reserved": 0, "synced": 0}  # once only
    assert books.new_entries() == []

    # The rest of it (3 766) is refunded: the match keeps nothing, the last 3 012 goes back.
    pledge_refund(pledge=third, actor=treasurer, reason_key="part-2", amount=3_766)
    matching_sweep()
    assert books.new_entries() == [
        entry("refund", (escrow(campaign), "debit", 3_766), (STRIPE, "credit", 3_766)),
        entry("reversal", (escrow(campaign), "debit", 3_012), (MATCHING, "credit", 3_012)),
    ]
    assert match_of(third) == (4_000, "contribution_cap", "reversed", 4_000)
    # The pool has everything back but the first pledge's 4 000; the escrow holds that pledge
    # and its match: 14 778 − 3 766 − 3 012 = 8 000 = 4 000 + 4 000.
    assert pool() == (16_000, 16_000)
    assert books.balances()[escrow(campaign)] == 8_000
    assert trial_balance() == {EUR: 0}


# --- a quadratic-funding round ---------------------------------------------------------------


def test_a_quadratic_funding_round_pairwise_bounded_saturated_and_capped():
    """Contributions in cents (perfect squares keep the square roots exact):

        P: m1 900, m2 400, m3 100      Q: m1 400, m2 100      R: m3 2 500, m4 100

    Square roots of the products, per project:
        P: m1·m2 √360 000 = 600, m1·m3 √90 000 = 300, m2·m3 √40 000 = 200
        Q: m1·m2 √40 000 = 200         R: m3·m4 √250 000 = 500
    Coordination totals: P12 = 600 + 200 = 800, P13 = 300, P23 = 200, P34 = 500.
    With M′ = 400, k = M′ / (M′ + P): k12 = 400/1 200 = 1/3, k13 = 400/700 = 4/7,
    k23 = 400/600 = 2/3, k34 = 400/900 = 4/9.
    Raw matches (2 × the sum over pairs):
        P = 2 (600/3 + 300·4/7 + 200·2/3) = 2 (200 + 1 200/7 + 400/3) = 21 200/21 ≈ 1 009.52
        Q = 2 (200/3) = 400/3 ≈ 133.33
        R = 2 (500·4/9) = 4 000/9 ≈ 444.44
        total = (63 600 + 8 400 + 28 000)/63 = 100 000/63 ≈ 1 587.30
    The pool is 1 000: saturated, scale 1 000 / (100 000/63) = 63/100:
        P 21 200/21 · 63/100 = 636, Q 400/3 · 63/100 = 84, R 4 000/9 · 63/100 = 280.
    The cap per project is 500: P takes 500; its overflow 136 goes to Q and R in proportion to
    their raw matches, 400/3 : 4 000/9 = 3 : 10, i.e. the 500 left shared by 45/52:
        Q = 84 + 136 · 3/13 = 1 500/13 ≈ 115.38 → 115, R = 280 + 136 · 10/13 = 5 000/13 ≈ 384.62
        → 384 (under their own raw matches, so no further capping).
    Paid 500 + 115 + 384 = 999; 1 cent stays in the pool.
    """
    books = Books()
    fund_matching_pool(1_500, books)  # 500 more than the round needs
    m1, m2, m3, m4 = member(), member(), member(), member()
    p, q, r = live_campaign(10_000), live_campaign(10_000), live_campaign(10_000)
    now = timezone.now()
    qf_round = qf_round_create(
        title="Inclusion numérique",
        currency=EUR,
        pool_amount=1_000,
        campaigns=[p, q, r],
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(hours=1),
        coordination_bound=400,
        project_cap=500,
    )
    qf_round_open(qf_round=qf_round)
    assert pool() == (1_500, 500)  # the round's 1 000 is reserved
    contributions = [
        (m1, p, 900),
        (m2, p, 400),
        (m3, p, 100),
        (m1, q, 400),
        (m2, q, 100),
        (m3, r, 2_500),
        (m4, r, 100),
    ]
    for giver, campaign, amount in contributions:
        donate(giver, amount, campaign=campaign, qf_round=qf_round)
    assert books.new_entries() == [
        entry("donation", (STRIPE, "debit", amount), (escrow(campaign), "credit", amount))
        for _giver, campaign, amount in contributions
    ]

    qf_round = qf_round_close(qf_round=qf_round, now=qf_round.closes_at)
    assert books.new_entries() == [
        entry("match", (MATCHING, "debit", 500), (escrow(p), "credit", 500)),
        entry("match", (MATCHING, "debit", 115), (escrow(q), "credit", 115)),
        entry("match", (MATCHING, "debit", 384), (escrow(r), "credit", 384)),
    ]
    assert list(
        QFMatch.objects.filter(qf_round=qf_round)
        .order_by("campaign_id")
        .values_list("campaign_id", "contributors", "contributed", "raw_match", "amount", "capped")
    ) == [
        (p.pk, 3, 1_400, "21200/21", 500, True),
        (q.pk, 2, 500, "400/3", 115, False),
        (r.pk, 2, 2_600, "4000/9", 384, False),
    ]
    result = qf_round.result
    assert result is not None
    assert (
        result["saturated"],
        result["scale"],
        result["distributed"],
        result["left_in_pool"],
    ) == (
        True,
        "63/100",
        999,
        1,
    )
    # 1 500 − 999 = 501 left, all of it available again once the round is closed.
    assert pool() == (501, 501)
    balances = books.balances()
    assert (balances[escrow(p)], balances[escrow(q)], balances[escrow(r)]) == (
        1_400 + 500,
        500 + 115,
        2_600 + 384,
    )
    assert trial_balance() == {EUR: 0}


def test_a_rule_its_members_did_not_adopt_is_rejected_and_never_in_force():
    from fund.money_exceptions import PollNotAdoptedError
    from fund.services.governance import poll_close, poll_publish
    from fund.services.matching import (
        matching_rule_adopt,
        matching_rule_for,
        matching_rule_propose,
    )
    from fund.tasks import fund_poll_advance

    from .factories import open_poll, vote

    # Through the clock: the beat task closes and publishes the poll, which said no.
    voters = [member(), member()]
    poll = open_poll(title="Match pledges two for one")
    rule = matching_rule_propose(title="Two for one", poll=poll, factor=20_000)
    vote(poll, voters[0], {"choice": "no"})
    vote(poll, voters[1], {"choice": "abstain"})
    assert fund_poll_advance(poll.pk) == "published"
    rule.refresh_from_db()
    assert rule.status == "rejected"
    assert matching_rule_for(currency=EUR, at=timezone.now()) is None
    with pytest.raises(PollNotAdoptedError):
        matching_rule_adopt(poll=rule.poll)
    rule.refresh_from_db()
    assert rule.status == "rejected"

    # Published by hand, then a fund manager tries to adopt it: refused, and rejected too.
    voter = member()
    poll = open_poll(title="Match pledges one for one")
    other = matching_rule_propose(title="One for one", poll=poll, factor=10_000)
    vote(poll, voter, {"choice": "no"})
    poll_publish(poll=poll_close(poll=poll, now=poll.closes_at))
    other.refresh_from_db()
    assert other.status == "proposed"  # the poll's publication alone does not touch it
    with pytest.raises(PollNotAdoptedError):
        matching_rule_adopt(poll=poll)
    other.refresh_from_db()
    assert other.status == "rejected"

    # An adopted rule is untouched by the same sweep.
    adopted = rule_in_force(title="Half", factor=5_000)
    assert fund_poll_advance(adopted.poll_id) == "published"
    adopted.refresh_from_db()
    assert adopted.status == "active"
