"""Concurrent ballots on PostgreSQL: real threads, each with its own connection."""

import threading

import pytest
from django.db import connection, connections

from fund.enums import PollMethod, PollStatus
from fund.exceptions import VotingClosedError
from fund.models import PollBallot, PollElector, RoundBallot, RoundElector
from fund.services.governance import poll_close
from tests.fixtures import require_service

from .factories import approve, member, open_poll, open_round, vote

THREADS = 16


def _require_postgres():
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )


def _run(workers):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def run(work):
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submits_leave_one_ballot_per_member():
    _require_postgres()
    voter, other = member(), member()
    poll = open_poll(method=PollMethod.MAJORITY_JUDGMENT)
    submitted = [
        {"grades": {"1": n % 6, "2": (n + 1) % 6, "3": (n + 2) % 6}} for n in range(THREADS)
    ]
    workers = [lambda b=ballot: vote(poll, voter, b) for ballot in submitted]
    workers += [lambda: vote(poll, other, {"grades": {"1": 5}})] * 4

    assert _run(workers) == []

    mine = PollBallot.objects.exclude(content={"grades": [5, 0, 0]})
    assert PollBallot.objects.filter(poll=poll).count() == 2
    assert mine.count() == 1
    canonical = [[b["grades"]["1"], b["grades"]["2"], b["grades"]["3"]] for b in submitted]
    assert mine.get().content["grades"] in canonical
    assert PollElector.objects.filter(poll=poll, has_voted=True).count() == 2
    poll = poll_close(poll=poll)
    assert poll.ballots_cast == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_approval_ballots_in_a_round_leave_one_per_member():
    _require_postgres()
    voter = member()
    round = open_round(projects=[("A", 1000), ("B", 2000), ("C", 3000)], budget=5000)
    choices = [["1"], ["2"], ["3"], ["1", "2"], ["2", "3"], ["1", "3"], ["1", "2", "3"]] * 2
    assert _run([lambda a=approved: approve(round, voter, a) for approved in choices]) == []
    assert RoundBallot.objects.filter(round=round).count() == 1
    assert RoundBallot.objects.get(round=round).approved in choices
    assert RoundElector.objects.get(round=round, user=voter).has_voted is True


@pytest.mark.django_db(transaction=True)
def test_no_ballot_lands_after_the_count():
    """Ballots racing the close are either counted or refused, never lost or left behind."""
    _require_postgres()
    voters = [member() for _ in range(THREADS)]
    poll = open_poll()
    outcomes: dict[int, str] = {}

    def voter_work(voter):
        def work():
            try:
                vote(poll, voter, {"choice": "yes"})
                outcomes[voter.pk] = "counted"
            except VotingClosedError:
                outcomes[voter.pk] = "refused"

        return work

    workers = [voter_work(v) for v in voters] + [lambda: poll_close(poll=poll)]
    assert _run(workers) == []

    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED
    counted = sum(1 for outcome in outcomes.values() if outcome == "counted")
    assert poll.ballots_cast == counted
    assert poll.result["counts"]["yes"] == counted
    assert PollBallot.objects.filter(poll=poll).count() == 0
    assert PollElector.objects.filter(poll=poll, has_voted=True).count() == counted
