"""Factories and helpers for governance tests: polls and rounds in every state, through the
services (so the state machines and the electorate snapshot are the real ones)."""

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.utils import timezone

from fund.enums import PollMethod
from fund.models import Poll, Round
from fund.services.governance import (
    poll_ballot_submit,
    poll_close,
    poll_create,
    poll_open,
    poll_publish,
)
from fund.services.rounds import (
    round_ballot_submit,
    round_close,
    round_create,
    round_open,
    round_project_add,
    round_publish,
)
from tests.factories import MembershipFactory, UserFactory

HOUR = timedelta(hours=1)


def member(**kwargs: Any) -> Any:
    user = UserFactory(**kwargs)
    MembershipFactory(user=user, shares=1)
    return user


def make_poll(
    *,
    method: str = PollMethod.RESOLUTION,
    options: tuple[str, ...] | None = None,
    start: datetime | None = None,
    quorum: Fraction = Fraction(0),
    threshold: Fraction = Fraction(1, 2),
    threshold_inclusive: bool = False,
    title: str = "Strategy",
) -> Poll:
    """A draft poll whose window runs from `start` (default: now) for 2 hours."""
    start = start or timezone.now()
    if options is None:
        options = () if method == PollMethod.RESOLUTION else ("Housing", "Health", "Education")
    return poll_create(
        actor=None,
        title=title,
        method=method,
        options=options,
        opens_at=start,
        closes_at=start + 2 * HOUR,
        quorum=quorum,
        threshold=threshold,
        threshold_inclusive=threshold_inclusive,
    )


def open_poll(**kwargs: Any) -> Poll:
    """An open poll with its window ending in the past, so it can be closed at once."""
    start = timezone.now() - 3 * HOUR
    poll = make_poll(start=start, **kwargs)
    return poll_open(poll=poll, now=start)


def vote(poll: Poll, user: Any, ballot: dict[str, Any]) -> None:
    poll_ballot_submit(poll=poll, user=user, ballot=ballot, now=poll.opens_at + HOUR)


def decided_poll(votes: list[tuple[Any, dict[str, Any]]], **kwargs: Any) -> Poll:
    """A published poll; the voters must be members before it opens (the snapshot)."""
    poll = open_poll(**kwargs)
    for user, ballot in votes:
        vote(poll, user, ballot)
    poll_close(poll=poll)
    return poll_publish(poll=poll)


def make_round(
    *,
    projects: list[tuple[str, int]] = (),  # type: ignore[assignment]
    budget: int = 100_000,
    start: datetime | None = None,
    **kwargs: Any,
) -> Round:
    """A draft round (costs and budget in minor units) whose window runs 2 hours from `start`."""
    start = start or timezone.now()
    round = round_create(
        actor=None,
        title=kwargs.pop("title", "Digital inclusion 2026"),
        currency=kwargs.pop("currency", "EUR"),
        budget=budget,
        opens_at=start,
        closes_at=start + 2 * HOUR,
        **kwargs,
    )
    for name, cost in projects:
        round_project_add(round=round, name=name, cost=cost)
    return round


def open_round(**kwargs: Any) -> Round:
    start = timezone.now() - 3 * HOUR
    round = make_round(start=start, **kwargs)
    return round_open(round=round, now=start)


def approve(round: Round, user: Any, approved: list[str]) -> None:
    round_ballot_submit(round=round, user=user, approved=approved, now=round.opens_at + HOUR)


def funded_round(votes: list[tuple[Any, list[str]]], **kwargs: Any) -> Round:
    round = open_round(**kwargs)
    for user, approved in votes:
        approve(round, user, approved)
    round_close(round=round)
    return round_publish(round=round)
