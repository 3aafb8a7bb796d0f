"""Governance polls through the services: electorate snapshot, changing ballots, counting,
quorum and threshold, majority-judgment tie-breaking end to end, and refused moves."""

import json
from datetime import timedelta
from fractions import Fraction

import pytest
from django.utils import timezone

from common.errors import IllegalTransitionError
from fund.enums import PollMethod, PollStatus
from fund.exceptions import (
    EmptyElectorateError,
    InvalidBallotError,
    NotInElectorateError,
    StillRunningError,
    VotingClosedError,
    WindowOverError,
)
from fund.models import Poll, PollBallot, PollElector, PollEvent
from fund.poll_tally import ballot_file_loads, poll_tally, sha256_hex
from fund.services.governance import (
    poll_ballot_submit,
    poll_cancel,
    poll_close,
    poll_open,
    poll_publish,
)
from members.enums import MembershipStatus
from members.models import Membership
from members.services import membership_end
from tests.factories import UserFactory

from .factories import HOUR, decided_poll, make_poll, member, open_poll, vote

pytestmark = pytest.mark.django_db


def test_opening_freezes_the_electorate():
    voters = [member() for _ in range(3)]
    UserFactory()  # a supporter without a share
    inactive = member(is_active=False)
    ended = member()
    membership_end(membership=Membership.objects.get(user=ended))

    poll = open_poll()

    assert poll.status == PollStatus.OPEN
    assert poll.electorate_size == 3
    assert set(PollElector.objects.filter(poll=poll).values_list("user_id", flat=True)) == {
        v.pk for v in voters
    }
    assert inactive.pk not in PollElector.objects.values_list("user_id", flat=True)
    assert len(poll.voter_secret) == 64


def test_a_member_who_joins_after_opening_cannot_vote():
    member()
    poll = open_poll()
    newcomer = member()

    with pytest.raises(NotInElectorateError):
        vote(poll, newcomer, {"choice": "yes"})

    assert PollBallot.objects.count() == 0
    assert not PollElector.objects.filter(user=newcomer).exists()


def test_a_member_who_leaves_after_opening_keeps_their_vote():
    leaver, stayer = member(), member()
    poll = open_poll()
    membership_end(membership=Membership.objects.get(user=leaver, status=MembershipStatus.ACTIVE))

    vote(poll, leaver, {"choice": "yes"})
    vote(poll, stayer, {"choice": "no"})
    poll = poll_close(poll=poll)

    assert poll.result["counts"] == {"yes": 1, "no": 1, "abstain": 0}
    assert poll.result["electorate"] == 2


def test_the_last_ballot_before_close_counts():
    voter, other = member(), member()
    poll = open_poll()
    vote(poll, voter, {"choice": "yes"})
    vote(poll, voter, {"choice": "no"})
    vote(poll, voter, {"choice": "abstain"})
    vote(poll, other, {"choice": "yes"})

    assert PollBallot.objects.filter(poll=poll).count() == 2
    poll = poll_close(poll=poll)

    assert poll.ballots_cast == 2
    assert poll.result["counts"] == {"yes": 1, "no": 0, "abstain": 1}


def test_voting_is_refused_outside_the_window_and_writes_nothing():
    voter = member()
    draft = make_poll()
    with pytest.raises(VotingClosedError):
        poll_ballot_submit(poll=draft, user=voter, ballot={"choice": "yes"})

    poll = open_poll()
    with pytest.raises(VotingClosedError):  # the window is over, even before the count
        poll_ballot_submit(poll=poll, user=voter, ballot={"choice": "yes"})
    poll_close(poll=poll)
    with pytest.raises(VotingClosedError):
        vote(poll, voter, {"choice": "yes"})

    assert PollBallot.objects.count() == 0
    assert not PollElector.objects.filter(has_voted=True).exists()


@pytest.mark.parametrize(
    "ballot",
    [
        {"choice": "maybe"},
        {"choice": "yes", "grades": {}},
        {"grades": {"1": 3}},
        {},
        {"choice": ["yes"]},
    ],
)
def test_a_malformed_resolution_ballot_writes_nothing(ballot):
    voter = member()
    poll = open_poll()
    with pytest.raises(InvalidBallotError):
        vote(poll, voter, ballot)
    assert PollBallot.objects.count() == 0
    assert PollElector.objects.get(user=voter).has_voted is False


@pytest.mark.parametrize(
    "ballot",
    [
        {"grades": {"9": 3}},
        {"grades": {"1": 6}},
        {"grades": {"1": -1}},
        {"grades": {"1": True}},
        {"grades": {"1": "3"}},
        {"grades": [3, 3, 3]},
        {"approved": ["1"]},
    ],
)
def test_a_malformed_majority_judgment_ballot_writes_nothing(ballot):
    voter = member()
    poll = open_poll(method=PollMethod.MAJORITY_JUDGMENT)
    with pytest.raises(InvalidBallotError):
        vote(poll, voter, ballot)
    assert PollBallot.objects.count() == 0


def test_an_option_left_blank_is_graded_reject():
    voter = member()
    poll = open_poll(method=PollMethod.MAJORITY_JUDGMENT)
    vote(poll, voter, {"grades": {"2": 4}})
    assert PollBallot.objects.get(poll=poll).content == {"grades": [0, 4, 0]}


def test_closing_publishes_a_shuffled_file_erases_the_secret_and_the_ballot_rows():
    voters = [member() for _ in range(6)]
    poll = open_poll()
    choices = ["yes", "yes", "no", "abstain", "yes", "no"]
    for voter, choice in zip(voters, choices, strict=True):
        vote(poll, voter, {"choice": choice})

    poll = poll_close(poll=poll)

    assert poll.status == PollStatus.CLOSED
    assert poll.voter_secret is None
    assert PollBallot.objects.filter(poll=poll).count() == 0
    assert Poll.objects.filter(voter_secret__isnull=False).count() == 0
    lines = poll.ballot_file.splitlines()
    header = json.loads(lines[0])
    assert header["method"] == "resolution"
    assert header["electorate"] == 6
    assert sorted(json.loads(line)["choice"] for line in lines[1:]) == sorted(choices)
    assert all(set(json.loads(line)) == {"choice"} for line in lines[1:])
    assert poll.ballot_file_sha256 == sha256_hex(poll.ballot_file)
    spec, ballots = ballot_file_loads(poll.ballot_file)
    assert poll_tally(spec, ballots) == poll.result
    assert list(PollEvent.objects.filter(poll=poll).values_list("source", "target")) == [
        ("draft", "open"),
        ("open", "closed"),
    ]


def test_closing_before_the_end_of_the_window_is_refused():
    member()
    start = timezone.now()
    poll = poll_open(poll=make_poll(start=start), now=start)
    with pytest.raises(StillRunningError):
        poll_close(poll=poll)
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN
    assert poll.voter_secret is not None


def test_the_ballot_order_in_the_file_does_not_follow_the_voting_order():
    voters = [member() for _ in range(40)]
    poll = open_poll(method=PollMethod.MAJORITY_JUDGMENT)
    cast = []
    for n, voter in enumerate(voters):
        ballot = {"grades": {"1": n % 6, "2": (n // 6) % 6, "3": (n * 7) % 6}}
        vote(poll, voter, ballot)
        cast.append([ballot["grades"]["1"], ballot["grades"]["2"], ballot["grades"]["3"]])
    poll = poll_close(poll=poll)
    published = [json.loads(line)["grades"] for line in poll.ballot_file.splitlines()[1:]]
    assert sorted(published) == sorted(cast)
    assert published != cast  # 40! orders: equal only by a 1 in 8e47 chance


@pytest.mark.parametrize(
    ("choices", "quorum", "threshold", "inclusive", "outcome", "yes_share"),
    [
        # 3 of 4 voted: turnout 3/4.
        (["yes", "yes", "no"], Fraction(1, 2), Fraction(1, 2), False, "adopted", "2/3"),
        (["yes", "yes", "no"], Fraction(1), Fraction(1, 2), False, "no_quorum", "2/3"),
        (["yes", "no", "abstain"], Fraction(3, 4), Fraction(1, 2), False, "rejected", "1/2"),
        (["yes", "no", "abstain"], Fraction(3, 4), Fraction(1, 2), True, "adopted", "1/2"),
        (["yes", "yes", "no"], Fraction(0), Fraction(2, 3), True, "adopted", "2/3"),
        (["yes", "yes", "no"], Fraction(0), Fraction(2, 3), False, "rejected", "2/3"),
        (
            ["abstain", "abstain", "abstain"],
            Fraction(1, 2),
            Fraction(1, 2),
            False,
            "rejected",
            None,
        ),
    ],
)
def test_resolution_quorum_and_threshold(choices, quorum, threshold, inclusive, outcome, yes_share):
    voters = [member() for _ in range(4)]
    poll = decided_poll(
        [(v, {"choice": c}) for v, c in zip(voters, choices, strict=False)],
        quorum=quorum,
        threshold=threshold,
        threshold_inclusive=inclusive,
    )
    result = poll.result
    assert result["outcome"] == outcome
    assert result["turnout"] == "3/4"
    assert result["quorum_reached"] is (Fraction(3, 4) >= quorum)
    assert result["yes_share"] == yes_share
    assert result["adopted"] is (outcome == "adopted")
    assert [step["kind"] for step in result["steps"]] == ["count", "quorum", "threshold", "outcome"]


# Majority judgment, worked by hand. Five voters, grades 0 (Reject) to 5 (Excellent); the majority
# grade is the grade at position ceil(5/2) = 3 of the sorted grades.
#   1 Housing    3 3 3 4 4  median 3, p = 2/5, q = 0   → gauge +2/5
#   2 Health     2 3 3 3 5  median 3, p = 1/5, q = 1/5 → gauge -1/5 (p is not > q)
#   3 Education  1 3 3 4 4  median 3, p = 2/5, q = 1/5 → gauge +2/5
#   4 Energy     4 3 4 3 3  the same grades as Housing: a true tie
#   5 Culture    0 0 1 2 5  median 1
# Housing and Education: same median and gauge. Majority values (positions 3, 2, 4, 1, 5):
# Housing 3 3 4 3 4, Education 3 3 4 1 4: they differ at step 4, 3 > 1, so Housing ranks first.
MJ_GRADES = {
    "1": [3, 3, 3, 4, 4],
    "2": [2, 3, 3, 3, 5],
    "3": [1, 3, 3, 4, 4],
    "4": [4, 3, 4, 3, 3],
    "5": [0, 0, 1, 2, 5],
}
MJ_OPTIONS = ("Housing", "Health", "Education", "Energy", "Culture")


def _mj_ballots(voters, grades):
    return [
        (voter, {"grades": {option: grades[option][i] for option in grades}})
        for i, voter in enumerate(voters)
    ]


def test_majority_judgment_tie_breaking_end_to_end():
    voters = [member() for _ in range(5)]
    poll = decided_poll(
        _mj_ballots(voters, MJ_GRADES),
        method=PollMethod.MAJORITY_JUDGMENT,
        options=MJ_OPTIONS,
    )
    result = poll.result
    assert result["ranking"] == [["1", "4"], ["3"], ["2"], ["5"]]
    assert result["outcome"] == "tie"
    assert result["winners"] == ["1", "4"]
    grades_step = next(s for s in result["steps"] if s["kind"] == "grades")
    by_option = {o["option"]: o for o in grades_step["options"]}
    assert by_option["1"]["histogram"] == [0, 0, 0, 3, 2, 0]
    assert (by_option["1"]["median"], by_option["1"]["gauge"]) == (3, "2/5")
    assert (by_option["2"]["median"], by_option["2"]["gauge"]) == (3, "-1/5")
    assert (by_option["3"]["median"], by_option["3"]["gauge"]) == (3, "2/5")
    assert (by_option["5"]["median"], by_option["5"]["gauge"]) == (1, "-2/5")
    comparisons = [s for s in result["steps"] if s["kind"] == "comparison"]
    assert comparisons == [
        {
            "kind": "comparison",
            "better": "1",
            "worse": "4",
            "level": "tie",
            "step": None,
            "better_grade": None,
            "worse_grade": None,
        },
        {
            "kind": "comparison",
            "better": "4",
            "worse": "3",
            "level": "majority_value",
            "step": 4,
            "better_grade": 3,
            "worse_grade": 1,
        },
        {
            "kind": "comparison",
            "better": "3",
            "worse": "2",
            "level": "gauge",
            "step": None,
            "better_grade": None,
            "worse_grade": None,
        },
        {
            "kind": "comparison",
            "better": "2",
            "worse": "5",
            "level": "median",
            "step": None,
            "better_grade": None,
            "worse_grade": None,
        },
    ]


def test_majority_judgment_decided_by_the_majority_value():
    voters = [member() for _ in range(5)]
    grades = {"1": MJ_GRADES["3"], "2": MJ_GRADES["1"]}  # Education first on the ballot
    poll = decided_poll(
        _mj_ballots(voters, grades),
        method=PollMethod.MAJORITY_JUDGMENT,
        options=("Education", "Housing"),
    )
    assert poll.result["outcome"] == "decided"
    assert poll.result["winners"] == ["2"]
    assert poll.result["ranking"] == [["2"], ["1"]]


def test_majority_judgment_with_an_even_number_of_ballots_uses_the_lower_median():
    voters = [member() for _ in range(4)]
    # Sorted grades: A 1 2 4 5 (lower median 2, p = 1/2, q = 1/4: +1/2); B 2 2 2 2 (median 2,
    # gauge 0). With the upper median A would have 4 and win the same way; C 0 2 5 5 has lower
    # median 2 and upper median 5: by the lower median it ties A on median and gauge (+1/2).
    grades = {"1": [1, 2, 4, 5], "2": [2, 2, 2, 2], "3": [0, 2, 5, 5]}
    poll = decided_poll(
        _mj_ballots(voters, grades), method=PollMethod.MAJORITY_JUDGMENT, options=("A", "B", "C")
    )
    tallies = {o["option"]: o for o in poll.result["steps"][1]["options"]}
    assert [tallies[k]["median"] for k in "123"] == [2, 2, 2]
    assert [tallies[k]["gauge"] for k in "123"] == ["1/2", "0", "1/2"]
    # A and C: sequences (positions 2, 3, 1, 4) A 2 4 1 5, C 2 5 0 5: C is better at step 2.
    assert poll.result["ranking"] == [["3"], ["1"], ["2"]]


def test_priority_vote_without_quorum_decides_nothing():
    voters = [member() for _ in range(4)]
    poll = decided_poll(
        [(voters[0], {"approved": ["1", "2"]})],
        method=PollMethod.APPROVAL,
        quorum=Fraction(1, 2),
    )
    assert poll.result["quorum_reached"] is False
    assert poll.result["outcome"] == "no_quorum"
    assert poll.result["winners"] == []
    assert poll.result["approvals"] == {"1": 1, "2": 1, "3": 0}


def test_approval_poll_ranks_by_approvals():
    voters = [member() for _ in range(3)]
    poll = decided_poll(
        [
            (voters[0], {"approved": ["1", "3"]}),
            (voters[1], {"approved": ["3"]}),
            (voters[2], {"approved": []}),
        ],
        method=PollMethod.APPROVAL,
    )
    assert poll.result["approvals"] == {"1": 1, "2": 0, "3": 2}
    assert poll.result["ranking"] == [["3"], ["1"], ["2"]]
    assert poll.result["winners"] == ["3"]
    assert poll.result["outcome"] == "decided"


def test_state_machine_refuses_illegal_moves_and_changes_nothing():
    member()
    draft = make_poll()
    with pytest.raises(IllegalTransitionError):
        poll_close(poll=draft)
    with pytest.raises(IllegalTransitionError):
        poll_publish(poll=draft)
    poll = open_poll()
    with pytest.raises(IllegalTransitionError):
        poll_open(poll=poll)
    with pytest.raises(IllegalTransitionError):
        poll_cancel(poll=poll)
    with pytest.raises(IllegalTransitionError):
        poll_publish(poll=poll)
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN
    assert PollEvent.objects.filter(poll=poll).count() == 1
    cancelled = poll_cancel(poll=draft)
    assert cancelled.status == PollStatus.CANCELLED
    with pytest.raises(IllegalTransitionError):
        poll_open(poll=cancelled)


def test_opening_needs_members_and_time_left():
    start = timezone.now() - 3 * HOUR
    with pytest.raises(EmptyElectorateError):
        poll_open(poll=make_poll(start=start), now=start)
    member()
    late = make_poll(start=start)
    with pytest.raises(WindowOverError):
        poll_open(poll=late, now=start + 2 * HOUR)
    assert Poll.objects.filter(status=PollStatus.OPEN).count() == 0
    assert PollElector.objects.count() == 0


def test_opening_early_moves_the_start_of_the_window():
    member()
    start = timezone.now() + timedelta(days=1)
    poll = poll_open(poll=make_poll(start=start))
    assert poll.opens_at <= timezone.now()
    assert poll.closes_at == start + 2 * HOUR
