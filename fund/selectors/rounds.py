"""Reads for funding rounds, and the hook the fund's money side uses to fund the winners."""

from typing import Any, cast

from django.db.models import OuterRef, QuerySet

from ..enums import RoundStatus
from ..models import Round, RoundBallot, RoundElector, RoundProject
from ..secrecy import voter_key
from .governance import BallotStatus, count_subquery, user_is_staff_reader


def round_list(*, user: Any) -> QuerySet[Round]:
    """Rounds a person may see: drafts only for the treasurer, moderators and auditors."""
    rounds = Round.objects.annotate(
        voted_count=count_subquery(
            RoundElector.objects.filter(round=OuterRef("pk"), has_voted=True), by="round"
        ),
        project_count=count_subquery(RoundProject.objects.filter(round=OuterRef("pk")), by="round"),
    )
    if not user_is_staff_reader(user=user):
        rounds = rounds.exclude(status=RoundStatus.DRAFT)
    return rounds.order_by("-id")


def round_get(*, round_id: int, user: Any) -> Round | None:
    return round_list(user=user).filter(pk=round_id).first()


def round_projects(*, round: Round) -> QuerySet[RoundProject]:
    return RoundProject.objects.filter(round=round).order_by("position")


def round_turnout(*, round: Round) -> int:
    if round.ballots_cast is not None:
        return round.ballots_cast
    if round.status != RoundStatus.OPEN:
        return 0
    if hasattr(round, "voted_count"):
        return int(round.voted_count)
    return RoundElector.objects.filter(round=round, has_voted=True).count()


def round_ballot_status(*, round: Round, user: Any) -> BallotStatus:
    """For the member themself, like `poll_ballot_status`: their ballot only while open."""
    elector = (
        RoundElector.objects.filter(round=round, user_id=user.pk).only("has_voted").first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if elector is None:
        return BallotStatus(False, False, None)
    ballot = None
    current = Round.objects.filter(pk=round.pk).values("status", "voter_secret").first()
    if elector.has_voted and current and current["status"] == RoundStatus.OPEN:
        key = voter_key(
            secret=cast(str, current["voter_secret"]), scope=f"round:{round.pk}", user_id=user.pk
        )
        row = RoundBallot.objects.filter(round=round, voter_key=key).values("approved").first()
        ballot = {"approved": row["approved"]} if row else None
    return BallotStatus(True, elector.has_voted, ballot)


def round_winners_list(*, round: Round) -> list[RoundProject]:
    """The funded projects of a published round, in selection order, with their kind (grant
    or solidarity loan), cost in minor units and `investment_id` once funded. Empty until the
    round is published. The fund's money side turns each into a grant or a loan, then records
    it with `fund.services.rounds.round_project_investment_link`."""
    if round.status != RoundStatus.PUBLISHED:
        return []
    return list(
        RoundProject.objects.filter(round=round, is_selected=True).order_by("selection_rank")
    )
