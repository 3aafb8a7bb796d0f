"""Demo governance: a decided strategy poll (majority judgment), an open resolution and a funded
round of eight projects, voted by the demo members. Runs after members.demo.seed."""

from datetime import timedelta
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import Project
from members.enums import MembershipStatus
from members.models import Membership, User

from .enums import PollMethod, RoundComparison, RoundProjectKind
from .models import Poll, Round
from .services.governance import (
    poll_ballot_submit,
    poll_close,
    poll_create,
    poll_open,
    poll_publish,
)
from .services.rounds import (
    round_ballot_submit,
    round_close,
    round_create,
    round_open,
    round_project_add,
    round_publish,
)

STRATEGY_POLL = "Investment priorities of the common fund for 2026"
RESOLUTION_POLL = "Raise the liquidity reserve to 15% of savings"
ROUND = "Digital inclusion round, spring 2026"

# Option, and how members tend to grade it (0 Reject … 5 Excellent).
PRIORITIES = [
    ("Digital inclusion", [1, 3, 4, 4, 5, 5]),
    ("Open data and digital commons", [1, 2, 3, 4, 4, 5]),
    ("Health and care", [0, 2, 3, 3, 4, 5]),
    ("Education and skills", [1, 2, 3, 3, 4, 4]),
    ("Environment and repair", [0, 1, 2, 3, 4, 5]),
    ("Democracy and civic tech", [0, 1, 2, 2, 3, 4]),
]

# Name, cost in euros, kind, description, how popular (share of members approving).
PROJECTS = [
    (
        "Repair café kit for libraries",
        6_000,
        RoundProjectKind.GRANT,
        "Tools and training so that ten libraries host monthly repair cafés.",
        0.45,
    ),
    (
        "Digital literacy bus",
        18_000,
        RoundProjectKind.GRANT,
        "A bus with laptops visiting rural villages every week.",
        0.55,
    ),
    (
        "Open map of accessible places",
        9_000,
        RoundProjectKind.GRANT,
        "Volunteers map step-free access; the data is published under ODbL.",
        0.35,
    ),
    (
        "Refurbished laptops for students",
        15_000,
        RoundProjectKind.LOAN,
        "A cooperative refurbishes laptops; the loan is repaid from sales.",
        0.40,
    ),
    (
        "Community fibre in the valley",
        24_000,
        RoundProjectKind.LOAN,
        "A residents' cooperative lays the last kilometre of fibre.",
        0.25,
    ),
    (
        "Free software help desk",
        7_500,
        RoundProjectKind.GRANT,
        "A weekly help desk for associations moving to free software.",
        0.30,
    ),
    (
        "Citizen assembly platform",
        12_000,
        RoundProjectKind.GRANT,
        "Open-source tools for the town's citizen assembly.",
        0.20,
    ),
    (
        "Telecare for isolated elders",
        20_000,
        RoundProjectKind.GRANT,
        "Simple video calls and check-ins run by a care association.",
        0.35,
    ),
]


# The platform's demo projects (campaigns.demo) that applied to the round with these projects,
# when they are there: a funded winner's grant or loan is paid to the project's payout account.
APPLICANTS = {
    "Repair café kit for libraries": "reparer-plutot-que-jeter",
    "Digital literacy bus": "ateliers-du-clic",
    "Open map of accessible places": "acces-handicap-numerique",
    "Refurbished laptops for students": "ecole-du-code-libre",
    "Free software help desk": "tiers-lieu-numerique",
    "Citizen assembly platform": "voix-citoyennes",
    "Telecare for isolated elders": "sante-connectee-solidaire",
}


def _members() -> list[User]:
    return list(
        User.objects.filter(memberships__status=MembershipStatus.ACTIVE, is_active=True).order_by(
            "pk"
        )
    )


@transaction.atomic
def seed_governance(*, context: dict[str, Any]) -> None:
    if Poll.objects.filter(title=STRATEGY_POLL).exists():
        return
    rng = context["rng"]
    now = timezone.now()
    voters = _members()
    demo = context.get("demo")
    if not voters or not Membership.objects.filter(status=MembershipStatus.ACTIVE).exists():
        return
    staff = context.get("staff") or {}
    moderator = next((u for role, u in staff.items() if str(role) == "moderator"), None)

    # A decided strategy poll, by majority judgment.
    start = now - timedelta(days=30)
    poll = poll_create(
        actor=moderator,
        title=STRATEGY_POLL,
        description=(
            "Which themes should the common fund favour this year? Grade every theme; the "
            "fund's grants and loans will follow the ranking."
        ),
        method=PollMethod.MAJORITY_JUDGMENT,
        options=[name for name, _grades in PRIORITIES],
        opens_at=start,
        closes_at=start + timedelta(days=14),
        quorum=Fraction(1, 4),
    )
    poll_open(poll=poll, actor=moderator, now=start)
    for n, voter in enumerate(voters):
        if rng.random() < 0.8:
            grades = {str(k): rng.choice(g) for k, (_name, g) in enumerate(PRIORITIES, 1)}
            poll_ballot_submit(
                poll=poll, user=voter, ballot={"grades": grades}, now=start + timedelta(hours=n + 1)
            )
    poll_close(poll=poll, actor=moderator, now=poll.closes_at)
    poll_publish(poll=poll, actor=moderator, now=poll.closes_at + timedelta(hours=1))

    # An open resolution; the demo user has not voted yet, so they can try.
    start = now - timedelta(days=2)
    resolution = poll_create(
        actor=moderator,
        title=RESOLUTION_POLL,
        description=(
            "The liquidity reserve keeps part of the savings available for redemptions. This "
            "resolution raises it from 10% to 15%. Adopted with more than half of yes and no, "
            "if at least a quarter of members vote."
        ),
        method=PollMethod.RESOLUTION,
        opens_at=start,
        closes_at=now + timedelta(days=12),
        quorum=Fraction(1, 4),
        threshold=Fraction(1, 2),
    )
    poll_open(poll=resolution, actor=moderator, now=start)
    for n, voter in enumerate(voters):
        if voter != demo and rng.random() < 0.35:
            choice = rng.choices(["yes", "no", "abstain"], weights=[6, 3, 1])[0]
            poll_ballot_submit(
                poll=resolution,
                user=voter,
                ballot={"choice": choice},
                now=start + timedelta(minutes=10 * (n + 1)),
            )

    # A funded round: members approved projects, the Method of Equal Shares allocated 60,000 EUR.
    if Round.objects.filter(title=ROUND).exists():
        return
    start = now - timedelta(days=25)
    round = round_create(
        actor=moderator,
        title=ROUND,
        description=(
            "60,000 EUR from the grants pool and lendable savings for digital inclusion. "
            "Approve every project you support."
        ),
        currency="EUR",
        budget=60_000_00,
        opens_at=start,
        closes_at=start + timedelta(days=14),
        utilitarian_completion=True,
        comparison=RoundComparison.SATISFACTION,
    )
    applicants = dict(
        Project.objects.filter(slug__in=APPLICANTS.values()).values_list("slug", "pk")
    )
    for name, euros, kind, description, _popularity in PROJECTS:
        round_project_add(
            round=round,
            name=name,
            cost=euros * 100,
            kind=kind,
            description=description,
            campaign_project_id=applicants.get(APPLICANTS.get(name, "")),
        )
    round_open(round=round, actor=moderator, now=start)
    for n, voter in enumerate(voters):
        approved = [str(k) for k, project in enumerate(PROJECTS, 1) if rng.random() < project[4]]
        if approved and rng.random() < 0.85:
            round_ballot_submit(
                round=round, user=voter, approved=approved, now=start + timedelta(hours=n + 1)
            )
    round_close(round=round, actor=moderator, now=round.closes_at)
    round_publish(round=round, actor=moderator, now=round.closes_at + timedelta(hours=1))
