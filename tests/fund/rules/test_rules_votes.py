"""Approval tallies and yes/no/abstain resolutions."""

from __future__ import annotations

from fractions import Fraction

import pytest

from fund.rules.approval import approval_tally, approval_tally_from_counts
from fund.rules.resolution import resolution_tally


def test_approval_tally_ranks_with_ties():
    result = approval_tally([["a", "b"], ["b"], ["c", "b", "b"], []], ["a", "b", "c"])
    assert result.num_ballots == 4
    assert result.approvals == {"a": 1, "b": 3, "c": 1}
    assert result.ranking == (("b",), ("a", "c"))
    assert result.winners == ("b",)
    with pytest.raises(ValueError, match="unknown option"):
        approval_tally([["z"]], ["a"])
    with pytest.raises(ValueError):
        approval_tally_from_counts({"a": 3}, 2)


def tally(**kwargs):
    defaults = {"quorum": Fraction(1, 4), "threshold": Fraction(1, 2)}
    return resolution_tally(**{**defaults, **kwargs})


def test_simple_majority_with_quorum():
    result = tally(yes=6, no=4, abstain=2, electorate=40)
    assert result.turnout == Fraction(12, 40)
    assert result.quorum_reached
    assert result.yes_share == Fraction(6, 10)
    assert result.adopted


def test_quorum_boundary_counts_abstentions():
    # 10 of 40 cast (exactly the quorum of 1/4), most of them abstentions.
    at_quorum = tally(yes=2, no=1, abstain=7, electorate=40)
    assert at_quorum.quorum_reached
    assert at_quorum.adopted
    below = tally(yes=2, no=1, abstain=6, electorate=40)
    assert not below.quorum_reached
    assert not below.adopted
    assert below.yes_share == Fraction(2, 3)


def test_threshold_strict_and_inclusive():
    # A 50/50 split is not "more than half".
    assert not tally(yes=5, no=5, abstain=0, electorate=10).adopted
    two_thirds = Fraction(2, 3)
    exactly = {"yes": 10, "no": 5, "abstain": 0, "electorate": 15, "threshold": two_thirds}
    assert not tally(**exactly).adopted
    assert tally(**exactly, threshold_inclusive=True).adopted
    assert not tally(
        yes=9, no=5, abstain=0, electorate=15, threshold=two_thirds, threshold_inclusive=True
    ).adopted


def test_no_yes_and_no_votes_adopts_nothing():
    result = tally(yes=0, no=0, abstain=30, electorate=40)
    assert result.quorum_reached
    assert result.yes_share is None
    assert not result.adopted
    zero_quorum = tally(yes=1, no=0, abstain=0, electorate=1000, quorum=Fraction(0))
    assert zero_quorum.quorum_reached
    assert zero_quorum.adopted


@pytest.mark.parametrize(
    "kwargs",
    [
        {"yes": -1, "no": 0, "abstain": 0, "electorate": 5},
        {"yes": 3, "no": 3, "abstain": 0, "electorate": 5},
        {"yes": 0, "no": 0, "abstain": 0, "electorate": 0},
        {"yes": 1, "no": 0, "abstain": 0, "electorate": 5, "quorum": Fraction(3, 2)},
    ],
)
def test_refuses_impossible_counts(kwargs):
    with pytest.raises(ValueError):
        tally(**kwargs)
