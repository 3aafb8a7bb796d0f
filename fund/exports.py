"""The governance part of a person's data export (GDPR): the votes they were entitled to and
whether they took part. Never how they voted: nothing links them to a ballot after close."""

from typing import Any

from .models import PollElector, RoundElector


def governance_section(*, user: Any) -> dict[str, Any]:
    polls = PollElector.objects.filter(user=user).select_related("poll").order_by("poll_id")
    rounds = RoundElector.objects.filter(user=user).select_related("round").order_by("round_id")
    return {
        "governance": {
            "polls": [
                {"poll": e.poll_id, "title": e.poll.title, "has_voted": e.has_voted} for e in polls
            ],
            "funding_rounds": [
                {"round": e.round_id, "title": e.round.title, "has_voted": e.has_voted}
                for e in rounds
            ],
        }
    }
