"""Greedy by approval count and sequential Phragmén, the comparison rules of a funding round."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from fund.rules.election import ApprovalElection
from fund.rules.greedy import greedy_by_approvals
from fund.rules.pabulib import read_pabulib
from fund.rules.phragmen import sequential_phragmen
from tests.fixtures import require_module

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "pabulib"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def test_greedy_skips_what_does_not_fit_and_goes_on():
    # Approvals: A 3, B 2, C 2, D 1. Budget 10.
    # A (6) fits -> 6; B (5) does not fit; C (3) fits -> 9; D (1) fits -> 10.
    el = ApprovalElection(
        10,
        {"A": 6, "B": 5, "C": 3, "D": 1},
        [("A", "B"), ("A", "B", "C"), ("A", "C", "D")],
    )
    result = greedy_by_approvals(el)
    assert result.selected == ("A", "C", "D")
    assert result.skipped == ("B",)
    assert result.total_cost == 10


def test_greedy_ties_and_threshold():
    el = ApprovalElection(
        100, {"A": 30, "B": 20, "C": 20, "Z": 5}, [("A", "B", "C"), ("A", "B", "C")]
    )
    # Equal approvals: lowest cost first, then the published order.
    assert greedy_by_approvals(el, tie_order=["C", "B", "A", "Z"]).selected == ("C", "B", "A", "Z")
    assert greedy_by_approvals(el, tie_order=["B", "C", "A", "Z"]).selected == ("B", "C", "A", "Z")
    # A score threshold leaves out the project nobody approved.
    assert greedy_by_approvals(el, min_approvals=1).selected == ("B", "C", "A")


def test_phragmen_worked_example():
    # Voters: v1 {A, B}, v2 {A}, v3 {C}. Costs A 2, B 2, C 2; budget 5.
    # Times: A (2 + 0)/2 = 1, B 2/1 = 2, C 2/1 = 2. A at t=1: loads v1 = v2 = 1.
    # Then B: (2 + 1)/1 = 3, C: 2. C at t=2 (total 4). B would cost 6 > 5: stop at B.
    el = ApprovalElection(5, {"A": 2, "B": 2, "C": 2}, [("A", "B"), ("A",), ("C",)])
    result = sequential_phragmen(el)
    assert result.selected == ("A", "C")
    assert [p.time for p in result.purchases] == [Fraction(1), Fraction(2)]
    assert result.stopped_at == "B"
    assert result.total_cost == 4


def test_greedy_matches_the_official_lodz_winners():
    el = ApprovalElection.from_pabulib(read_pabulib(DATA_DIR / "Poland_Lodz_2022.pb"))
    pb = read_pabulib(DATA_DIR / "Poland_Lodz_2022.pb")
    result = greedy_by_approvals(el, tie_order=sorted(el.project_ids))
    assert sorted(result.selected) == sorted(pb.selected_ids())
    assert len(result.selected) == 16


@pytest.mark.parametrize(
    "file_name",
    [
        "Poland_Wieliczka_2023_Green_Budget.pb",
        "France_Toulouse_2024.pb",
        "Hungary_Budapest_2024.pb",
        "Poland_Lodz_2022.pb",
    ],
)
def test_greedy_matches_pabutools(file_name):
    golden = json.loads((GOLDEN_DIR / (Path(file_name).stem + ".json")).read_text("utf-8"))
    el = ApprovalElection.from_pabulib(read_pabulib(DATA_DIR / file_name))
    result = greedy_by_approvals(el, tie_order=sorted(el.project_ids))
    assert list(result.selected) == golden["greedy"]["selected"]
    assert result.total_cost == golden["greedy"]["total_cost"]


def test_phragmen_matches_pabutools_on_wieliczka():
    require_module("pabutools")
    from pabutools.election import parse_pabulib
    from pabutools.rules import sequential_phragmen as pabutools_phragmen
    from pabutools.tiebreaking import TieBreakingRule

    path = DATA_DIR / "Poland_Wieliczka_2023_Green_Budget.pb"
    el = ApprovalElection.from_pabulib(read_pabulib(path))
    instance, profile = parse_pabulib(str(path))
    profile = profile.as_multiprofile()
    approvals = dict(zip(el.project_ids, el.approvals, strict=True))
    tie = TieBreakingRule(lambda _i, _p, p: (p.cost, -approvals[p.name], p.name))
    expected = pabutools_phragmen(instance, profile, tie_breaking=tie)
    result = sequential_phragmen(el, tie_order=sorted(el.project_ids))
    # pabutools returns the projects sorted by name, not in purchase order.
    assert sorted(result.selected) == sorted(p.name for p in expected)
    assert len(result.selected) == 32
