"""Funding rounds through the services: a hand-checked allocation, the real Wieliczka 2023
election, ballots, whole currency units, the tie-breaking draw and the winners hook."""

from pathlib import Path

import pytest
from django.utils import timezone

from common.errors import IllegalTransitionError
from fund.enums import RoundComparison, RoundSource, RoundStatus
from fund.exceptions import (
    InvalidBallotError,
    InvestmentAlreadyLinkedError,
    NotInElectorateError,
    RoundError,
    RoundNotEditableError,
    VotingClosedError,
    WholeUnitsError,
)
from fund.models import Round, RoundBallot, RoundElector, RoundProject
from fund.round_allocation import allocate
from fund.rules import parse_pabulib, read_pabulib, tie_order_from_seed
from fund.selectors.rounds import round_winners_list
from fund.services.rounds import (
    round_close,
    round_create,
    round_export_pabulib,
    round_import_pabulib,
    round_open,
    round_project_add,
    round_project_investment_link,
    round_publish,
)

from .factories import HOUR, approve, funded_round, make_round, member, open_round

pytestmark = pytest.mark.django_db

WIELICZKA = (
    Path(__file__).resolve().parents[3]
    / "shared/data/pabulib/Poland_Wieliczka_2023_Green_Budget.pb"
)

# Worked by hand. Budget 100 EUR, five voters.
#   project 1 costs 80, approved by voters 1, 2, 3
#   project 2 costs 30, approved by voters 4, 5
#   project 3 costs 20, approved by voter 4
# MES starts with floor(100/5) = 20 each. Project 1 is out of reach (3 × 20 < 80); project 2
# costs its supporters 15 each (rho 1/2), project 3 would cost 20 (rho 1): project 2 is bought,
# voter 4 keeps 5, too little for project 3. Add1 raises the endowment by 1 EUR: up to 26 the
# outcome stays {2} (3 × 26 = 78 < 80); at 27 project 1 becomes affordable at rho 1/3, both are
# bought, 110 > 100, so Add1 stops and keeps 26: 8 runs (20 … 27).
# Effective support at 26: project 2, run without it: project 3 is bought first at rho 1, where
# voters 4 and 5 could pay up to 30 each, so 26 + 26 = 52 of 30: 26/15. Project 1: at the first
# purchase (rho 1/2) its supporters could pay 40 each but hold 26: 78/80 = 39/40. Project 3: voter
# 4 could pay 10 at rho 1/2, and holds 11 at the end: 11/20.
# Greedy: project 1 (3 approvals), then 2 does not fit (110), 3 does (100): {1, 3}.
# Phragmén: project 2 at time 30/2 = 15, then project 1 at 80/3 no longer fits: stops, {2}.
PROJECTS = [("Digital literacy bus", 8000), ("Repair café", 3000), ("Open maps", 2000)]
BALLOTS = [["1"], ["1"], ["1"], ["2", "3"], ["2"]]


def _hand_checked_round(**kwargs):
    voters = [member() for _ in range(5)]
    return funded_round(
        list(zip(voters, BALLOTS, strict=True)), projects=PROJECTS, budget=10_000, **kwargs
    )


def test_hand_checked_allocation():
    round = _hand_checked_round()
    result = round.result
    assert result["rule"] == "equalshares/add1"
    assert (result["budget"], result["num_voters"]) == (100, 5)
    assert result["initial_endowment"] == 20
    assert result["endowment"] == "26"
    assert result["add1_runs"] == 8
    assert result["selected"] == ["2"]
    assert result["total_cost"] == 30
    assert result["purchases"] == [
        {
            "project": "2",
            "cost": 30,
            "approvals": 2,
            "price": "15",
            "rho": "1/2",
            "effective_vote_count": "2",
            "full_payers": 2,
            "partial_payers": 0,
            "partial_paid": "0",
        }
    ]
    assert result["effective_support"] == {"1": "39/40", "2": "26/15", "3": "11/20"}
    assert result["approvals"] == {"1": 3, "2": 2, "3": 1}
    assert result["greedy"] == {"selected": ["1", "3"], "total_cost": 100}
    assert result["phragmen"] == {"selected": ["2"], "total_cost": 30, "stopped_at": "1"}
    assert result["comparison"] is None
    projects = {p.code: p for p in RoundProject.objects.filter(round=round)}
    assert [(p.approvals, p.is_selected, p.selection_rank) for p in projects.values()] == [
        (3, False, None),
        (2, True, 1),
        (1, False, None),
    ]
    assert projects["2"].effective_support == "26/15"


def test_hand_checked_completion_and_comparison_keep_greedy():
    # Utilitarian completion adds project 3 to {2} (project 1 no longer fits): {2, 3}. Against
    # greedy's {1, 3}: voters 1-3 prefer greedy (1 funded project to 0), voters 4 and 5 prefer
    # {2, 3}: 3 to 2, so greedy's outcome is kept.
    round = _hand_checked_round(
        utilitarian_completion=True, comparison=RoundComparison.SATISFACTION
    )
    result = round.result
    assert result["rule"] == "equalshares/add1u-comparison"
    assert result["mes_selected"] == ["2"]
    assert result["completion"] == ["3"]
    assert result["comparison"] == {
        "kind": "satisfaction",
        "prefer_mes": 2,
        "prefer_greedy": 3,
        "kept": "greedy",
        "greedy_selected": ["1", "3"],
    }
    assert result["selected"] == ["1", "3"]
    assert result["total_cost"] == 100
    assert [p.code for p in round_winners_list(round=round)] == ["1", "3"]


def test_the_published_file_reproduces_the_result():
    round = _hand_checked_round()
    election = parse_pabulib(round.pb_file)
    assert election.meta["budget"] == "100"
    assert election.meta["currency"] == "EUR"
    assert election.meta["tie_breaking_seed"] == round.tie_seed
    assert election.meta["tie_breaking_order"] == ",".join(round.tie_order)
    assert [(p.project_id, p.cost, p.extra["selected"]) for p in election.projects] == [
        ("1", 80, "0"),
        ("2", 30, "1"),
        ("3", 20, "0"),
    ]
    assert sorted(v.approved for v in election.votes) == sorted(tuple(b) for b in BALLOTS)
    assert [v.voter_id for v in election.votes] == ["1", "2", "3", "4", "5"]
    assert allocate(election) == round.result
    assert RoundBallot.objects.filter(round=round).count() == 0
    assert round.voter_secret is None


def test_the_tie_breaking_order_is_drawn_at_opening():
    member()
    round = open_round(projects=PROJECTS, budget=10_000)
    assert len(round.tie_seed) == 32
    assert round.tie_order == tie_order_from_seed(["1", "2", "3"], round.tie_seed)
    assert sorted(round.tie_order) == ["1", "2", "3"]


def test_wieliczka_2023_imported_and_closed_gives_the_official_30_projects():
    election = read_pabulib(WIELICZKA)
    start = timezone.now() - 3 * HOUR
    round = round_import_pabulib(election=election, opens_at=start, closes_at=start + 2 * HOUR)
    assert round.source == RoundSource.PABULIB
    assert (round.currency, round.budget) == ("PLN", 100_000_000)  # 1,000,000 PLN in grosze
    assert round.comparison == RoundComparison.SATISFACTION  # from "equalshares/add1-comparison"
    assert RoundBallot.objects.filter(round=round).count() == 6586
    round = round_open(round=round, now=start)
    assert round.electorate_size == 6586
    round = round_close(round=round)

    official = sorted(election.selected_ids())
    assert len(official) == 30
    assert sorted(round.result["selected"]) == official
    assert round.result["total_cost"] == 995_079
    assert round.result["endowment"] == "315"
    assert round.result["initial_endowment"] == 151
    assert round.result["comparison"]["kept"] == "mes"
    assert round.ballots_cast == 6586
    selected = RoundProject.objects.filter(round=round, is_selected=True)
    assert sorted(selected.values_list("code", flat=True)) == official
    assert sum(selected.values_list("cost", flat=True)) == 99_507_900
    assert allocate(parse_pabulib(round.pb_file)) == round.result


def test_approval_ballots_respect_the_limits_and_write_nothing_otherwise():
    voter = member()
    round = open_round(projects=PROJECTS, budget=10_000, min_approvals=2, max_approvals=2)
    for approved in (["1"], ["1", "2", "3"], ["1", "1"], ["9", "1"], [], "12", [1, 2]):
        with pytest.raises(InvalidBallotError):
            approve(round, voter, approved)
    assert RoundBallot.objects.count() == 0
    assert RoundElector.objects.get(user=voter).has_voted is False
    approve(round, voter, ["3", "1"])
    approve(round, voter, ["2", "3"])
    assert list(RoundBallot.objects.values_list("approved", flat=True)) == [["2", "3"]]


def test_only_the_electorate_votes_and_only_while_open():
    member()
    round = open_round(projects=PROJECTS, budget=10_000)
    newcomer = member()
    with pytest.raises(NotInElectorateError):
        approve(round, newcomer, ["1"])
    draft = make_round(projects=PROJECTS, budget=10_000)
    with pytest.raises(VotingClosedError):
        approve(draft, newcomer, ["1"])
    assert RoundBallot.objects.count() == 0


def test_members_do_not_vote_in_an_imported_round():
    member_user = member()
    election = read_pabulib(WIELICZKA)
    election.votes = election.votes[:10]
    start = timezone.now() - 3 * HOUR
    round = round_import_pabulib(election=election, opens_at=start, closes_at=start + 2 * HOUR)
    round = round_open(round=round, now=start)
    with pytest.raises(NotInElectorateError):
        approve(round, member_user, ["24"])
    assert RoundBallot.objects.filter(round=round).count() == 10


def test_budgets_and_costs_are_whole_currency_units():
    with pytest.raises(WholeUnitsError):
        make_round(budget=10_050)
    round = make_round(budget=10_000)
    with pytest.raises(WholeUnitsError):
        round_project_add(round=round, name="Cents", cost=1_999)
    yen = make_round(budget=5_000, currency="JPY")
    assert round_project_add(round=yen, name="Yen", cost=1_999).cost == 1_999
    assert Round.objects.count() == 2
    assert RoundProject.objects.filter(round=round).count() == 0


def test_projects_are_fixed_once_voting_opens():
    member()
    round = open_round(projects=PROJECTS, budget=10_000)
    with pytest.raises(RoundNotEditableError):
        round_project_add(round=round, name="Late", cost=1_000)
    assert RoundProject.objects.filter(round=round).count() == 3


def test_round_state_machine_refuses_illegal_moves():
    member()
    draft = make_round(projects=PROJECTS, budget=10_000)
    for move in (round_close, round_publish):
        with pytest.raises(IllegalTransitionError):
            move(round=draft)
    empty = make_round(budget=10_000, start=timezone.now() - HOUR)
    with pytest.raises(RoundError):
        round_open(round=empty, now=empty.opens_at)
    draft.refresh_from_db()
    empty.refresh_from_db()
    assert (draft.status, empty.status) == (RoundStatus.DRAFT, RoundStatus.DRAFT)
    assert (draft.tie_seed, empty.tie_seed) == ("", "")


def test_invalid_round_settings_are_refused():
    start = timezone.now()
    with pytest.raises(RoundError):
        round_create(
            actor=None, title="x", currency="EUR", budget=100, opens_at=start, closes_at=start
        )
    with pytest.raises(RoundError):
        round_create(
            actor=None,
            title="x",
            currency="EUR",
            budget=100,
            opens_at=start,
            closes_at=start + HOUR,
            min_approvals=3,
            max_approvals=2,
        )
    assert Round.objects.count() == 0


def test_winners_are_handed_over_once_the_round_is_published():
    round = _hand_checked_round()
    winners = round_winners_list(round=round)
    assert [(w.code, w.kind, w.cost) for w in winners] == [("2", "grant", 3000)]
    linked = round_project_investment_link(project=winners[0], investment_id=42)
    assert linked.investment_id == 42
    with pytest.raises(InvestmentAlreadyLinkedError):
        round_project_investment_link(project=winners[0], investment_id=43)
    loser = RoundProject.objects.get(round=round, code="1")
    with pytest.raises(RoundError):
        round_project_investment_link(project=loser, investment_id=44)
    loser.refresh_from_db()
    assert loser.investment_id is None


def test_no_winners_before_publication():
    voters = [member() for _ in range(5)]
    round = open_round(projects=PROJECTS, budget=10_000)
    for voter, ballot in zip(voters, BALLOTS, strict=True):
        approve(round, voter, ballot)
    round = round_close(round=round)
    assert round.status == RoundStatus.CLOSED
    assert round_winners_list(round=round) == []
    assert [p.code for p in round_winners_list(round=round_publish(round=round))] == ["2"]


def test_export_before_close_has_the_projects_but_no_votes():
    voters = [member() for _ in range(2)]
    round = open_round(projects=PROJECTS, budget=10_000)
    approve(round, voters[0], ["1"])
    election = parse_pabulib(round_export_pabulib(round=round))
    assert [p.project_id for p in election.projects] == ["1", "2", "3"]
    assert election.votes == []
