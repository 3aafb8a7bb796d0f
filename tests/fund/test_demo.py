import random

import pytest

from fund.demo import PROJECTS, RESOLUTION_POLL, ROUND, STRATEGY_POLL, seed_governance
from fund.enums import PollStatus, RoundStatus
from fund.models import Poll, Round
from members.demo import seed as seed_members

pytestmark = pytest.mark.django_db


def test_demo_governance_after_the_demo_members():
    context = {"rng": random.Random(2026), "people": 24}
    seed_members(context=context)
    seed_governance(context=context)
    seed_governance(context=context)  # idempotent

    strategy = Poll.objects.get(title=STRATEGY_POLL)
    assert strategy.status == PollStatus.PUBLISHED
    assert strategy.electorate_size == 13  # the demo user and half of the 24 people
    assert strategy.result["outcome"] in {"decided", "tie"}
    assert strategy.result["ballots"] == len(strategy.ballot_file.splitlines()) - 1
    resolution = Poll.objects.get(title=RESOLUTION_POLL)
    assert resolution.status == PollStatus.OPEN
    round = Round.objects.get(title=ROUND)
    assert round.status == RoundStatus.PUBLISHED
    assert round.projects.count() == len(PROJECTS) == 8
    assert 0 < round.result["total_cost"] <= 60_000
    assert Poll.objects.count() == 2
