"""Reads: progress, chart points, aggregates for leads, public lists, ledger labels."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from common.microcache import public_memo

from .enums import (
    BACKER_STATUSES,
    COLLECTED_STATUSES,
    COMMITTED_STATUSES,
    DISBURSEMENT_TO_MILESTONE,
    PUBLIC_STATUSES,
    CampaignStatus,
    MilestoneStatus,
)
from .models import (
    Campaign,
    CampaignUpdate,
    Milestone,
    Pledge,
    Project,
    ProjectLead,
    Theme,
    WebhookDelivery,
    WebhookEndpoint,
)

DAY = dt.timedelta(days=1)


def counted_statuses(campaign: Campaign) -> frozenset[str]:
    """Pledges that count towards progress: paid ones, plus saved cards for all-or-nothing."""
    return BACKER_STATUSES if campaign.is_all_or_nothing else COLLECTED_STATUSES


@dataclass(frozen=True)
class Progress:
    campaign_id: int
    status: str
    funding_model: str
    currency: str
    goal: int
    stretch_goal: int | None
    raised: int  # collected, net of refunds
    committed: int  # saved cards not yet charged (all-or-nothing)
    matched: int  # matchfunding (0 until the fund matches)
    backers: int
    total: int  # raised + committed + matched
    percentage: int  # of the goal, rounded down
    days_left: int
    deadline: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def days_left_get(campaign: Campaign, *, now: dt.datetime | None = None) -> int:
    """Whole days until the deadline, rounded up, for a live campaign; 0 otherwise."""
    if campaign.status != CampaignStatus.LIVE:
        return 0
    remaining = campaign.deadline - (now or timezone.now())
    if remaining <= dt.timedelta(0):
        return 0
    return -(-remaining // DAY)


def matched_many(campaign_ids: list[int]) -> dict[int, int]:
    """Matchfunding per campaign, in minor units: the fund's pending and committed matches."""
    from fund.selectors.money import campaign_matched_many

    return campaign_matched_many(campaign_ids)


def campaigns_progress_many(
    campaigns: Iterable[Campaign], *, now: dt.datetime | None = None
) -> dict[int, Progress]:
    """Progress of several campaigns in one query: the one computation behind every surface."""
    campaigns = list(campaigns)
    ids = [c.pk for c in campaigns]
    rows = (
        Pledge.objects.filter(campaign_id__in=ids, status__in=BACKER_STATUSES)
        .values("campaign_id")
        .annotate(
            raised=Sum(
                Case(
                    When(status__in=COLLECTED_STATUSES, then=F("amount") - F("refunded_amount")),
                    default=0,
                )
            ),
            committed=Sum(Case(When(status__in=COMMITTED_STATUSES, then=F("amount")), default=0)),
            backers_all=Count("backer_id", distinct=True),
            backers_paid=Count("backer_id", distinct=True, filter=Q(status__in=COLLECTED_STATUSES)),
        )
        .order_by()
    )
    figures: dict[int, dict[str, Any]] = {row["campaign_id"]: dict(row) for row in rows}
    matched = matched_many(ids)
    now = now or timezone.now()
    result = {}
    for campaign in campaigns:
        row: dict[str, Any] = figures.get(campaign.pk, {})
        all_or_nothing = campaign.is_all_or_nothing
        raised = int(row.get("raised") or 0)
        committed = int(row.get("committed") or 0) if all_or_nothing else 0
        backers = int(row.get("backers_all" if all_or_nothing else "backers_paid") or 0)
        match = int(matched.get(campaign.pk, 0))
        total = raised + committed + match
        result[campaign.pk] = Progress(
            campaign_id=campaign.pk,
            status=campaign.status,
            funding_model=campaign.funding_model,
            currency=campaign.currency,
            goal=campaign.goal,
            stretch_goal=campaign.stretch_goal,
            raised=raised,
            committed=committed,
            matched=match,
            backers=backers,
            total=total,
            percentage=total * 100 // campaign.goal,
            days_left=days_left_get(campaign, now=now),
            deadline=campaign.deadline,
        )
    return result


def campaign_progress_get(campaign: Campaign, *, now: dt.datetime | None = None) -> Progress:
    """Progress of a campaign: raised, committed, matched, backers, percentage and days left.

    The API, the pages and the embeds all read it from here (through the same short cache).
    """
    return campaigns_progress_many([campaign], now=now)[campaign.pk]


def progress_cache_key(campaign_id: int) -> str:
    return f"campaigns:progress:{campaign_id}"


def progress_cached_peek(campaign_id: int) -> Progress | None:
    """The shared figures if they are in the cache, without touching the database."""
    if settings.CAMPAIGN_PUBLIC_CACHE_SECONDS <= 0:
        return None
    key = progress_cache_key(campaign_id)
    cached = public_memo.get(key)
    if cached is None:
        cached = cache.get(key)
        if isinstance(cached, Progress):
            public_memo.set(key, cached)
    return cached if isinstance(cached, Progress) else None


def campaign_progress_cached(campaign: Campaign) -> Progress:
    """The same figures, shared by every public surface for a few seconds."""
    ttl = settings.CAMPAIGN_PUBLIC_CACHE_SECONDS
    if ttl <= 0:
        return campaign_progress_get(campaign)
    key = progress_cache_key(campaign.pk)
    cached = cache.get(key)
    if isinstance(cached, Progress):
        return cached
    progress = campaign_progress_get(campaign)
    cache.set(key, progress, ttl)
    return progress


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    count: int
    amount: int
    cumulative: int


def campaign_pledges_by_day(campaign: Campaign) -> list[DayPoint]:
    """Counted pledges per day of creation, with the running total."""
    rows = (
        Pledge.objects.filter(campaign_id=campaign.pk, status__in=counted_statuses(campaign))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(count=Count("id"), amount=Sum(F("amount") - F("refunded_amount")))
        .order_by("day")
    )
    points: list[DayPoint] = []
    running = 0
    for row in rows:
        running += int(row["amount"] or 0)
        points.append(DayPoint(row["day"], int(row["count"]), int(row["amount"] or 0), running))
    return points


@dataclass(frozen=True)
class Chart:
    """An SVG line of the running total over the campaign's days, in integer coordinates."""

    width: int
    height: int
    points: str  # "x,y x,y …" for <polyline>
    area: str  # the same, closed along the baseline, for <polygon>
    goal_y: int | None
    days: list[DayPoint]


CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_PAD = 8


def campaign_chart_get(campaign: Campaign, *, days: list[DayPoint] | None = None) -> Chart:
    days = campaign_pledges_by_day(campaign) if days is None else days
    start = (campaign.launched_at or campaign.created_at).astimezone(
        timezone.get_current_timezone()
    )
    start_day = start.date()
    end_day = campaign.deadline.astimezone(timezone.get_current_timezone()).date()
    if days:
        start_day = min(start_day, days[0].day)
        end_day = max(end_day, days[-1].day)
    span = max((end_day - start_day).days, 1)
    top = max([campaign.goal, *(d.cumulative for d in days)])
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    base = CHART_HEIGHT - CHART_PAD

    def y_of(value: int) -> int:
        return base - value * inner_h // top

    coordinates = [(CHART_PAD, base)]
    for point in days:
        x = CHART_PAD + (point.day - start_day).days * inner_w // span
        coordinates.append((x, coordinates[-1][1]))  # flat until the day's pledges
        coordinates.append((x, y_of(point.cumulative)))
    last_x = CHART_PAD + min((timezone.localdate() - start_day).days, span) * inner_w // span
    if last_x > coordinates[-1][0]:
        coordinates.append((last_x, coordinates[-1][1]))
    line = " ".join(f"{x},{y}" for x, y in coordinates)
    area = f"{line} {coordinates[-1][0]},{base} {CHART_PAD},{base}"
    return Chart(CHART_WIDTH, CHART_HEIGHT, line, area, y_of(campaign.goal), days)


# --- public lists -----------------------------------------------------------------------------


def theme_list() -> QuerySet[Theme]:
    return Theme.objects.all()


def campaign_public_list(
    *, status: str | None = None, theme: str | None = None
) -> QuerySet[Campaign]:
    qs = Campaign.objects.filter(status__in=PUBLIC_STATUSES).select_related(
        "project", "project__theme"
    )
    if status:
        qs = qs.filter(status=status)
    if theme:
        qs = qs.filter(project__theme__slug=theme)
    return qs


def project_public_list() -> QuerySet[Project]:
    """Projects with a campaign the public can see."""
    return Project.objects.filter(
        pk__in=Campaign.objects.filter(status__in=PUBLIC_STATUSES).values("project_id")
    )


def campaign_public_get(*, slug: str | None = None, pk: int | None = None) -> Campaign | None:
    qs = campaign_public_list()
    if slug is not None:
        return qs.filter(slug=slug).first()
    return qs.filter(pk=pk).first() if pk is not None else None


def campaign_backers_public(campaign: Campaign) -> QuerySet[Pledge]:
    return (
        Pledge.objects.filter(campaign_id=campaign.pk, status__in=counted_statuses(campaign))
        .select_related("backer")
        .only(
            "id",
            "is_anonymous",
            "public_message",
            "created_at",
            "backer__public_identity",
            "backer__display_name",
            "backer__pseudonym",
            "backer__deleted_at",
        )
    )


def backer_name(pledge: Pledge) -> str:
    """The name a backer chose to show on this pledge: never an email."""
    if pledge.is_anonymous:
        return "Anonymous"
    return pledge.backer.public_name


def campaign_updates(campaign: Campaign) -> QuerySet[CampaignUpdate]:
    return CampaignUpdate.objects.filter(campaign_id=campaign.pk)


def campaign_milestones(campaign: Campaign) -> QuerySet[Milestone]:
    return Milestone.objects.filter(campaign_id=campaign.pk)


@dataclass(frozen=True)
class MilestoneView:
    milestone: Milestone
    status: str  # as the disbursement stands, even before the milestone has caught up
    disbursement_status: str | None
    paid_at: dt.datetime | None


def milestones_with_payouts(campaign: Campaign) -> list[MilestoneView]:
    """Milestones with where their tranche's payout stands (read from payments)."""
    from payments.models import Disbursement

    milestones = list(campaign_milestones(campaign))
    ids = [m.disbursement_id for m in milestones if m.disbursement_id]
    payouts = {
        d.pk: d for d in Disbursement.objects.filter(pk__in=ids).only("id", "status", "paid_at")
    }
    views = []
    for milestone in milestones:
        payout = payouts.get(milestone.disbursement_id) if milestone.disbursement_id else None
        status = milestone.status
        if payout is not None and milestone.status != MilestoneStatus.PAID:
            status = DISBURSEMENT_TO_MILESTONE.get(payout.status, status)
        views.append(
            MilestoneView(
                milestone=milestone,
                status=status,
                disbursement_status=payout.status if payout else None,
                paid_at=milestone.paid_at or (payout.paid_at if payout else None),
            )
        )
    return views


def campaign_escrow_code(campaign: Campaign) -> str:
    from ledger.chart import account_code

    return account_code("campaign_escrow", "campaign", campaign.pk, campaign.currency)


# --- leads -----------------------------------------------------------------------------------


def project_is_led_by(project: Project | int, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    project_id = project if isinstance(project, int) else project.pk
    return ProjectLead.objects.filter(project_id=project_id, user_id=user.pk).exists()


def lead_projects(user: Any) -> QuerySet[Project]:
    return (
        Project.objects.filter(team__user_id=user.pk)
        .select_related("theme")
        .prefetch_related("criteria", "team__user")
        .distinct()
    )


def lead_campaigns(user: Any) -> QuerySet[Campaign]:
    return Campaign.objects.filter(project__team__user_id=user.pk).select_related(
        "project", "project__theme"
    )


def pledges_per_tier(campaign: Campaign) -> list[dict[str, Any]]:
    rows = (
        Pledge.objects.filter(campaign_id=campaign.pk, status__in=counted_statuses(campaign))
        .values("tier_id", "tier__title")
        .annotate(count=Count("id"), amount=Sum(F("amount") - F("refunded_amount")))
        .order_by(F("tier_id").asc(nulls_last=True))
    )
    return [
        {
            "tier_id": row["tier_id"],
            "title": row["tier__title"] or "",
            "count": int(row["count"]),
            "amount": int(row["amount"] or 0),
        }
        for row in rows
    ]


def pledges_per_status(campaign: Campaign) -> list[dict[str, Any]]:
    rows = (
        Pledge.objects.filter(campaign_id=campaign.pk)
        .values("status")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("status")
    )
    return [
        {"status": r["status"], "count": int(r["count"]), "amount": int(r["amount"] or 0)}
        for r in rows
    ]


def campaign_backers_for_lead(campaign: Campaign) -> QuerySet[Pledge]:
    return (
        Pledge.objects.filter(campaign_id=campaign.pk)
        .exclude(status__in=["pending", "expired"])
        .select_related("backer", "tier")
    )


@dataclass(frozen=True)
class Funds:
    currency: str
    collected: int  # charged, gross
    refunded: int
    raised: int  # collected − refunded
    in_escrow: int  # the escrow account's balance in the ledger
    disbursed: int  # tranches paid
    pending_disbursement: int  # tranches requested, approved or on their way, not yet paid
    reserved: int  # tranches requested or approved: promised, but still in the escrow
    escrow_account: str | None


def campaign_funds_get(campaign: Campaign) -> Funds:
    from ledger.models import Account

    from .enums import PledgeStatus

    charged = Pledge.objects.filter(
        campaign_id=campaign.pk,
        status__in=[*COLLECTED_STATUSES, PledgeStatus.REFUNDED],
    ).aggregate(collected=Sum("amount"), refunded=Sum("refunded_amount"))
    account = (
        Account.objects.filter(
            purpose="campaign_escrow",
            owner_type="campaign",
            owner_id=campaign.pk,
            currency=campaign.currency,
        )
        .only("code", "balance")
        .first()
    )
    tranches: dict[str, Any] = {"paid": 0, "pending": 0, "reserved": 0}
    if account is not None:
        from payments.models import Disbursement

        tranches = Disbursement.objects.filter(source_account=account).aggregate(
            paid=Sum("amount", filter=Q(status="paid")),
            pending=Sum("amount", filter=Q(status__in=["requested", "approved", "submitted"])),
            reserved=Sum("amount", filter=Q(status__in=["requested", "approved"])),
        )
    collected = int(charged["collected"] or 0)
    refunded = int(charged["refunded"] or 0)
    return Funds(
        currency=campaign.currency,
        collected=collected,
        refunded=refunded,
        raised=collected - refunded,
        in_escrow=int(account.balance) if account else 0,
        disbursed=int(tranches["paid"] or 0),
        pending_disbursement=int(tranches["pending"] or 0),
        reserved=int(tranches["reserved"] or 0),
        escrow_account=account.code if account else None,
    )


def lead_ledger_postings(user: Any, *, campaign_id: int | None = None) -> QuerySet[Any]:
    """Postings on the escrow accounts of the campaigns this person leads."""
    from ledger.models import Posting

    campaign_ids = lead_campaigns(user).values_list("id", flat=True)
    if campaign_id is not None:
        campaign_ids = campaign_ids.filter(id=campaign_id)
    return Posting.objects.filter(
        account__purpose="campaign_escrow",
        account__owner_type="campaign",
        account__owner_id__in=list(campaign_ids),
    ).select_related("entry", "account")


def lead_milestones(user: Any) -> QuerySet[Milestone]:
    return Milestone.objects.filter(campaign__project__team__user_id=user.pk).select_related(
        "campaign"
    )


def lead_webhook_endpoints(user: Any) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(project__team__user_id=user.pk).select_related("project")


def lead_webhook_deliveries(user: Any) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__project__team__user_id=user.pk).select_related(
        "endpoint"
    )


def backer_pledges(user: Any) -> QuerySet[Pledge]:
    return Pledge.objects.filter(backer_id=user.pk).select_related("campaign", "tier")


def campaign_backer_user_ids(campaign: Campaign, *, after_user_id: int = 0) -> QuerySet[Any]:
    """The people who back a campaign (committed or paid), in id order, for emailing."""
    return (
        Pledge.objects.filter(
            campaign_id=campaign.pk, status__in=BACKER_STATUSES, backer_id__gt=after_user_id
        )
        .values_list("backer_id", flat=True)
        .distinct()
        .order_by("backer_id")
    )


# --- other apps ------------------------------------------------------------------------------


def ledger_owner_labels(ids: Iterable[int]) -> dict[int, str]:
    """Public labels of campaign-owned ledger accounts: {campaign id: "Campaign: <title>"}."""
    return {
        pk: f"Campaign: {title}"
        for pk, title in Campaign.objects.filter(pk__in=list(ids)).values_list("id", "title")
    }
