"""Milestone tranches: the lead requests one, the treasurer approves the disbursement in the
payments back office, a worker pays it; the milestone follows the disbursement's state."""

from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from members.models import User

from ..enums import DISBURSEMENT_TO_MILESTONE, CampaignStatus, MilestoneStatus, WebhookEventType
from ..exceptions import MilestoneError
from ..machines import milestone_machine
from ..models import Campaign, Milestone
from ..selectors import campaign_funds_get
from . import payments_port
from .events import emit_milestone, milestone_event_add
from .lifecycle import campaign_complete_if_done, campaign_disbursing_start
from .projects import require_lead


def milestone_move(
    milestone: Milestone, target: str, actor: Any = None, note: str = "", **changes: Any
) -> Milestone:
    source = str(milestone.status)
    milestone_machine.compare_and_set(
        Milestone.objects.all(), pk=milestone.pk, source=source, target=target, **changes
    )
    milestone_event_add(milestone, source, target, actor, note)
    for name, value in changes.items():
        setattr(milestone, name, value)
    milestone.status = target
    return milestone


def _available_check(campaign: Campaign, milestone: Milestone) -> None:
    """The tranches asked for never exceed what was raised, nor what the escrow holds."""
    funds = campaign_funds_get(campaign)
    engaged = int(
        Milestone.objects.filter(
            campaign=campaign,
            status__in=[MilestoneStatus.REQUESTED, MilestoneStatus.APPROVED, MilestoneStatus.PAID],
        )
        .exclude(pk=milestone.pk)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    if engaged + milestone.amount > funds.raised:
        raise MilestoneError(
            "The tranches asked for would exceed what was raised.",
            code="tranches_exceed_raised",
            status_code=409,
        )
    if milestone.amount > funds.in_escrow - funds.reserved:
        raise MilestoneError(
            "The escrow does not hold this tranche yet: charges are still being collected.",
            code="escrow_insufficient",
            status_code=409,
        )


def milestone_request(*, milestone: Milestone, actor: User, note: str = "") -> Milestone:
    """The lead asks for a tranche; it becomes a disbursement waiting for the treasurer."""
    require_lead(milestone.campaign.project_id, actor)
    payments_port.payee_check(project_id=milestone.campaign.project_id)
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().get(pk=milestone.campaign_id)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if campaign.status not in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}:
            raise MilestoneError(
                "Tranches are paid once the campaign has succeeded.",
                code="campaign_not_succeeded",
                status_code=409,
            )
        milestone_machine.check(milestone.status, MilestoneStatus.REQUESTED)
        _available_check(campaign, milestone)
        milestone_move(
            milestone,
            MilestoneStatus.REQUESTED,
            actor,
            note or "tranche requested",
            requested_by=actor,
            requested_at=timezone.now(),
            approved_at=None,
            failure_reason="",
            disbursement_id=None,
        )
        attempt = milestone.events.filter(to_status=MilestoneStatus.REQUESTED).count()
        milestone.campaign = campaign
        disbursement = payments_port.tranche_disbursement_open(
            milestone=milestone, attempt=attempt, actor=actor
        )
        Milestone.objects.filter(pk=milestone.pk).update(disbursement_id=disbursement.pk)
        milestone.disbursement_id = disbursement.pk
        campaign_disbursing_start(campaign, actor)
        emit_milestone(milestone, WebhookEventType.MILESTONE_REQUESTED)
    return milestone


def milestone_disbursement_ensure(*, milestone_id: int) -> Milestone:
    """Create the requested milestone's disbursement if it has none (safe to repeat)."""
    with transaction.atomic(durable=True):
        milestone = (
            Milestone.objects.select_for_update().select_related("campaign").get(pk=milestone_id)
        )
        if milestone.status != MilestoneStatus.REQUESTED or milestone.disbursement_id is not None:
            return milestone
        attempt = milestone.events.filter(to_status=MilestoneStatus.REQUESTED).count()
        disbursement = payments_port.tranche_disbursement_open(
            milestone=milestone, attempt=attempt, actor=milestone.requested_by
        )
        Milestone.objects.filter(pk=milestone.pk).update(disbursement_id=disbursement.pk)
        milestone.disbursement_id = disbursement.pk
    return milestone


def milestone_sync(*, milestone_id: int) -> Milestone:
    """Bring the milestone in line with its disbursement (approved, paid, failed)."""
    with transaction.atomic(durable=True):
        milestone = Milestone.objects.select_for_update().get(pk=milestone_id)
        disbursement = payments_port.disbursement_get(milestone.disbursement_id)
        if disbursement is None or milestone.status in {
            MilestoneStatus.PAID,
            MilestoneStatus.PLANNED,
        }:
            return milestone
        target = DISBURSEMENT_TO_MILESTONE.get(disbursement.status)
        if target is None or target == milestone.status:
            return milestone
        if target == MilestoneStatus.PAID and milestone.status == MilestoneStatus.REQUESTED:
            milestone_move(
                milestone,
                MilestoneStatus.APPROVED,
                disbursement.approved_by,
                "approved by the treasurer",
                approved_at=disbursement.approved_at or timezone.now(),
            )
        if target == MilestoneStatus.APPROVED:
            milestone_move(
                milestone,
                target,
                disbursement.approved_by,
                "approved by the treasurer",
                approved_at=disbursement.approved_at or timezone.now(),
            )
        elif target == MilestoneStatus.PAID:
            milestone_move(
                milestone,
                target,
                None,
                f"disbursement {disbursement.pk} paid",
                paid_at=disbursement.paid_at or timezone.now(),
            )
            emit_milestone(milestone, WebhookEventType.MILESTONE_PAID)
            campaign_complete_if_done(milestone.campaign_id)
        elif target == MilestoneStatus.FAILED:
            milestone_move(
                milestone,
                target,
                None,
                f"disbursement {disbursement.pk} {disbursement.status}",
                failure_reason=(disbursement.failure_reason or disbursement.status)[:500],
            )
            emit_milestone(milestone, WebhookEventType.MILESTONE_FAILED)
    return milestone
