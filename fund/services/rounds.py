"""Funding rounds (participatory budgeting): projects apply with a cost, members approve
projects, and the Method of Equal Shares with Add1 completion allocates the budget.

Money is in minor units, but a round's budget and costs must be whole currency units: the
round's official record is its Pabulib file, which counts in whole units, so the allocation run
on the published file is exactly the one that decided.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.money import CURRENCY_EXPONENTS

from ..enums import ROUND_MACHINE, RoundComparison, RoundProjectKind, RoundSource, RoundStatus
from ..exceptions import (
    EmptyElectorateError,
    InvalidBallotError,
    InvestmentAlreadyLinkedError,
    NotInElectorateError,
    RoundError,
    RoundNotEditableError,
    StillRunningError,
    VotingClosedError,
    WholeUnitsError,
    WindowOverError,
)
from ..models import Round, RoundBallot, RoundElector, RoundEvent, RoundProject
from ..poll_tally import sha256_hex
from ..round_allocation import (
    META_ROUND,
    AllocationOptions,
    allocate,
    options_from_rule,
)
from ..rules import (
    Add1Step,
    PabulibElection,
    PabulibProject,
    PabulibVote,
    dumps_pabulib,
    parse_pabulib,
    tie_order_from_seed,
)
from ..secrecy import lock_for_share, shuffled, voter_key, voter_secret_new
from ..selectors.governance import electorate_user_ids
from ..selectors.rounds import round_projects

PROJECT_COLUMNS = ["project_id", "cost", "votes", "name", "selected", "kind"]
VOTE_COLUMNS = ["voter_id", "vote"]


def _whole_units(amount: int, currency: str, field: str) -> None:
    if amount % (10 ** CURRENCY_EXPONENTS[currency]):
        raise WholeUnitsError(fields={field: [_(WholeUnitsError.default_message)]})


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _event(round_id: int, source: str, target: str, actor: Any, at: dt.datetime) -> None:
    RoundEvent.objects.create(
        round_id=round_id, source=source, target=target, actor=_actor(actor), at=at
    )


def round_create(
    *,
    actor: Any,
    title: str,
    currency: str,
    budget: int,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    description: str = "",
    min_approvals: int | None = None,
    max_approvals: int | None = None,
    add1_step: int = 1,
    utilitarian_completion: bool = False,
    comparison: str = RoundComparison.NONE,
    source: str = RoundSource.MEMBERS,
    source_meta: dict[str, str] | None = None,
) -> Round:
    if currency not in CURRENCY_EXPONENTS:
        raise RoundError("Unknown currency.", fields={"currency": ["Unknown currency."]})
    if budget <= 0:
        raise RoundError("The budget must be positive.", fields={"budget": ["Must be positive."]})
    _whole_units(budget, currency, "budget")
    if closes_at <= opens_at:
        raise RoundError(
            "A round closes after it opens.",
            code="invalid_window",
            fields={"closes_at": ["Must be after opens_at."]},
        )
    minimum = settings.FUND_ROUND_MIN_APPROVALS if min_approvals is None else min_approvals
    if minimum < 1 or (max_approvals is not None and max_approvals < minimum):
        raise RoundError(
            "A ballot approves at least one project, and the maximum is at least the minimum.",
            code="invalid_approval_limits",
            fields={"max_approvals": ["Must be at least min_approvals (itself at least 1)."]},
        )
    if add1_step < 1:
        raise RoundError("The Add1 step is a positive whole number of currency units.")
    if comparison not in RoundComparison.values:
        raise RoundError("Unknown comparison.", fields={"comparison": ["Unknown comparison."]})
    return Round.objects.create(
        title=title,
        description=description,
        currency=currency,
        budget=budget,
        min_approvals=minimum,
        max_approvals=max_approvals,
        opens_at=opens_at,
        closes_at=closes_at,
        add1_step=add1_step,
        utilitarian_completion=utilitarian_completion,
        comparison=comparison,
        source=source,
        source_meta=source_meta or {},
        created_by=_actor(actor),
    )


def round_project_add(
    *,
    round: Round,
    name: str,
    cost: int,
    kind: str = RoundProjectKind.GRANT,
    description: str = "",
    code: str | None = None,
    campaign_project_id: int | None = None,
) -> RoundProject:
    """A project applies to a draft round with its cost (minor units, whole currency units),
    optionally linked to its page on the platform (a campaigns project)."""
    if cost <= 0:
        raise RoundError("The cost must be positive.", fields={"cost": ["Must be positive."]})
    _whole_units(cost, round.currency, "cost")
    if kind not in RoundProjectKind.values:
        raise RoundError("Unknown kind.", fields={"kind": ["Grant or loan."]})
    if campaign_project_id is not None:
        from campaigns.models import Project

        if not Project.objects.filter(pk=campaign_project_id).exists():
            raise RoundError(
                "No such project on the platform.",
                fields={"campaign_project": ["No such project."]},
            )
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.status != RoundStatus.DRAFT:
            raise RoundNotEditableError()
        position = (locked.projects.aggregate(m=Max("position"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                return RoundProject.objects.create(
                    round=locked,
                    code=code or str(position),
                    position=position,
                    name=name,
                    description=description,
                    cost=cost,
                    kind=kind,
                    campaign_project_id=campaign_project_id,
                )
        except IntegrityError:
            raise RoundError(
                "Another project of this round has this code.",
                code="duplicate_project_code",
                fields={"code": ["Already used in this round."]},
            ) from None


def _budget_check(round: Round) -> None:
    """The fund's money side may plug in a check that the pools cover the budget."""
    path = getattr(settings, "FUND_ROUND_BUDGET_CHECK", "")
    if path:
        import_string(path)(round=round)


def round_open(*, round: Round, actor: Any = None, now: dt.datetime | None = None) -> Round:
    """Open voting: freeze the electorate, fix the projects, and draw and publish the
    tie-breaking order before any ballot is cast."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        ROUND_MACHINE.check(locked.status, RoundStatus.OPEN)
        if locked.closes_at <= now:
            raise WindowOverError()
        codes = list(round_projects(round=locked).values_list("code", flat=True))
        if not codes:
            raise RoundError("A round needs projects.", code="no_projects", status_code=409)
        if locked.min_approvals > len(codes):
            raise RoundError(
                "The minimum number of approvals is more than the number of projects.",
                code="invalid_approval_limits",
                status_code=409,
            )
        _budget_check(locked)
        if locked.source == RoundSource.MEMBERS:
            user_ids = electorate_user_ids()
            if not user_ids:
                raise EmptyElectorateError()
            RoundElector.objects.bulk_create(
                (RoundElector(round_id=locked.pk, user_id=uid) for uid in user_ids),
                batch_size=2000,
            )
            electorate = len(user_ids)
        else:
            electorate = RoundBallot.objects.filter(round=locked).count()
        seed = voter_secret_new()[:32]
        ROUND_MACHINE.compare_and_set(
            Round.objects.all(),
            pk=locked.pk,
            source=RoundStatus.DRAFT,
            target=RoundStatus.OPEN,
            voter_secret=voter_secret_new(),
            electorate_size=electorate,
            tie_seed=seed,
            tie_order=tie_order_from_seed(codes, seed),
            opened_at=now,
            opens_at=min(locked.opens_at, now),
        )
        _event(locked.pk, RoundStatus.DRAFT, RoundStatus.OPEN, actor, now)
    round.refresh_from_db()
    return round


def _approved_canonical(round: Round, approved: Any) -> list[str]:
    codes = list(round_projects(round=round).values_list("code", flat=True))
    if not isinstance(approved, list) or any(not isinstance(a, str) for a in approved):
        raise InvalidBallotError(fields={"approved": [_("A list of project ids.")]})
    if any(a not in codes for a in approved) or len(set(approved)) != len(approved):
        raise InvalidBallotError(
            _("Approve projects of this round, each at most once."),
            fields={"approved": [_("Unknown or repeated project.")]},
        )
    if len(approved) < round.min_approvals:
        message = ngettext(
            "Approve at least %(count)d project.",
            "Approve at least %(count)d projects.",
            round.min_approvals,
        ) % {"count": round.min_approvals}
        raise InvalidBallotError(message, code="too_few_approvals", fields={"approved": [message]})
    if round.max_approvals is not None and len(approved) > round.max_approvals:
        message = ngettext(
            "Approve at most %(count)d project.",
            "Approve at most %(count)d projects.",
            round.max_approvals,
        ) % {"count": round.max_approvals}
        raise InvalidBallotError(message, code="too_many_approvals", fields={"approved": [message]})
    return sorted(approved, key=codes.index)


def round_ballot_submit(
    *, round: Round, user: Any, approved: Sequence[str], now: dt.datetime | None = None
) -> None:
    """Cast or replace the member's approval ballot; the last one before close counts."""
    now = now or timezone.now()
    content = _approved_canonical(
        round, list(approved) if isinstance(approved, tuple) else approved
    )
    with transaction.atomic():
        lock_for_share(Round, round.pk)
        current = Round.objects.filter(pk=round.pk).values("status", "voter_secret", "closes_at")[0]
        if current["status"] != RoundStatus.OPEN or now >= current["closes_at"]:
            raise VotingClosedError()
        elector = (
            RoundElector.objects.select_for_update()
            .filter(round_id=round.pk, user_id=user.pk)
            .first()
        )
        if elector is None:
            raise NotInElectorateError()
        key = voter_key(
            secret=cast(str, current["voter_secret"]), scope=f"round:{round.pk}", user_id=user.pk
        )
        RoundBallot.objects.bulk_create(
            [RoundBallot(round_id=round.pk, voter_key=key, approved=content)],
            update_conflicts=True,
            unique_fields=["round", "voter_key"],
            update_fields=["approved"],
        )
        if not elector.has_voted:
            RoundElector.objects.filter(pk=elector.pk).update(has_voted=True)


def round_options(round: Round) -> AllocationOptions:
    return AllocationOptions(
        add1_step=round.add1_step,
        utilitarian_completion=round.utilitarian_completion,
        comparison=round.comparison,
        tie_seed=round.tie_seed,
        tie_order=tuple(round.tie_order) if round.tie_order else None,
    )


def _date(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y")


def round_pabulib_election(
    *,
    round: Round,
    projects: Sequence[RoundProject],
    votes: Sequence[Sequence[str]],
    result: dict[str, Any] | None = None,
) -> PabulibElection:
    """The round as a Pabulib election: costs and budget in whole units, votes numbered 1..n in
    the given order, the rule's options and the tie-breaking order in META."""
    unit = round.unit
    options = round_options(round)
    meta: dict[str, str] = dict(round.source_meta)
    meta.update(
        {
            "description": round.title,
            "unit": meta.get("unit", "Bien Commun"),
            "instance": meta.get("instance", str(round.opens_at.year)),
            "num_projects": str(len(projects)),
            "num_votes": str(len(votes)),
            "budget": str(round.budget // unit),
            "vote_type": "approval",
            "rule": options.rule,
            "date_begin": _date(round.opens_at),
            "date_end": _date(round.closes_at),
            "min_length": str(round.min_approvals),
            "currency": round.currency,
            META_ROUND: str(round.pk),
            **options.meta(),
        }
    )
    if round.max_approvals is not None:
        meta["max_length"] = str(round.max_approvals)
    selected = set(result["selected"]) if result else set()
    approvals = result["approvals"] if result else {}
    pb_projects = [
        PabulibProject(
            project.code,
            project.cost // unit,
            project.name,
            {
                "votes": str(approvals.get(project.code, "")),
                "selected": ("1" if project.code in selected else "0") if result else "",
                "kind": project.kind,
            },
        )
        for project in projects
    ]
    pb_votes = [PabulibVote(str(n), tuple(vote)) for n, vote in enumerate(votes, 1)]
    return PabulibElection(meta, pb_projects, pb_votes, PROJECT_COLUMNS, VOTE_COLUMNS)


def round_close(
    *,
    round: Round,
    actor: Any = None,
    now: dt.datetime | None = None,
    progress: Callable[[Add1Step], None] | None = None,
) -> Round:
    """Count at the end of the window: write the round's Pabulib file with the shuffled,
    anonymised ballots, allocate from that file, store the result, erase the secret and delete
    the ballot rows, all in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        ROUND_MACHINE.check(locked.status, RoundStatus.CLOSED)
        if now < locked.closes_at:
            raise StillRunningError()
        projects = list(round_projects(round=locked))
        votes = list(RoundBallot.objects.filter(round=locked).values_list("approved", flat=True))
        if locked.source == RoundSource.MEMBERS:
            voted = RoundElector.objects.filter(round=locked, has_voted=True).count()
            if voted != len(votes):  # pragma: no cover - guarded by the vote transaction
                raise RoundError("Ballots and voters do not match.", code="count_mismatch")
        votes = shuffled(votes)
        counted = parse_pabulib(
            dumps_pabulib(round_pabulib_election(round=locked, projects=projects, votes=votes))
        )
        result = allocate(counted, round_options(locked), progress=progress)
        text = dumps_pabulib(
            round_pabulib_election(round=locked, projects=projects, votes=votes, result=result)
        )
        rank = {code: n for n, code in enumerate(result["selected"], 1)}
        for project in projects:
            project.approvals = result["approvals"][project.code]
            project.is_selected = project.code in rank
            project.selection_rank = rank.get(project.code)
            project.effective_support = result["effective_support"].get(project.code, "0")
        RoundProject.objects.bulk_update(
            projects, ["approvals", "is_selected", "selection_rank", "effective_support"]
        )
        RoundBallot.objects.filter(round=locked).delete()
        ROUND_MACHINE.compare_and_set(
            Round.objects.all(),
            pk=locked.pk,
            source=RoundStatus.OPEN,
            target=RoundStatus.CLOSED,
            voter_secret=None,
            ballots_cast=len(votes),
            result=result,
            pb_file=text,
            pb_sha256=sha256_hex(text),
            closed_at=now,
        )
        _event(locked.pk, RoundStatus.OPEN, RoundStatus.CLOSED, actor, now)
    round.refresh_from_db()
    return round


def round_publish(*, round: Round, actor: Any = None, now: dt.datetime | None = None) -> Round:
    now = now or timezone.now()
    with transaction.atomic():
        ROUND_MACHINE.compare_and_set(
            Round.objects.all(),
            pk=round.pk,
            source=RoundStatus.CLOSED,
            target=RoundStatus.PUBLISHED,
            published_at=now,
        )
        _event(round.pk, RoundStatus.CLOSED, RoundStatus.PUBLISHED, actor, now)
    round.refresh_from_db()
    return round


def round_cancel(*, round: Round, actor: Any = None, now: dt.datetime | None = None) -> Round:
    now = now or timezone.now()
    with transaction.atomic():
        ROUND_MACHINE.compare_and_set(
            Round.objects.all(), pk=round.pk, source=RoundStatus.DRAFT, target=RoundStatus.CANCELLED
        )
        RoundBallot.objects.filter(round_id=round.pk).delete()
        _event(round.pk, RoundStatus.DRAFT, RoundStatus.CANCELLED, actor, now)
    round.refresh_from_db()
    return round


def round_advance(*, round: Round, now: dt.datetime | None = None) -> Round:
    """Every move due by the clock, like `poll_advance`. Imported rounds are opened by hand."""
    now = now or timezone.now()
    round.refresh_from_db()
    if (
        round.status == RoundStatus.DRAFT
        and round.source == RoundSource.MEMBERS
        and round.opens_at <= now < round.closes_at
    ):
        round = round_open(round=round, now=now)
    if round.status == RoundStatus.OPEN and round.closes_at <= now:
        round = round_close(round=round, now=now)
    if round.status == RoundStatus.CLOSED:
        round = round_publish(round=round, now=now)
    return round


def round_import_pabulib(
    *,
    election: PabulibElection,
    actor: Any = None,
    title: str | None = None,
    currency: str | None = None,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
) -> Round:
    """A draft round from a Pabulib file, with its projects and its (anonymous) votes.

    The rule's options follow the file's ``rule`` (``add1u``: utilitarian completion;
    ``-comparison``: comparison with greedy). Opening it draws the tie-breaking order; members do
    not vote in it: its votes are the file's.
    """
    vote_type = election.meta.get("vote_type", "approval")
    if vote_type not in ("approval", "choose-1"):
        raise RoundError(f"Only approval ballots can be imported, not {vote_type!r}.")
    code = (currency or election.meta.get("currency") or settings.PLATFORM_CURRENCY).upper()
    if code not in CURRENCY_EXPONENTS:
        raise RoundError(f"Unknown currency {code!r}.", fields={"currency": ["Unknown currency."]})
    unit = 10 ** CURRENCY_EXPONENTS[code]
    opens_at = opens_at or timezone.now()
    closes_at = closes_at or opens_at + dt.timedelta(days=1)
    options = options_from_rule(election.meta.get("rule", ""))

    def limit(key: str) -> int | None:
        value = election.meta.get(key, "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    minimum = limit("min_length") or 1
    maximum = limit("max_length")
    if maximum is not None and maximum < minimum:
        maximum = None
    with transaction.atomic():
        round = round_create(
            actor=actor,
            title=title or election.meta.get("description") or "Imported round",
            currency=code,
            budget=election.budget * unit,
            opens_at=opens_at,
            closes_at=closes_at,
            min_approvals=minimum,
            max_approvals=maximum,
            utilitarian_completion=options.utilitarian_completion,
            comparison=options.comparison,
            source=RoundSource.PABULIB,
            source_meta=dict(election.meta),
        )
        RoundProject.objects.bulk_create(
            RoundProject(
                round=round,
                code=project.project_id,
                position=n,
                name=(project.name or f"Project {project.project_id}")[:300],
                cost=project.cost * unit,
                kind=RoundProjectKind.LOAN
                if project.extra.get("kind") == RoundProjectKind.LOAN
                else RoundProjectKind.GRANT,
            )
            for n, project in enumerate(election.projects, 1)
        )
        RoundBallot.objects.bulk_create(
            (
                RoundBallot(round=round, voter_key=None, approved=list(v.approved))
                for v in election.votes
            ),
            batch_size=5000,
        )
    return round


def round_export_pabulib(*, round: Round) -> str:
    """The round's .pb file: the published one after close; before, the projects only (the
    ballots stay secret until the count)."""
    if round.status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED):
        return round.pb_file
    projects = list(round_projects(round=round))
    return dumps_pabulib(round_pabulib_election(round=round, projects=projects, votes=[]))


def round_project_investment_link(*, project: RoundProject, investment_id: int) -> RoundProject:
    """Record the grant or loan that funds a winner of a published round (once)."""
    updated = RoundProject.objects.filter(
        pk=project.pk,
        is_selected=True,
        investment_id__isnull=True,
        round__status=RoundStatus.PUBLISHED,
    ).update(investment_id=investment_id)
    if updated != 1:
        project.refresh_from_db()
        if project.investment_id is not None:
            raise InvestmentAlreadyLinkedError()
        raise RoundError(
            "Only a winner of a published round becomes an investment.",
            code="not_a_winner",
            status_code=409,
        )
    project.refresh_from_db()
    return project
