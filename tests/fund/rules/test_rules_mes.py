"""Method of Equal Shares: worked examples, the official Wieliczka result, and pabutools.

pabutools' outcomes on the four Pabulib elections are recorded in ``golden/`` by
``golden/make_golden.py`` (its docstring says exactly how pabutools is configured); Wieliczka is
also compared live, since pabutools is quick there.
"""

from __future__ import annotations

import importlib.util
import json
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from fund.rules.election import ApprovalElection, tie_order_from_seed
from fund.rules.mes import (
    Add1Step,
    compare_with_greedy,
    effective_supports,
    equal_shares,
    equal_shares_add1,
)
from fund.rules.pabulib import read_pabulib
from tests.fixtures import require_module

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "pabulib"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
WIELICZKA = "Poland_Wieliczka_2023_Green_Budget.pb"
FILES = (
    WIELICZKA,
    "France_Toulouse_2024.pb",
    "Hungary_Budapest_2024.pb",
    "Poland_Lodz_2022.pb",
)


@cache
def election(file_name: str) -> ApprovalElection:
    return ApprovalElection.from_pabulib(read_pabulib(DATA_DIR / file_name))


@cache
def golden(file_name: str) -> dict:
    return json.loads((GOLDEN_DIR / (Path(file_name).stem + ".json")).read_text("utf-8"))


def pabutools_order(el: ApprovalElection) -> list[str]:
    # pabutools' last tie-break is the project id in string order.
    return sorted(el.project_ids)


# --- worked examples -----------------------------------------------------------------------------


def test_equal_budgets_buy_the_most_approved_project_first_at_an_equal_split():
    # 4 voters, budget 400, endowment 100 each.
    # A (cost 200) approved by v1..v4: each pays 50, rho = 50/200 = 1/4.
    # B (cost 150) approved by v1, v2: 75 each, rho = 1/2.
    # C (cost 100) approved by v3, v4: 50 each, rho = 1/2; tie with B broken by lower cost.
    # After A: everyone holds 50; B needs 75 each from 2 voters who hold 50: 100 < 150, unaffordable.
    # C needs 50 each from v3, v4 who hold 50: bought, rho = 1/2.
    el = ApprovalElection(
        400,
        {"A": 200, "B": 150, "C": 100},
        [("A", "B"), ("A", "B"), ("A", "C"), ("A", "C")],
    )
    result = equal_shares(el)
    assert result.selected == ("A", "C")
    assert result.endowment == Fraction(100)
    first, second = result.purchases
    assert (first.price, first.rho, first.effective_vote_count) == (50, Fraction(1, 4), 4)
    assert (first.full_payers, first.partial_payers, first.partial_paid) == (4, 0, 0)
    assert (second.price, second.rho, second.full_payers) == (50, Fraction(1, 2), 2)
    assert result.total_cost == 300


def test_supporters_who_cannot_pay_an_equal_share_pay_what_they_have_left():
    # Endowment 30 each, 3 voters. X (cost 60) and Z (cost 25) are approved by all three, so both
    # have rho 1/3; Z is cheaper and goes first at 25/3 each (65/3 left each). X then costs 20
    # each: bought. 5/3 left each, so Y (cost 25, by v1 and v2) is unaffordable.
    el = ApprovalElection(
        90, {"X": 60, "Y": 25, "Z": 25}, [("X", "Y", "Z"), ("X", "Y", "Z"), ("X", "Z")]
    )
    result = equal_shares(el)
    assert result.selected == ("Z", "X")
    assert [p.price for p in result.purchases] == [Fraction(25, 3), 20]
    # Unequal budgets: endowment 10, P (cost 12) by v1 (holds 10 after nothing) and v2...
    el2 = ApprovalElection(30, {"Q": 9, "P": 12}, [("Q", "P"), ("P",), ("Q",)])
    # Q: 4.5 each from v1, v3 (rho 1/2... eff 2); P: 6 each from v1, v2 (eff 2); tie at
    # rho 1/2: lower cost Q first. Then v1 holds 5.5, v2 holds 10: P needs 6 each; v1 pays 5.5,
    # v2 pays 6.5 -> price 6.5, one partial payer who paid 5.5.
    result2 = equal_shares(el2)
    assert result2.selected == ("Q", "P")
    purchase = result2.purchases[1]
    assert purchase.price == Fraction(13, 2)
    assert (purchase.full_payers, purchase.partial_payers) == (1, 1)
    assert purchase.partial_paid == Fraction(11, 2)
    assert purchase.full_payers * purchase.price + purchase.partial_paid == purchase.cost


def test_ties_lowest_cost_then_most_approvals_then_the_published_order():
    # Same rho (everyone pays the same share of the cost) for all three.
    # A: cost 100, 2 voters; B: cost 50, 1 voter; C: cost 50, 1 voter -> rho 1/2, 1, 1.
    # Make rho equal: A (cost 100) by 2 voters, B (cost 100) by 2 voters, C (cost 50) by 1... no:
    # rho is 1/approvals with equal budgets, so equal approvals give equal rho.
    el = ApprovalElection(
        1000,
        {"A": 100, "B": 60, "C": 60, "D": 60},
        [("A", "B", "C", "D"), ("A", "B", "C", "D")],
    )
    # All have rho 1/2. Lowest cost first: B, C, D tie at 60 with 2 approvals each -> order.
    result = equal_shares(el, endowment=500, tie_order=["A", "D", "C", "B"])
    assert result.selected == ("D", "C", "B", "A")
    result = equal_shares(el, endowment=500, tie_order=["C", "B", "D", "A"])
    assert result.selected == ("C", "B", "D", "A")
    # The published order comes last: cost and approvals first.
    keys = el.tie_keys(["D", "C", "B", "A"])
    assert sorted(el.project_ids, key=lambda p: keys[el.index[p]]) == ["D", "C", "B", "A"]
    el2 = ApprovalElection(10, {"P": 5, "Q": 5, "R": 4}, [("P", "Q", "R"), ("Q",)])
    keys2 = el2.tie_keys(["P", "Q", "R"])
    # R is cheapest; Q and P cost the same and Q has more approvals.
    assert sorted(el2.project_ids, key=lambda p: keys2[el2.index[p]]) == ["R", "Q", "P"]


def test_tie_order_from_seed_is_a_reproducible_permutation():
    ids = [str(k) for k in range(20)]
    first = tie_order_from_seed(ids, "draw 2026-05-01 #1234")
    assert sorted(first) == sorted(ids)
    assert first == tie_order_from_seed(reversed(ids), "draw 2026-05-01 #1234")
    assert first != tie_order_from_seed(ids, "draw 2026-05-01 #1235")


def test_add1_raises_the_endowment_without_stopping_early_and_keeps_the_last_within_budget():
    # Budget 10, 2 voters: floor(B/n) = 5.
    # A (cost 6) by v1 only: affordable from endowment 6. B (cost 4) by v2 only: from 4.
    # C (cost 3) by v1 only: at endowment 5, v1 can buy C (3) -> {B, C} = 7.
    # endowment 6: rho A = 1, C = 1/1... v1 buys cheaper-rho first: both rho 1 (single voter);
    # tie by lower cost: C (3) then A needs 6 with 3 left: no. B bought. {C, B} = 7.
    # endowment 9: C (3) then A (6) with 6 left: yes -> {C, A, B} = 13 > 10: stop, keep 8's.
    el = ApprovalElection(10, {"A": 6, "B": 4, "C": 3}, [("A", "C"), ("B",)])
    steps: list[Add1Step] = []
    result = equal_shares_add1(el, progress=steps.append)
    assert result.selected == ("C", "B")
    assert result.endowment == 8
    assert [s.endowment for s in steps] == [5, 6, 7, 8, 9]
    assert [s.within_budget for s in steps] == [True, True, True, True, False]
    assert result.add1_runs == 5
    assert result.add1_history == tuple(steps)
    assert [s.total_cost for s in steps] == [7, 7, 7, 7, 13]


def test_utilitarian_completion_adds_the_most_approved_projects_that_fit():
    el = ApprovalElection(
        10, {"A": 6, "B": 4, "C": 3, "D": 1}, [("A", "C", "D"), ("B", "D"), ("D",)]
    )
    plain = equal_shares_add1(el)
    completed = equal_shares_add1(el, utilitarian_completion=True)
    assert completed.selected[: len(plain.selected)] == plain.selected
    assert completed.total_cost <= 10
    assert completed.rule == "equalshares/add1u"
    leftover = 10 - completed.total_cost
    assert all(
        el.costs[el.index[p]] > leftover for p in el.project_ids if p not in completed.selected
    )


def test_comparison_keeps_greedy_only_when_strictly_more_voters_prefer_it():
    # 3 voters approve only X (cost 3), 1 voter approves Y and Z (cost 1 each); budget 3.
    el = ApprovalElection(3, {"X": 3, "Y": 1, "Z": 1}, [("X",), ("X",), ("X",), ("Y", "Z")])
    comparison = compare_with_greedy(el, ["Y", "Z"], kind="satisfaction")
    assert comparison.greedy_selected == ("X",)
    assert (comparison.prefer_mes, comparison.prefer_greedy, comparison.kept) == (1, 3, "greedy")
    kept = compare_with_greedy(el, ["X"], kind="exclusion")
    assert (kept.prefer_mes, kept.prefer_greedy, kept.kept) == (0, 0, "mes")


def test_float_mode_agrees_on_a_small_round():
    el = election(WIELICZKA)
    order = pabutools_order(el)
    exact = equal_shares(el, endowment=200, tie_order=order)
    approximate = equal_shares(el, endowment=200, tie_order=order, arithmetic="float")
    assert approximate.selected == exact.selected


# --- real elections ------------------------------------------------------------------------------


def test_wieliczka_add1_with_comparison_reproduces_the_official_result():
    pb = read_pabulib(DATA_DIR / WIELICZKA)
    assert pb.meta["rule"] == "equalshares/add1-comparison"
    el = ApprovalElection.from_pabulib(pb)
    for kind in ("satisfaction", "exclusion"):
        result = equal_shares_add1(el, comparison=kind, tie_order=pabutools_order(el))
        assert result.comparison is not None
        assert result.comparison.kept == "mes"
        assert sorted(result.selected) == sorted(pb.selected_ids())
        assert len(result.selected) == 30
        assert result.total_cost == 995_079
        assert result.endowment == 315
        assert result.add1_runs == 166  # endowments 151..316; 316 overspends


def test_wieliczka_effective_support():
    el = election(WIELICZKA)
    order = pabutools_order(el)
    result = equal_shares_add1(el, tie_order=order)
    supports = effective_supports(el, result.endowment, tie_order=order)
    bought = set(result.mes_selected)
    for project, support in supports.items():
        assert (support >= 1) == (project in bought) or support == 1
    # equalshares.net published 99% for project 16 ("was close to winning").
    assert int(supports["16"] * 100) == 99


@pytest.mark.parametrize("file_name", FILES)
def test_mes_without_completion_matches_pabutools(file_name):
    el = election(file_name)
    expected = golden(file_name)["mes"]
    result = equal_shares(el, tie_order=pabutools_order(el))
    assert result.endowment == Fraction(expected["endowment"])
    assert list(result.selected) == expected["selected"]
    assert result.total_cost == expected["total_cost"]


ADD1_FILES = [
    pytest.param(name, marks=pytest.mark.slow) if name == "France_Toulouse_2024.pb" else name
    for name in FILES
]


@pytest.mark.parametrize("file_name", ADD1_FILES)  # Toulouse: 672 MES runs, several seconds
def test_mes_add1_matches_pabutools(file_name):
    el = election(file_name)
    expected = golden(file_name)["mes_add1"]
    result = equal_shares_add1(el, tie_order=pabutools_order(el), step=expected.get("step", 1))
    assert list(result.selected) == expected["selected"]
    assert result.endowment == expected["final_endowment"]
    assert result.add1_runs == expected["runs"]
    assert result.total_cost == expected["total_cost"]


def test_lodz_figures_from_the_data_readme():
    el = election("Poland_Lodz_2022.pb")
    order = pabutools_order(el)
    plain = equal_shares(el, tie_order=order)
    assert len(plain.selected) == 29
    assert plain.total_cost * 1000 // el.budget == 488  # 48.9% of the budget
    completed = equal_shares_add1(el, tie_order=order)
    assert len(completed.selected) == 44
    assert completed.total_cost * 1000 // el.budget == 979  # 97.9%


@cache
def _make_golden_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_DIR / "make_golden.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wieliczka_live_against_pabutools():
    require_module("pabutools")
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    make_golden = _make_golden_module()
    instance, profile = parse_pabulib(str(DATA_DIR / WIELICZKA))
    profile = profile.as_multiprofile()
    tie = make_golden.pabutools_tie_breaking(instance, profile)
    el = election(WIELICZKA)
    order = pabutools_order(el)

    mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    assert list(equal_shares(el, tie_order=order).selected) == [p.name for p in mes]

    greedy = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    from fund.rules.greedy import greedy_by_approvals

    assert list(greedy_by_approvals(el, tie_order=order).selected) == [p.name for p in greedy]

    names, endowment, _runs = make_golden.pabutools_mes_add1(instance, profile, tie)
    ours = equal_shares_add1(el, tie_order=order)
    assert list(ours.selected) == names
    assert ours.endowment == endowment
