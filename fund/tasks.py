"""Celery tasks for governance: open, close and publish polls and rounds at their window.

`fund_governance_advance` runs on beat every minute and is its own sweeper: it finds, from the
database alone, every poll and round with a move due and publishes one task for each. Each task
makes the moves that are due by compare-and-set, so running it twice does the work once.
"""

import logging
from datetime import datetime

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from common.errors import ApplicationError
from common.queue import enqueue_on_commit

from .enums import RoundSource
from .models import Poll, Round
from .services.governance import poll_advance
from .services.matching import matching_rules_reject_unadopted
from .services.rounds import round_advance

logger = logging.getLogger(__name__)


def _due(model: type[Poll] | type[Round], now: datetime) -> list[int]:
    to_open = Q(status="draft", opens_at__lte=now, closes_at__gt=now)
    if model is Round:
        to_open &= Q(source=RoundSource.MEMBERS)
    to_close = Q(status="open", closes_at__lte=now)
    return list(
        model.objects.filter(to_open | to_close | Q(status="closed"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task(acks_late=True)
def fund_governance_advance() -> dict[str, int]:
    now = timezone.now()
    polls, rounds = _due(Poll, now), _due(Round, now)
    for poll_id in polls:
        enqueue_on_commit(fund_poll_advance, poll_id)
    for round_id in rounds:
        enqueue_on_commit(fund_round_advance, round_id)
    return {"polls": len(polls), "rounds": len(rounds)}


@shared_task(acks_late=True)
def fund_poll_advance(poll_id: int) -> str:
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return "missing"
    try:
        poll = poll_advance(poll=poll)
    except ApplicationError as exc:
        # An illegal move means another worker got there first; anything else needs a person.
        logger.warning("poll %s not advanced: %s (%s)", poll_id, exc.message, exc.code)
        poll.refresh_from_db()
    # A matching rule its members did not adopt never comes into force.
    matching_rules_reject_unadopted(poll=poll)
    return str(poll.status)


@shared_task(acks_late=True)
def fund_round_advance(round_id: int) -> str:
    round = Round.objects.filter(pk=round_id).first()
    if round is None:
        return "missing"
    try:
        round = round_advance(round=round)
    except ApplicationError as exc:
        logger.warning("round %s not advanced: %s (%s)", round_id, exc.message, exc.code)
        round.refresh_from_db()
    return str(round.status)


# The money side's tasks live in their own module; importing it registers them with the worker.
from . import money_tasks  # noqa: E402, F401
