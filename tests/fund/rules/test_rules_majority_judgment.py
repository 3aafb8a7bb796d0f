"""Majority judgment: each tie-break level on a worked example, and pref_voting as an oracle."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fund.rules.majority_judgment import (
    histograms_from_grades,
    majority_judgment,
    majority_value_difference,
    tally_option,
)
from tests.fixtures import require_module


def test_the_lower_median_decides():
    # A: grades 1, 2, 2 -> median 2. B: 0, 1, 2 -> median 1.
    result = majority_judgment({"A": [0, 1, 2], "B": [1, 1, 1]})
    assert result.ranking == (("A",), ("B",))
    assert result.decisions[0].level == "median"
    # Even number of grades: 0, 0, 2, 2 -> the lower of the two middle grades, 0.
    assert tally_option("C", [2, 0, 2]).median == 0


def test_the_gauge_decides_between_equal_medians():
    # A: 1, 1, 2, 2, 3 -> median 2, p = 1/5 above, q = 2/5 below -> gauge -2/5.
    # B: 0, 2, 2, 3, 3 -> median 2, p = 2/5, q = 1/5 -> gauge +2/5.
    result = majority_judgment({"A": [0, 2, 2, 1], "B": [1, 0, 2, 2]})
    a, b = result.tallies["A"], result.tallies["B"]
    assert (a.median, a.p, a.q, a.gauge) == (2, Fraction(1, 5), Fraction(2, 5), Fraction(-2, 5))
    assert (b.median, b.p, b.q, b.gauge) == (2, Fraction(2, 5), Fraction(1, 5), Fraction(2, 5))
    assert (a.gauge_label, b.gauge_label) == ("2-", "2+")
    assert result.ranking == (("B",), ("A",))
    assert result.decisions[0].level == "gauge"


def test_gauge_uses_minus_q_when_p_equals_q():
    # 0, 1, 2: median 1, p = q = 1/3 -> -1/3.
    assert tally_option("X", [1, 1, 1]).gauge == Fraction(-1, 3)
    # All grades equal: p = q = 0 -> gauge 0, below any +p and above any -q.
    flat = majority_judgment({"flat": [0, 3, 0], "up": [0, 2, 1], "down": [1, 2, 0]})
    assert flat.ranking == (("up",), ("flat",), ("down",))


def test_the_majority_value_decides_when_medians_and_gauges_tie():
    # A: 0, 2, 2, 4, 4 -> median 2, p = 2/5, q = 1/5, gauge +2/5.
    # B: 1, 2, 2, 3, 3 -> median 2, p = 2/5, q = 1/5, gauge +2/5: tied so far.
    # Removing one median grade at a time:
    #   A: 2 | 0,2,4,4 -> 2 | 0,4,4 -> 4 | 0,4 -> 0 | 4    => 2, 2, 4, 0, 4
    #   B: 2 | 1,2,3,3 -> 2 | 1,3,3 -> 3 | 1,3 -> 1 | 3    => 2, 2, 3, 1, 3
    # First difference at step 3: 4 against 3, so A is ranked above B.
    histograms = {"B": [0, 1, 2, 2, 0], "A": [1, 0, 2, 0, 2]}
    result = majority_judgment(histograms)
    assert result.tallies["A"].gauge == result.tallies["B"].gauge == Fraction(2, 5)
    assert result.ranking == (("A",), ("B",))
    decision = result.decisions[0]
    assert (decision.better, decision.worse, decision.level) == ("A", "B", "majority value")
    assert (decision.step, decision.better_grade, decision.worse_grade) == (3, 4, 3)


def test_a_true_tie_only_for_equal_majority_values():
    result = majority_judgment({"A": [1, 2, 3], "B": [1, 2, 3], "C": [3, 2, 1]})
    assert result.ranking == (("A", "B"), ("C",))
    assert result.decisions[0].level == "tie"
    assert result.winners == ("A", "B")


def test_histograms_from_grades_counts_blanks_as_the_lowest_grade():
    grades = np.array([[0, 2], [1, -1], [1, 2]])
    assert histograms_from_grades(grades, ["x", "y"], 3) == {"x": (1, 2, 0), "y": (1, 0, 2)}
    with pytest.raises(ValueError, match="same number"):
        majority_judgment({"x": [1, 1], "y": [1, 2]})


def _majority_value(histogram: list[int]) -> list[int]:
    grades = sorted(g for g, count in enumerate(histogram) for _ in range(count))
    sequence = []
    while grades:
        sequence.append(grades.pop((len(grades) + 1) // 2 - 1))
    return sequence


@st.composite
def histogram_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    num_grades = draw(st.integers(1, 6))
    total = draw(st.integers(1, 40))

    def histogram() -> list[int]:
        cuts = sorted(
            draw(st.lists(st.integers(0, total), min_size=num_grades - 1, max_size=num_grades - 1))
        )
        bounds = [0, *cuts, total]
        return [bounds[k + 1] - bounds[k] for k in range(num_grades)]

    return histogram(), histogram()


@settings(max_examples=400, deadline=None)
@given(histogram_pairs())
def test_run_length_majority_value_equals_removing_medians_one_by_one(pair):
    first, second = pair
    seq_a, seq_b = _majority_value(first), _majority_value(second)
    expected = next(
        ((k + 1, a, b) for k, (a, b) in enumerate(zip(seq_a, seq_b, strict=True)) if a != b),
        None,
    )
    assert (
        majority_value_difference(tally_option("a", first), tally_option("b", second)) == expected
    )


@st.composite
def grade_profiles(draw: st.DrawFn) -> list[list[int]]:
    num_options = draw(st.integers(2, 5))
    ballots = draw(st.integers(1, 25))
    top = draw(st.integers(1, 4))
    return [[draw(st.integers(0, top)) for _ in range(num_options)] for _ in range(ballots)]


@settings(max_examples=200, deadline=None)
@given(grade_profiles())
def test_agrees_with_pref_voting(ballots):
    """pref_voting ranks by lower median, then the same gauge (+p if p > q, else -q), and returns
    every option tied at that level; it has no majority-value level. So its winner set is the
    set of options tied with ours at (median, gauge), and our winners are among them."""
    require_module("pref_voting")
    from pref_voting.grade_methods import majority_judgement
    from pref_voting.grade_profiles import GradeProfile

    num_options = len(ballots[0])
    grades = list(range(5))
    profile = GradeProfile(
        [dict(enumerate(ballot)) for ballot in ballots], grades, candidates=list(range(num_options))
    )
    expected = set(majority_judgement(profile))
    matrix = np.array(ballots)
    result = majority_judgment(
        histograms_from_grades(matrix, [str(c) for c in range(num_options)], 5)
    )
    best = result.tallies[result.winners[0]]
    at_gauge_level = {
        int(option)
        for option, tally in result.tallies.items()
        if (tally.median, tally.gauge) == (best.median, best.gauge)
    }
    assert at_gauge_level == expected
    assert {int(w) for w in result.winners} <= expected
    if len(expected) == 1:
        assert {int(w) for w in result.winners} == expected
