"""Governance polls: create, open (snapshot the electorate), vote, close (count), publish.

One member, one vote. The electorate is fixed at opening: someone who joins afterwards cannot
vote in the poll, someone whose membership ends afterwards keeps their vote in it. A member may
replace their ballot until close; the last one counts.
"""

from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..enums import POLL_MACHINE, Grade, PollMethod, PollStatus, ResolutionChoice
from ..exceptions import (
    EmptyElectorateError,
    GovernanceError,
    InvalidBallotError,
    NotInElectorateError,
    StillRunningError,
    VotingClosedError,
    WindowOverError,
)
from ..models import Poll, PollBallot, PollElector, PollEvent, PollOption
from ..poll_tally import ballot_file_dumps, ballot_file_loads, poll_tally, sha256_hex
from ..secrecy import lock_for_share, shuffled, voter_key, voter_secret_new
from ..selectors.governance import electorate_user_ids, poll_spec

MAX_OPTIONS = 50


def _share(value: Fraction, name: str) -> Fraction:
    share = Fraction(value)
    if not 0 <= share <= 1:
        raise GovernanceError(
            f"The {name} is a share between 0 and 1.",
            code="invalid_share",
            fields={name: ["Must be between 0 and 1."]},
        )
    return share


def poll_create(
    *,
    actor: Any,
    title: str,
    method: str,
    opens_at: datetime,
    closes_at: datetime,
    description: str = "",
    options: Sequence[str] = (),
    quorum: Fraction = Fraction(0),
    threshold: Fraction = Fraction(1, 2),
    threshold_inclusive: bool = False,
) -> Poll:
    """A draft poll. Resolutions have no options; priority votes have 2 to 50."""
    if method not in PollMethod.values:
        raise GovernanceError("Unknown voting method.", fields={"method": ["Unknown method."]})
    if closes_at <= opens_at:
        raise GovernanceError(
            "A poll closes after it opens.",
            code="invalid_window",
            fields={"closes_at": ["Must be after opens_at."]},
        )
    labels = [label.strip() for label in options]
    if method == PollMethod.RESOLUTION:
        if labels:
            raise GovernanceError(
                "A resolution has no options: members answer yes, no or abstain.",
                code="invalid_options",
                fields={"options": ["Must be empty for a resolution."]},
            )
    elif not 2 <= len(labels) <= MAX_OPTIONS or "" in labels or len(set(labels)) != len(labels):
        raise GovernanceError(
            f"A priority vote has 2 to {MAX_OPTIONS} distinct, non-empty options.",
            code="invalid_options",
            fields={"options": [f"Give 2 to {MAX_OPTIONS} distinct options."]},
        )
    quorum = _share(quorum, "quorum")
    threshold = _share(threshold, "threshold")
    with transaction.atomic():
        poll = Poll.objects.create(
            title=title,
            description=description,
            method=method,
            opens_at=opens_at,
            closes_at=closes_at,
            quorum_numerator=quorum.numerator,
            quorum_denominator=quorum.denominator,
            threshold_numerator=threshold.numerator,
            threshold_denominator=threshold.denominator,
            threshold_inclusive=threshold_inclusive,
            created_by=actor,
        )
        PollOption.objects.bulk_create(
            PollOption(poll=poll, position=n, label=label) for n, label in enumerate(labels, 1)
        )
    return poll


def _event(poll_id: int, source: str, target: str, actor: Any, at: datetime) -> None:
    PollEvent.objects.create(poll_id=poll_id, source=source, target=target, actor=actor, at=at)


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def poll_open(*, poll: Poll, actor: Any = None, now: datetime | None = None) -> Poll:
    """Open voting and freeze the electorate: the members with an active membership now."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        POLL_MACHINE.check(locked.status, PollStatus.OPEN)
        if locked.closes_at <= now:
            raise WindowOverError()
        user_ids = electorate_user_ids()
        if not user_ids:
            raise EmptyElectorateError()
        PollElector.objects.bulk_create(
            (PollElector(poll_id=locked.pk, user_id=uid) for uid in user_ids), batch_size=2000
        )
        POLL_MACHINE.compare_and_set(
            Poll.objects.all(),
            pk=locked.pk,
            source=PollStatus.DRAFT,
            target=PollStatus.OPEN,
            voter_secret=voter_secret_new(),
            electorate_size=len(user_ids),
            opened_at=now,
            opens_at=min(locked.opens_at, now),
        )
        _event(locked.pk, PollStatus.DRAFT, PollStatus.OPEN, _actor(actor), now)
    poll.refresh_from_db()
    return poll


def _ballot_canonical(poll: Poll, ballot: dict[str, Any]) -> dict[str, Any]:
    """The ballot as the file stores it, from the form or API input; InvalidBallotError if not."""
    if poll.method == PollMethod.RESOLUTION:
        choice = ballot.get("choice")
        if set(ballot) != {"choice"} or choice not in ResolutionChoice.values:
            raise InvalidBallotError(
                _("Answer yes, no or abstain."),
                fields={"choice": [_("Choose yes, no or abstain.")]},
            )
        return {"choice": choice}
    codes = [option.code for option in poll.options.all()]
    if poll.method == PollMethod.MAJORITY_JUDGMENT:
        grades = ballot.get("grades")
        if set(ballot) != {"grades"} or not isinstance(grades, dict):
            raise InvalidBallotError(
                _("Grade the options."), fields={"grades": [_("Give a grade to each option.")]}
            )
        unknown = sorted(set(grades) - set(codes))
        if unknown:
            raise InvalidBallotError(
                _("A grade is given to an option this poll does not have."),
                fields={
                    "grades": [_("Unknown option: %(code)s") % {"code": code} for code in unknown]
                },
            )
        for code, grade in grades.items():
            if type(grade) is not int or grade not in Grade.values:
                raise InvalidBallotError(
                    _("A grade is not valid."),
                    fields={
                        "grades": [
                            _("Option %(code)s: a grade is an integer from 0 to 5.")
                            % {"code": code}
                        ]
                    },
                )
        # An option left blank gets the lowest grade.
        return {"grades": [grades.get(code, Grade.REJECT.value) for code in codes]}
    approved = ballot.get("approved")
    if set(ballot) != {"approved"} or not isinstance(approved, list):
        raise InvalidBallotError(
            _("List the options you approve."), fields={"approved": [_("A list of option ids.")]}
        )
    if any(not isinstance(a, str) or a not in codes for a in approved) or len(set(approved)) != len(
        approved
    ):
        raise InvalidBallotError(
            _("Approve options of this poll, each at most once."),
            fields={"approved": [_("Unknown or repeated option.")]},
        )
    return {"approved": sorted(approved, key=codes.index)}


def poll_ballot_submit(
    *, poll: Poll, user: Any, ballot: dict[str, Any], now: datetime | None = None
) -> None:
    """Cast or replace the member's ballot. Idempotent; two submits at once leave one ballot."""
    now = now or timezone.now()
    content = _ballot_canonical(poll, ballot)
    with transaction.atomic():
        lock_for_share(Poll, poll.pk)
        current = Poll.objects.filter(pk=poll.pk).values("status", "voter_secret", "closes_at")[0]
        if current["status"] != PollStatus.OPEN or now >= current["closes_at"]:
            raise VotingClosedError()
        elector = (
            PollElector.objects.select_for_update().filter(poll_id=poll.pk, user_id=user.pk).first()
        )
        if elector is None:
            raise NotInElectorateError()
        key = voter_key(
            secret=cast(str, current["voter_secret"]), scope=f"poll:{poll.pk}", user_id=user.pk
        )
        PollBallot.objects.bulk_create(
            [PollBallot(poll_id=poll.pk, voter_key=key, content=content)],
            update_conflicts=True,
            unique_fields=["poll", "voter_key"],
            update_fields=["content"],
        )
        if not elector.has_voted:
            PollElector.objects.filter(pk=elector.pk).update(has_voted=True)


def poll_close(*, poll: Poll, actor: Any = None, now: datetime | None = None) -> Poll:
    """Count at the end of the window: write the shuffled ballot file, tally it, erase the
    secret and delete the ballot rows, all in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(pk=poll.pk)
        POLL_MACHINE.check(locked.status, PollStatus.CLOSED)
        if now < locked.closes_at:
            raise StillRunningError()
        ballots = list(PollBallot.objects.filter(poll=locked).values_list("content", flat=True))
        voted = PollElector.objects.filter(poll=locked, has_voted=True).count()
        if voted != len(ballots):  # pragma: no cover - guarded by the vote transaction
            raise GovernanceError("Ballots and voters do not match.", code="count_mismatch")
        text = ballot_file_dumps(poll_spec(poll=locked), shuffled(ballots))
        spec, published = ballot_file_loads(text)  # count what is published, nothing else
        result = poll_tally(spec, published)
        PollBallot.objects.filter(poll=locked).delete()
        POLL_MACHINE.compare_and_set(
            Poll.objects.all(),
            pk=locked.pk,
            source=PollStatus.OPEN,
            target=PollStatus.CLOSED,
            voter_secret=None,
            ballots_cast=len(published),
            result=result,
            ballot_file=text,
            ballot_file_sha256=sha256_hex(text),
            closed_at=now,
        )
        _event(locked.pk, PollStatus.OPEN, PollStatus.CLOSED, _actor(actor), now)
    poll.refresh_from_db()
    return poll


def poll_publish(*, poll: Poll, actor: Any = None, now: datetime | None = None) -> Poll:
    now = now or timezone.now()
    with transaction.atomic():
        POLL_MACHINE.compare_and_set(
            Poll.objects.all(),
            pk=poll.pk,
            source=PollStatus.CLOSED,
            target=PollStatus.PUBLISHED,
            published_at=now,
        )
        _event(poll.pk, PollStatus.CLOSED, PollStatus.PUBLISHED, _actor(actor), now)
    poll.refresh_from_db()
    return poll


def poll_cancel(*, poll: Poll, actor: Any = None, now: datetime | None = None) -> Poll:
    now = now or timezone.now()
    with transaction.atomic():
        POLL_MACHINE.compare_and_set(
            Poll.objects.all(), pk=poll.pk, source=PollStatus.DRAFT, target=PollStatus.CANCELLED
        )
        _event(poll.pk, PollStatus.DRAFT, PollStatus.CANCELLED, _actor(actor), now)
    poll.refresh_from_db()
    return poll


def poll_advance(*, poll: Poll, now: datetime | None = None) -> Poll:
    """Make every move that is due by the clock: open at the window's start, close and publish
    at its end. Safe to run twice or concurrently (each move is a compare-and-set)."""
    now = now or timezone.now()
    poll.refresh_from_db()
    if poll.status == PollStatus.DRAFT and poll.opens_at <= now < poll.closes_at:
        poll = poll_open(poll=poll, now=now)
    if poll.status == PollStatus.OPEN and poll.closes_at <= now:
        poll = poll_close(poll=poll, now=now)
    if poll.status == PollStatus.CLOSED:
        poll = poll_publish(poll=poll, now=now)
    return poll
