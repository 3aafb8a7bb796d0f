"""Event rows for the state machines, and the data sent with outgoing webhooks."""

from typing import Any

from django.utils import timezone

from common.db import CompiledInsert

from ..models import Campaign, CampaignEvent, Milestone, MilestoneEvent, Pledge, PledgeEvent
from ..selectors import backer_name, campaign_progress_get
from ..webhooks import webhook_event_emit


def campaign_event_add(
    campaign: Campaign, source: str, target: str, actor: Any = None, note: str = ""
) -> None:
    CampaignEvent.objects.create(
        campaign=campaign,
        from_status=source,
        to_status=target,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:2000],
    )


def pledge_event(source: str, target: str, actor: Any = None, note: str = "") -> PledgeEvent:
    """A pledge's move, not yet saved."""
    return PledgeEvent(
        from_status=source,
        to_status=target,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:500],
    )


def pledge_event_add(
    pledge: Pledge | int, source: str, target: str, actor: Any = None, note: str = ""
) -> None:
    event = pledge_event(source, target, actor, note)
    event.pledge_id = pledge if isinstance(pledge, int) else pledge.pk
    PLEDGE_EVENT_INSERT.insert(event)


# Every pledge's move appends one, the pledge request included.
PLEDGE_EVENT_INSERT = CompiledInsert(PledgeEvent)


def milestone_event_add(
    milestone: Milestone, source: str, target: str, actor: Any = None, note: str = ""
) -> None:
    MilestoneEvent.objects.create(
        milestone=milestone,
        from_status=source,
        to_status=target,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:500],
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def campaign_data(campaign: Campaign) -> dict[str, Any]:
    progress = campaign_progress_get(campaign)
    return {
        "campaign": {
            "id": campaign.pk,
            "slug": campaign.slug,
            "title": campaign.title,
            "project_id": campaign.project_id,
            "status": campaign.status,
            "funding_model": campaign.funding_model,
            "currency": campaign.currency,
            "goal": campaign.goal,
            "deadline": _iso(campaign.deadline),
        },
        "progress": {
            "raised": progress.raised,
            "committed": progress.committed,
            "matched": progress.matched,
            "backers": progress.backers,
            "percentage": progress.percentage,
        },
    }


def pledge_data(pledge: Pledge) -> dict[str, Any]:
    return {
        "pledge": {
            "id": pledge.pk,
            "campaign_id": pledge.campaign_id,
            "tier_id": pledge.tier_id,
            "amount": pledge.amount,
            "refunded_amount": pledge.refunded_amount,
            "currency": pledge.currency,
            "status": pledge.status,
            "backer": backer_name(pledge),
            "public_message": pledge.public_message,
            "created_at": _iso(pledge.created_at),
            "collected_at": _iso(pledge.collected_at),
            "ledger_entry_id": pledge.charge_entry_id,
        }
    }


def milestone_data(milestone: Milestone) -> dict[str, Any]:
    return {
        "milestone": {
            "id": milestone.pk,
            "campaign_id": milestone.campaign_id,
            "title": milestone.title,
            "amount": milestone.amount,
            "status": milestone.status,
            "disbursement_id": milestone.disbursement_id,
            "requested_at": _iso(milestone.requested_at),
            "paid_at": _iso(milestone.paid_at),
        }
    }


def emit_campaign(campaign: Campaign, event_type: str) -> None:
    webhook_event_emit(
        project_id=campaign.project_id, event_type=event_type, data=campaign_data(campaign)
    )


def emit_pledge(pledge: Pledge, event_type: str, project_id: int | None = None) -> None:
    if project_id is None:
        project_id = Campaign.objects.values_list("project_id", flat=True).get(
            pk=pledge.campaign_id
        )
    webhook_event_emit(project_id=project_id, event_type=event_type, data=pledge_data(pledge))


def emit_milestone(milestone: Milestone, event_type: str) -> None:
    project_id = Campaign.objects.values_list("project_id", flat=True).get(pk=milestone.campaign_id)
    data = milestone_data(milestone)
    data["sent_at"] = timezone.now().isoformat()
    webhook_event_emit(project_id=project_id, event_type=event_type, data=data)
