"""A campaign's life: draft → in review (⇄ changes requested) → approved → live →
succeeded | failed | cancelled, then succeeded → disbursing → completed."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.text import slugify

from common.money import CURRENCY_EXPONENTS
from common.queue import enqueue_on_commit
from members.models import User

from ..enums import (
    EDITABLE_STATUSES,
    CampaignStatus,
    FundingModel,
    MilestoneStatus,
    PledgeStatus,
    SSECriterion,
    WebhookEventType,
)
from ..exceptions import CampaignError, CampaignInvalidError, CampaignTermsLockedError
from ..machines import campaign_machine
from ..models import Campaign, Milestone, Pledge, Project, ProjectCriterion
from ..selectors import campaign_progress_get, project_is_led_by
from .events import campaign_event_add, emit_campaign
from .projects import require_lead

TERMS = ("goal", "currency", "funding_model", "starts_at", "deadline")


def _unique_campaign_slug(base: str) -> str:
    base = (slugify(base) or "campaign")[:80]
    slug, n = base, 1
    while Campaign.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def duration_check(start: dt.datetime, deadline: dt.datetime) -> None:
    """A campaign runs from 1 to 60 days (settings CAMPAIGN_MIN_DAYS, CAMPAIGN_MAX_DAYS)."""
    low = dt.timedelta(days=settings.CAMPAIGN_MIN_DAYS)
    high = dt.timedelta(days=settings.CAMPAIGN_MAX_DAYS)
    if not low <= deadline - start <= high:
        raise DjangoValidationError(
            {
                "deadline": [
                    f"The deadline must fall {settings.CAMPAIGN_MIN_DAYS} to "
                    f"{settings.CAMPAIGN_MAX_DAYS} days after the start."
                ]
            }
        )


def _terms_check(
    *,
    goal: int,
    stretch_goal: int | None,
    currency: str,
    funding_model: str,
    starts_at: dt.datetime | None,
    deadline: dt.datetime,
) -> None:
    errors: dict[str, list[str]] = {}
    if type(goal) is not int or goal <= 0:
        errors["goal"] = ["The goal is a positive amount in minor units."]
    if stretch_goal is not None and stretch_goal <= goal:
        errors["stretch_goal"] = ["The stretch goal must be above the goal."]
    if currency not in CURRENCY_EXPONENTS:
        errors["currency"] = ["Unknown currency."]
    if funding_model not in FundingModel.values:
        errors["funding_model"] = ["Unknown funding model."]
    now = timezone.now()
    if starts_at is not None and starts_at < now - dt.timedelta(minutes=5):
        errors["starts_at"] = ["The start cannot be in the past."]
    if errors:
        raise DjangoValidationError(errors)
    duration_check(max(starts_at or now, now), deadline)


def campaign_create(
    *,
    project: Project,
    actor: User,
    title: str,
    goal: int,
    deadline: dt.datetime,
    currency: str | None = None,
    funding_model: str = FundingModel.ALL_OR_NOTHING,
    stretch_goal: int | None = None,
    starts_at: dt.datetime | None = None,
) -> Campaign:
    require_lead(project, actor)
    currency = currency or settings.PLATFORM_CURRENCY
    _terms_check(
        goal=goal,
        stretch_goal=stretch_goal,
        currency=currency,
        funding_model=funding_model,
        starts_at=starts_at,
        deadline=deadline,
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            project=project,
            title=title,
            slug=_unique_campaign_slug(title),
            goal=goal,
            stretch_goal=stretch_goal,
            currency=currency,
            funding_model=funding_model,
            starts_at=starts_at,
            deadline=deadline,
            created_by=actor,
        )
        campaign_event_add(campaign, "", CampaignStatus.DRAFT, actor, "created")
    return campaign


def campaign_update(*, campaign: Campaign, actor: User, data: dict[str, Any]) -> Campaign:
    """Terms change only before submission; the stretch goal may move while live."""
    require_lead(campaign.project_id, actor)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        touched_terms = [name for name in (*TERMS, "title") if name in data]
        if touched_terms and campaign.status not in EDITABLE_STATUSES:
            raise CampaignTermsLockedError()
        if "stretch_goal" in data and campaign.status not in {
            *EDITABLE_STATUSES,
            CampaignStatus.LIVE,
        }:
            raise CampaignTermsLockedError("The stretch goal can no longer change.")
        values = {
            name: data.get(name, getattr(campaign, name)) for name in (*TERMS, "stretch_goal")
        }
        _terms_check(**values)
        changed = [name for name in (*TERMS, "stretch_goal", "title") if name in data]
        for name in changed:
            setattr(campaign, name, data[name])
        if changed:
            campaign.updated_at = timezone.now()
            campaign.save(update_fields=[*changed, "updated_at"])
    return campaign


def _move(
    campaign: Campaign, target: str, actor: Any = None, note: str = "", **changes: Any
) -> Campaign:
    """Compare-and-set the campaign's status and record the move; inside a transaction."""
    source = str(campaign.status)
    campaign_machine.compare_and_set(
        Campaign.objects.all(),
        pk=campaign.pk,
        source=source,
        target=target,
        updated_at=timezone.now(),
        **changes,
    )
    campaign_event_add(campaign, source, target, actor, note)
    campaign.refresh_from_db()
    return campaign


def campaign_submit_check(campaign: Campaign) -> None:
    """What a campaign needs before a moderator looks at it."""
    errors: dict[str, list[str]] = {}
    project = campaign.project
    if not project.description.strip():
        errors["description"] = ["Describe the project."]
    declared = set(
        ProjectCriterion.objects.filter(project=project).values_list("criterion", flat=True)
    )
    missing = [c for c in SSECriterion.values if c not in declared]
    if missing:
        errors["criteria"] = [f"Declare the criterion {c}." for c in missing]
    if not campaign.budget_lines.exists():
        errors["budget_lines"] = ["Say what the money pays for: add at least one budget line."]
    tranches = campaign.milestones.aggregate(total=Sum("amount"))["total"]
    if not tranches:
        errors["milestones"] = ["Add at least one milestone: it releases the money."]
    elif tranches > campaign.goal:
        errors["milestones"] = ["The tranches add up to more than the goal."]
    if errors:
        raise CampaignInvalidError(fields=errors)
    duration_check(max(campaign.starts_at or timezone.now(), timezone.now()), campaign.deadline)


def campaign_submit(*, campaign: Campaign, actor: User) -> Campaign:
    require_lead(campaign.project_id, actor)
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update().select_related("project").get(pk=campaign.pk)
        )
        campaign_machine.check(campaign.status, CampaignStatus.IN_REVIEW)
        campaign_submit_check(campaign)
        return _move(campaign, CampaignStatus.IN_REVIEW, actor, "submitted for review")


def campaign_review(*, campaign: Campaign, actor: User, approve: bool, note: str = "") -> Campaign:
    """A moderator approves the campaign or asks for changes."""
    if project_is_led_by(campaign.project_id, actor):
        raise CampaignError(
            "A moderator cannot review their own project.",
            code="conflict_of_interest",
            status_code=403,
        )
    if not approve and not note.strip():
        raise DjangoValidationError({"note": ["Say what needs to change."]})
    target = CampaignStatus.APPROVED if approve else CampaignStatus.CHANGES_REQUESTED
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        return _move(campaign, target, actor, note, review_note=note[:2000])


def campaign_launch(*, campaign: Campaign, actor: Any = None) -> Campaign:
    """Go live: from now on the goal and the deadline are locked."""
    if actor is not None:
        require_lead(campaign.project_id, actor)
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        campaign_machine.check(campaign.status, CampaignStatus.LIVE)
        duration_check(now, campaign.deadline)
        campaign = _move(campaign, CampaignStatus.LIVE, actor, "launched", launched_at=now)
        emit_campaign(campaign, WebhookEventType.CAMPAIGN_LAUNCHED)
    return campaign


def goal_reached(campaign: Campaign) -> bool:
    progress = campaign_progress_get(campaign)
    if campaign.is_all_or_nothing:
        return progress.total >= campaign.goal
    # Keep-it-all keeps whatever came in, including charges still under way at the deadline.
    return (
        progress.raised > 0
        or Pledge.objects.filter(campaign_id=campaign.pk, status=PledgeStatus.COLLECTING).exists()
    )


def campaign_close(*, campaign: Campaign, now: dt.datetime | None = None) -> Campaign:
    """Close a live campaign whose deadline has passed: succeeded or failed."""
    from ..tasks import campaign_pledges_settle

    now = now or timezone.now()
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.LIVE or campaign.deadline > now:
            return campaign
        reached = goal_reached(campaign)
        target = CampaignStatus.SUCCEEDED if reached else CampaignStatus.FAILED
        note = "goal reached at the deadline" if reached else "goal not reached at the deadline"
        campaign = _move(campaign, target, None, note, closed_at=now)
        emit_campaign(
            campaign,
            WebhookEventType.CAMPAIGN_SUCCEEDED if reached else WebhookEventType.CAMPAIGN_FAILED,
        )
        enqueue_on_commit(campaign_pledges_settle, campaign.pk)
    return campaign


def campaign_cancel(
    *, campaign: Campaign, actor: User | None, reason: str = "", by_moderator: bool = False
) -> Campaign:
    """Cancel a campaign; everything collected is refunded, saved cards are released."""
    from ..tasks import campaign_pledges_settle

    if actor is not None and not by_moderator:
        require_lead(campaign.project_id, actor)
    if by_moderator and not reason.strip():
        raise DjangoValidationError({"reason": ["Say why the campaign is cancelled."]})
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if (
            campaign.status == CampaignStatus.SUCCEEDED
            and Milestone.objects.filter(
                campaign=campaign, status__in=[MilestoneStatus.REQUESTED, MilestoneStatus.APPROVED]
            ).exists()
        ):
            raise CampaignError(
                "A tranche is being paid out; this campaign can no longer be cancelled.",
                code="tranche_in_progress",
                status_code=409,
            )
        campaign = _move(
            campaign,
            CampaignStatus.CANCELLED,
            actor,
            reason or "cancelled",
            cancelled_at=timezone.now(),
            cancel_reason=reason[:500],
        )
        if campaign.launched_at is not None:
            emit_campaign(campaign, WebhookEventType.CAMPAIGN_CANCELLED)
            enqueue_on_commit(campaign_pledges_settle, campaign.pk)
    return campaign


def campaign_disbursing_start(campaign: Campaign, actor: Any = None) -> Campaign:
    """The first tranche was requested; inside the caller's transaction."""
    if campaign.status == CampaignStatus.SUCCEEDED:
        return _move(campaign, CampaignStatus.DISBURSING, actor, "first tranche requested")
    return campaign


def campaign_complete_if_done(campaign_id: int) -> Campaign | None:
    """Every milestone paid: the campaign is complete. Inside the caller's transaction."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status != CampaignStatus.DISBURSING:
        return None
    if Milestone.objects.filter(campaign=campaign).exclude(status=MilestoneStatus.PAID).exists():
        return None
    campaign = _move(
        campaign, CampaignStatus.COMPLETED, None, "every tranche paid", completed_at=timezone.now()
    )
    emit_campaign(campaign, WebhookEventType.CAMPAIGN_COMPLETED)
    return campaign


def campaigns_close_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Close every live campaign past its deadline; returns their ids."""
    now = now or timezone.now()
    ids = list(
        Campaign.objects.filter(status=CampaignStatus.LIVE, deadline__lte=now)
        .order_by("deadline")
        .values_list("id", flat=True)[:limit]
    )
    for pk in ids:
        campaign_close(campaign=Campaign.objects.get(pk=pk), now=now)
    return ids


def campaigns_launch_due(*, now: dt.datetime | None = None) -> list[int]:
    """Launch approved campaigns whose scheduled start has come."""
    now = now or timezone.now()
    launched = []
    due = Campaign.objects.filter(
        status=CampaignStatus.APPROVED, starts_at__isnull=False, starts_at__lte=now
    )
    for campaign in due:
        try:
            campaign_launch(campaign=campaign)
        except (CampaignError, DjangoValidationError):
            continue  # e.g. the deadline is now too close: the lead decides
        launched.append(campaign.pk)
    return launched
