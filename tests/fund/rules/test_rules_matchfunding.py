"""Matchfunding: capped linear matching and the pairwise-bounded quadratic-funding round."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fund.rules.linear_match import factor_from_basis_points, linear_match
from fund.rules.quadratic import quadratic_round

# Contributions in cents. Perfect squares keep the square roots exact in the hand computation.
#   A: alice 400, bob 100, carol 900     B: alice 100, bob 400     C: carol 100, dave 100
# Square roots of products, per project:
#   A: alice-bob 200, alice-carol 600, bob-carol 300;  B: alice-bob 200;  C: carol-dave 100
# Coordination totals P: alice-bob 400, alice-carol 600, bob-carol 300, carol-dave 100.
# With M' = 200: k = 200/600 = 1/3, 200/800 = 1/4, 200/500 = 2/5, 200/300 = 2/3.
# Raw matches (2 x the sum over unordered pairs):
#   A = 2 (200/3 + 600/4 + 300*2/5) = 2020/3 = 673.33...
#   B = 2 (200/3) = 400/3 = 133.33...
#   C = 2 (100*2/3) = 400/3 = 133.33...        total 940
CONTRIBUTIONS = [
    ("alice", "A", 400),
    ("bob", "A", 100),
    ("carol", "A", 900),
    ("alice", "B", 100),
    ("bob", "B", 400),
    ("carol", "C", 100),
    ("dave", "C", 100),
]


def matches(result):
    return {p: m.match for p, m in result.projects.items()}


def test_quadratic_unsaturated_pool_pays_the_raw_matches_rounded_down():
    result = quadratic_round(CONTRIBUTIONS, pool=1000, coordination_bound=200)
    assert {p: m.raw_match for p, m in result.projects.items()} == {
        "A": Fraction(2020, 3),
        "B": Fraction(400, 3),
        "C": Fraction(400, 3),
    }
    assert not result.saturated
    assert matches(result) == {"A": 673, "B": 133, "C": 133}
    assert (result.distributed, result.left_in_pool) == (939, 61)
    assert result.projects["A"].contributors == 3
    assert result.projects["A"].contributed == 1400


def test_quadratic_without_bound_is_plain_quadratic_funding():
    # A: (20 + 10 + 30)^2 - (400 + 100 + 900) = 3600 - 1400 = 2200.
    result = quadratic_round(CONTRIBUTIONS, pool=10**6, coordination_bound=None)
    assert result.projects["A"].raw_match == 2200
    assert result.projects["C"].raw_match == 200


def test_quadratic_saturated_pool_is_scaled_down():
    # Pool 470 = half the raw total: A 1010/3 -> 336, B and C 200/3 -> 66; 2 cents stay.
    result = quadratic_round(CONTRIBUTIONS, pool=470, coordination_bound=200)
    assert result.saturated
    assert result.scale == Fraction(1, 2)
    assert matches(result) == {"A": 336, "B": 66, "C": 66}
    assert (result.distributed, result.left_in_pool) == (468, 2)


def test_quadratic_cap_redistributes_the_overflow_proportionally():
    # Pool 470, cap 250. Scaled, A would get 336.67 > 250: A takes 250, leaving 220 for B and C
    # in proportion to their raw matches (equal): 110 each, under their own raw 133.33.
    result = quadratic_round(CONTRIBUTIONS, pool=470, coordination_bound=200, project_cap=250)
    assert matches(result) == {"A": 250, "B": 110, "C": 110}
    assert result.projects["A"].capped
    assert not result.projects["B"].capped
    assert (result.distributed, result.left_in_pool) == (470, 0)
    # Unsaturated: a capped project's overflow goes back to the pool, nobody exceeds its raw match.
    roomy = quadratic_round(CONTRIBUTIONS, pool=1000, coordination_bound=200, project_cap=250)
    assert matches(roomy) == {"A": 250, "B": 133, "C": 133}
    assert roomy.left_in_pool == 484


def test_quadratic_irrational_roots_are_rounded_in_the_pools_favour():
    # sqrt(100 * 200) = 141.4213562... cents, bounded below at a millionth of a cent.
    result = quadratic_round(
        [("x", "P", 100), ("y", "P", 200)], pool=10**6, coordination_bound=None
    )
    assert result.projects["P"].raw_match == Fraction(2 * 141_421_356, 10**6)
    assert result.projects["P"].match == 282
    # A single contributor, or a member funding alone, earns no match.
    alone = quadratic_round([("x", "P", 100), ("x", "P", 50)], pool=100, coordination_bound=10)
    assert alone.projects["P"].match == 0
    assert alone.projects["P"].contributed == 150


contribution_lists = st.lists(
    st.tuples(
        st.sampled_from(["m1", "m2", "m3", "m4", "m5"]),
        st.sampled_from(["P", "Q", "R"]),
        st.integers(0, 100_000),
    ),
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@given(
    contribution_lists,
    st.integers(0, 500_000),
    st.one_of(st.none(), st.integers(1, 100_000)),
    st.one_of(st.none(), st.integers(0, 200_000)),
)
def test_quadratic_never_pays_more_than_the_pool_or_the_caps(contributions, pool, bound, cap):
    result = quadratic_round(contributions, pool=pool, coordination_bound=bound, project_cap=cap)
    assert 0 <= result.distributed <= pool
    for project in result.projects.values():
        assert 0 <= project.match <= project.raw_match
        if cap is not None:
            assert project.match <= cap


def match(**overrides):
    arguments = {
        "amount": 5000,
        "factor": factor_from_basis_points(10_000),
        "contribution_cap": None,
        "member_remaining": None,
        "campaign_remaining": None,
        "pool_remaining": 1_000_000,
    }
    return linear_match(**{**arguments, **overrides})


def test_linear_match_each_bound():
    assert (match().match, match().limited_by) == (5000, "factor")
    assert (match(contribution_cap=2000).match, match(contribution_cap=2000).limited_by) == (
        2000,
        "contribution_cap",
    )
    member = match(contribution_cap=2000, member_remaining=1500)
    assert (member.match, member.limited_by) == (1500, "member_cap")
    campaign = match(contribution_cap=2000, member_remaining=1500, campaign_remaining=1000)
    assert (campaign.match, campaign.limited_by) == (1000, "campaign_cap")
    pool = match(
        contribution_cap=2000, member_remaining=1500, campaign_remaining=1000, pool_remaining=700
    )
    assert (pool.match, pool.limited_by) == (700, "pool")
    assert pool.bounds == {
        "factor": 5000,
        "contribution_cap": 2000,
        "member_cap": 1500,
        "campaign_cap": 1000,
        "pool": 700,
    }


def test_linear_match_pool_exhausted_and_caps_already_used():
    exhausted = match(pool_remaining=0)
    assert (exhausted.match, exhausted.limited_by) == (0, "pool")
    over = match(member_remaining=-300)  # more was matched than the cap now allows
    assert (over.match, over.limited_by) == (0, "member_cap")


def test_linear_match_rounds_down_and_ties_name_the_factor():
    third = match(amount=1000, factor=Fraction(1, 3))
    assert (third.uncapped, third.match) == (333, 333)
    half = match(amount=999, factor=factor_from_basis_points(5000))
    assert half.match == 499
    equal = match(amount=2000, contribution_cap=2000)
    assert equal.limited_by == "factor"  # the cap is reached exactly, nothing was cut
    with pytest.raises(ValueError):
        match(amount=-1)
    with pytest.raises(ValueError):
        factor_from_basis_points(-5)
