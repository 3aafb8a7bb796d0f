"""Reads for governance polls. Nothing here links a member to a ballot once voting has closed."""

from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from members.enums import MembershipStatus, Role
from members.models import Membership
from members.selectors import user_roles

from ..enums import GRADE_NAMES, PollMethod, PollStatus
from ..models import Poll, PollBallot, PollElector
from ..poll_tally import PollSpec
from ..secrecy import voter_key

STAFF_READERS = frozenset({Role.TREASURER, Role.MODERATOR, Role.AUDITOR})


def count_subquery(rows: QuerySet[Any], *, by: str) -> Coalesce:
    """A correlated COUNT(*) subquery (no join, so other annotations are not multiplied)."""
    counted = rows.order_by().values(by).annotate(n=Count("*"))
    return Coalesce(Subquery(counted.values("n")[:1], output_field=IntegerField()), 0)


def user_is_staff_reader(*, user: Any) -> bool:
    return bool(user_roles(user=user) & STAFF_READERS)


def electorate_user_ids() -> list[int]:
    """Everyone entitled to vote now: an active person with an active membership."""
    return list(
        Membership.objects.filter(status=MembershipStatus.ACTIVE, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def poll_list(*, user: Any) -> QuerySet[Poll]:
    """Polls a person may see: drafts only for the treasurer, moderators and auditors."""
    polls = Poll.objects.annotate(
        voted_count=count_subquery(
            PollElector.objects.filter(poll=OuterRef("pk"), has_voted=True), by="poll"
        )
    )
    if not user_is_staff_reader(user=user):
        polls = polls.exclude(status=PollStatus.DRAFT)
    return polls.prefetch_related("options").order_by("-id")


def poll_get(*, poll_id: int, user: Any) -> Poll | None:
    return poll_list(user=user).filter(pk=poll_id).first()


def poll_spec(*, poll: Poll) -> PollSpec:
    """The header of the poll's ballot file."""
    options: tuple[tuple[str, str], ...] = ()
    if poll.method != PollMethod.RESOLUTION:
        options = tuple((o.code, o.label) for o in poll.options.all())
    grades = GRADE_NAMES if poll.method == PollMethod.MAJORITY_JUDGMENT else ()
    return PollSpec(
        poll=poll.pk,
        title=poll.title,
        method=poll.method,
        options=options,
        grades=grades,
        electorate=poll.electorate_size,
        quorum=poll.quorum,
        threshold=poll.threshold,
        threshold_inclusive=poll.threshold_inclusive,
    )


def poll_turnout(*, poll: Poll) -> int:
    """Members who have voted so far (after close: the ballots counted)."""
    if poll.ballots_cast is not None:
        return poll.ballots_cast
    if poll.status != PollStatus.OPEN:
        return 0
    if hasattr(poll, "voted_count"):
        return int(poll.voted_count)
    return PollElector.objects.filter(poll=poll, has_voted=True).count()


@dataclass(frozen=True)
class BallotStatus:
    in_electorate: bool
    has_voted: bool
    ballot: dict[str, Any] | None  # the member's current ballot, only while voting is open


def poll_ballot_status(*, poll: Poll, user: Any) -> BallotStatus:
    """For the member themself: are they in the electorate, have they voted, and (while the
    poll is open, recomputing their key from the poll secret) their current ballot."""
    elector = (
        PollElector.objects.filter(poll=poll, user_id=user.pk).only("has_voted").first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if elector is None:
        return BallotStatus(False, False, None)
    ballot = None
    current = Poll.objects.filter(pk=poll.pk).values("status", "voter_secret").first()
    if elector.has_voted and current and current["status"] == PollStatus.OPEN:
        key = voter_key(
            secret=cast(str, current["voter_secret"]), scope=f"poll:{poll.pk}", user_id=user.pk
        )
        row = PollBallot.objects.filter(poll=poll, voter_key=key).values("content").first()
        ballot = row["content"] if row else None
    return BallotStatus(True, elector.has_voted, ballot)
