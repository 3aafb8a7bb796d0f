"""Tiers, budget lines, milestones and updates of a campaign."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Sum

from common.queue import enqueue_on_commit
from members.models import User

from ..enums import EDITABLE_STATUSES, PUBLIC_STATUSES, CampaignStatus, MilestoneStatus
from ..exceptions import CampaignError, CampaignTermsLockedError, MilestoneError
from ..models import BudgetLine, Campaign, CampaignUpdate, Milestone, Tier
from .projects import require_lead

# After success a lead may still plan (or re-plan) tranches within what was raised.
MILESTONE_EDITABLE = EDITABLE_STATUSES | {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}


def _editable(
    campaign: Campaign, actor: User, statuses: frozenset[str] = EDITABLE_STATUSES
) -> None:
    require_lead(campaign.project_id, actor)
    if campaign.status not in statuses:
        raise CampaignTermsLockedError("This campaign can no longer be changed this way.")


def _set(instance: Any, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    changed = [name for name in allowed if name in data]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        instance.save(update_fields=changed)


# --- tiers ------------------------------------------------------------------------------------


def tier_create(
    *,
    campaign: Campaign,
    actor: User,
    title: str,
    amount: int,
    description: str = "",
    limit: int | None = None,
    delivery_date: dt.date | None = None,
    position: int = 0,
) -> Tier:
    _editable(campaign, actor)
    return Tier.objects.create(
        campaign=campaign,
        title=title,
        amount=amount,
        description=description,
        limit=limit,
        delivery_date=delivery_date,
        position=position,
    )


def tier_update(*, tier: Tier, actor: User, data: dict[str, Any]) -> Tier:
    """Before launch anything may change; while live, only the text, the date or a higher limit."""
    campaign = tier.campaign
    require_lead(campaign.project_id, actor)
    if campaign.status in EDITABLE_STATUSES:
        _set(tier, data, ("title", "amount", "description", "limit", "delivery_date", "position"))
        return tier
    if campaign.status != CampaignStatus.LIVE:
        raise CampaignTermsLockedError("This tier can no longer change.")
    if "amount" in data and data["amount"] != tier.amount:
        raise CampaignTermsLockedError("A tier's amount is locked once the campaign is live.")
    if (
        "limit" in data
        and data["limit"] != tier.limit
        and (tier.limit is None or data["limit"] is None or data["limit"] < tier.limit)
    ):
        raise CampaignTermsLockedError("While live a tier's limit can only be raised.")
    _set(tier, data, ("title", "description", "limit", "delivery_date", "position"))
    return tier


def tier_delete(*, tier: Tier, actor: User) -> None:
    _editable(tier.campaign, actor)
    tier.delete()


# --- budget lines -----------------------------------------------------------------------------


def budget_line_create(
    *,
    campaign: Campaign,
    actor: User,
    label: str,
    amount: int,
    description: str = "",
    position: int = 0,
) -> BudgetLine:
    _editable(campaign, actor)
    return BudgetLine.objects.create(
        campaign=campaign, label=label, amount=amount, description=description, position=position
    )


def budget_line_update(*, line: BudgetLine, actor: User, data: dict[str, Any]) -> BudgetLine:
    _editable(line.campaign, actor)
    _set(line, data, ("label", "amount", "description", "position"))
    return line


def budget_line_delete(*, line: BudgetLine, actor: User) -> None:
    _editable(line.campaign, actor)
    line.delete()


# --- milestones -------------------------------------------------------------------------------


def _tranches_check(campaign: Campaign, *, excluding: int | None, adding: int) -> None:
    """Tranches add up to at most the goal before launch, at most what was raised after."""
    from ..selectors import campaign_progress_get

    qs = Milestone.objects.filter(campaign=campaign)
    if excluding is not None:
        qs = qs.exclude(pk=excluding)
    total = int(qs.aggregate(total=Sum("amount"))["total"] or 0) + adding
    if campaign.status in EDITABLE_STATUSES:
        ceiling, what = campaign.goal, "the goal"
    else:
        ceiling, what = campaign_progress_get(campaign).raised, "what was raised"
    if total > ceiling:
        raise MilestoneError(
            f"The tranches would add up to more than {what}.",
            code="tranches_exceed",
            fields={"amount": [f"The tranches add up to at most {what} ({ceiling})."]},
        )


def milestone_create(
    *,
    campaign: Campaign,
    actor: User,
    title: str,
    amount: int,
    description: str = "",
    due_date: dt.date | None = None,
    position: int = 0,
) -> Milestone:
    _editable(campaign, actor, MILESTONE_EDITABLE)
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        _tranches_check(campaign, excluding=None, adding=amount)
        return Milestone.objects.create(
            campaign=campaign,
            title=title,
            amount=amount,
            description=description,
            due_date=due_date,
            position=position,
        )


def milestone_update(*, milestone: Milestone, actor: User, data: dict[str, Any]) -> Milestone:
    campaign = milestone.campaign
    _editable(campaign, actor, MILESTONE_EDITABLE)
    if milestone.status != MilestoneStatus.PLANNED and "amount" in data:
        raise MilestoneError(
            "This tranche has been requested; its amount is fixed.", code="milestone_requested"
        )
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if "amount" in data:
            _tranches_check(campaign, excluding=milestone.pk, adding=data["amount"])
        _set(milestone, data, ("title", "amount", "description", "due_date", "position"))
    return milestone


def milestone_delete(*, milestone: Milestone, actor: User) -> None:
    _editable(milestone.campaign, actor, MILESTONE_EDITABLE)
    if milestone.status != MilestoneStatus.PLANNED:
        raise MilestoneError(
            "This tranche has been requested; it cannot be removed.", code="milestone_requested"
        )
    milestone.delete()


# --- updates ----------------------------------------------------------------------------------


def update_create(*, campaign: Campaign, actor: User, title: str, body: str) -> CampaignUpdate:
    """Publish news; it is emailed to the backers once the transaction commits."""
    from ..tasks import update_email_send

    require_lead(campaign.project_id, actor)
    if campaign.status not in PUBLIC_STATUSES:
        raise CampaignError(
            "Updates are for launched campaigns.", code="campaign_not_launched", status_code=409
        )
    if not title.strip() or not body.strip():
        raise DjangoValidationError({"body": ["An update needs a title and a text."]})
    with transaction.atomic():
        update = CampaignUpdate.objects.create(
            campaign=campaign, author=actor, title=title.strip(), body=body
        )
        enqueue_on_commit(update_email_send, update.pk)
    return update
