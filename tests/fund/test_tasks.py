"""Beat opens, closes and publishes polls and rounds at their window, through a real worker."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from fund.enums import PollStatus, RoundStatus
from fund.models import Poll, PollEvent, Round
from fund.services.governance import poll_open
from fund.tasks import fund_governance_advance, fund_poll_advance

from .factories import HOUR, make_poll, make_round, member, open_poll, open_round, vote


def _wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_beat_moves_due_polls_and_rounds_through_the_worker(celery_worker):
    voter = member()
    due_to_open = make_poll(start=timezone.now() - timedelta(minutes=5))
    due_to_close = open_poll()
    vote(due_to_close, voter, {"choice": "yes"})
    not_yet = make_poll(start=timezone.now() + HOUR)
    round_due = open_round(projects=[("Repair café", 3000)], budget=5000)

    fund_governance_advance.apply_async()

    assert _wait_for(
        lambda: (
            Poll.objects.get(pk=due_to_close.pk).status == PollStatus.PUBLISHED
            and Poll.objects.get(pk=due_to_open.pk).status == PollStatus.OPEN
            and Round.objects.get(pk=round_due.pk).status == RoundStatus.PUBLISHED
        )
    )
    assert Poll.objects.get(pk=due_to_close.pk).result["counts"]["yes"] == 1
    assert Poll.objects.get(pk=not_yet.pk).status == PollStatus.DRAFT


@pytest.mark.django_db
def test_advancing_twice_does_the_work_once():
    member()
    poll = open_poll()
    assert fund_poll_advance(poll.pk) == "published"
    assert fund_poll_advance(poll.pk) == "published"
    assert list(PollEvent.objects.filter(poll=poll).values_list("target", flat=True)) == [
        "open",
        "closed",
        "published",
    ]


@pytest.mark.django_db
def test_a_poll_that_cannot_open_stays_a_draft_and_the_sweep_goes_on():
    start = timezone.now() - timedelta(minutes=5)
    poll = make_poll(start=start)  # nobody is a member: the electorate would be empty
    assert fund_poll_advance(poll.pk) == "draft"
    member()
    assert fund_poll_advance(poll.pk) == "open"


@pytest.mark.django_db
def test_imported_rounds_are_not_opened_by_the_clock(django_capture_on_commit_callbacks):
    from fund.enums import RoundSource

    member()
    round = make_round(projects=[("A", 1000)], budget=5000, start=timezone.now() - HOUR)
    Round.objects.filter(pk=round.pk).update(source=RoundSource.PABULIB)
    with django_capture_on_commit_callbacks(execute=False):
        assert fund_governance_advance() == {"polls": 0, "rounds": 0}
    running = make_poll(start=timezone.now() - HOUR)
    poll_open(poll=running, now=running.opens_at)
    with django_capture_on_commit_callbacks(execute=False):
        assert fund_governance_advance() == {"polls": 0, "rounds": 0}
