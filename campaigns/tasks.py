"""Thin Celery tasks: each takes ids, calls a service, and is safe to run twice.

`campaigns_sweep` (beat) finds work whose state says it is still pending and publishes it
again, so a task lost while the broker was down is never lost for good.
"""

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.email import email_queue, emails_queue
from common.queue import publish
from payments.exceptions import ProviderUnavailableError

from . import services
from .enums import (
    COLLECTED_STATUSES,
    CampaignStatus,
    MilestoneStatus,
    PledgeStatus,
    UpdateEmailStatus,
    WebhookDeliveryStatus,
)
from .models import Campaign, CampaignUpdate, Milestone, Pledge, WebhookDelivery

logger = logging.getLogger(__name__)

RETRYABLE = (ProviderUnavailableError, OSError)
MONEY_TASK: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(acks_late=True)
def campaigns_close_due() -> dict[str, list[int]]:
    """Beat, every minute: launch campaigns whose start has come, close those past deadline."""
    return {
        "launched": services.campaigns_launch_due(),
        "closed": services.campaigns_close_due(),
    }


@shared_task(**MONEY_TASK)
def campaign_pledges_settle(campaign_id: int) -> dict[str, int]:
    return services.campaign_pledges_settle(campaign_id=campaign_id)


@shared_task(**MONEY_TASK)
def pledge_collect(pledge_id: int) -> str | None:
    pledge = services.pledge_collect(pledge_id=pledge_id)
    return pledge.status if pledge else None


@shared_task(**MONEY_TASK)
def pledge_lapse(pledge_id: int) -> str | None:
    pledge = services.pledge_lapse(pledge_id=pledge_id)
    return pledge.status if pledge else None


@shared_task(**MONEY_TASK)
def pledge_refund_cancelled(pledge_id: int) -> int | None:
    refund = services.pledge_refund_cancelled(pledge_id=pledge_id)
    return refund.pk if refund is not None else None


@shared_task(**MONEY_TASK)
def payment_orphan_refund(payment_id: int) -> int | None:
    refund = services.payment_orphan_refund(payment_id=payment_id)
    return refund.pk if refund is not None else None


@shared_task(**MONEY_TASK)
def milestone_disbursement_ensure(milestone_id: int) -> int | None:
    return services.milestone_disbursement_ensure(milestone_id=milestone_id).disbursement_id


@shared_task(acks_late=True)
def milestone_sync(milestone_id: int) -> str:
    return services.milestone_sync(milestone_id=milestone_id).status


# --- emails -----------------------------------------------------------------------------------


@shared_task(acks_late=True)
def pledge_receipt_send(pledge_id: int) -> bool:
    """The receipt, once: the pledge row remembers that it was sent."""
    return bool(pledge_receipts_send([pledge_id]))


@shared_task(acks_late=True)
def pledge_receipts_send(pledge_ids: list[int]) -> int:
    """The receipts of pledges committed together, gathered by the web process that took them:
    claimed in one transaction (each is sent once, as `pledge_receipt_send` does) and sent as
    one batch of emails. Returns how many were claimed now."""
    from .emails import pledge_email

    with transaction.atomic():
        claimable = Pledge.objects.filter(
            pk__in=pledge_ids,
            receipt_sent_at__isnull=True,
            status__in=[PledgeStatus.COMMITTED, *COLLECTED_STATUSES],
        )
        ids = list(claimable.select_for_update().order_by("pk").values_list("pk", flat=True))
        if not ids:
            return 0
        Pledge.objects.filter(pk__in=ids).update(receipt_sent_at=timezone.now())
        messages = []
        for pledge in Pledge.objects.select_related("backer", "campaign").filter(pk__in=ids):
            subject, body = pledge_email(pledge, "receipt")
            messages.append({"subject": subject, "body": body, "recipients": [pledge.backer.email]})
        emails_queue(messages)
    return len(ids)


@shared_task(acks_late=True)
def pledge_email_send(pledge_id: int, kind: str) -> bool:
    from .emails import pledge_email

    pledge = Pledge.objects.select_related("backer", "campaign").filter(pk=pledge_id).first()
    if pledge is None or not pledge.backer.is_active:
        return False
    with transaction.atomic():
        if kind == "charged":  # for keep-it-all this is the first receipt
            Pledge.objects.filter(pk=pledge_id, receipt_sent_at__isnull=True).update(
                receipt_sent_at=timezone.now()
            )
        subject, body = pledge_email(pledge, kind)
        email_queue(subject=subject, body=body, recipients=[pledge.backer.email])
    return True


UPDATE_BATCH = 200


@shared_task(acks_late=True)
def update_email_send(update_id: int) -> int:
    """Email an update to every backer, one message each, resuming where a run stopped."""
    from members.models import User

    from .emails import update_email
    from .selectors import campaign_backer_user_ids

    update = CampaignUpdate.objects.select_related("campaign").filter(pk=update_id).first()
    if update is None or update.email_status == UpdateEmailStatus.SENT:
        return 0
    CampaignUpdate.objects.filter(pk=update_id, email_status=UpdateEmailStatus.PENDING).update(
        email_status=UpdateEmailStatus.SENDING
    )
    sent = 0
    cursor = update.emailed_through_user_id
    while True:
        ids = list(campaign_backer_user_ids(update.campaign, after_user_id=cursor)[:UPDATE_BATCH])
        if not ids:
            break
        people = User.objects.filter(pk__in=ids, is_active=True).only("email", "language")
        with transaction.atomic():
            for person in people:
                subject, body = update_email(update, person.language)
                email_queue(subject=subject, body=body, recipients=[person.email])
            cursor = ids[-1]
            CampaignUpdate.objects.filter(pk=update_id).update(
                emailed_through_user_id=cursor, emailed_count=update.emailed_count + sent + len(ids)
            )
        sent += len(ids)
    CampaignUpdate.objects.filter(pk=update_id).update(
        email_status=UpdateEmailStatus.SENT, emailed_at=timezone.now()
    )
    return sent


# --- outgoing webhooks ------------------------------------------------------------------------


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> str | None:
    from .webhooks import webhook_deliver as deliver

    delivery = deliver(delivery_id=delivery_id)
    return delivery.status if delivery else None


# --- the sweeper ------------------------------------------------------------------------------

SWEEP_LIMIT = 1000


@shared_task(acks_late=True)
def campaigns_sweep() -> dict[str, int]:
    """Publish again whatever the database says is still to do, after a grace period."""
    now = timezone.now()
    stale = now - settings.CAMPAIGNS_SWEEP_GRACE
    counts: dict[str, int] = {}

    def send(name: str, task: Any, ids: Any) -> None:
        ids = list(ids[:SWEEP_LIMIT])
        for pk in ids:
            publish(task, pk)
        counts[name] = len(ids)

    closed = [CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING]
    # Campaigns whose pledges still need settling after a close or a cancellation.
    send(
        "settle",
        campaign_pledges_settle,
        Campaign.objects.filter(
            Q(status__in=closed, closed_at__lte=stale, pledges__status=PledgeStatus.PENDING)
            | Q(
                status__in=[CampaignStatus.FAILED, CampaignStatus.CANCELLED],
                updated_at__lte=stale,
                pledges__status__in=[PledgeStatus.PENDING, PledgeStatus.COMMITTED],
            )
        )
        .distinct()
        .values_list("id", flat=True),
    )
    send(
        "collect",
        pledge_collect,
        Pledge.objects.filter(
            Q(
                status=PledgeStatus.COMMITTED,
                campaign__status__in=closed,
                campaign__closed_at__lte=stale,
            )
            | Q(status=PledgeStatus.COLLECTING, payment_id__isnull=True, created_at__lte=stale)
            | Q(status=PledgeStatus.CHARGE_FAILED, next_retry_at__lte=now)
        ).values_list("id", flat=True),
    )
    send(
        "lapse",
        pledge_lapse,
        Pledge.objects.filter(status=PledgeStatus.CHARGE_FAILED, retry_until__lte=now).values_list(
            "id", flat=True
        ),
    )
    send(
        "refund",
        pledge_refund_cancelled,
        Pledge.objects.filter(
            status__in=COLLECTED_STATUSES,
            campaign__status=CampaignStatus.CANCELLED,
            campaign__updated_at__lte=stale,
        ).values_list("id", flat=True),
    )
    send(
        "receipts",
        pledge_receipt_send,
        Pledge.objects.filter(
            status=PledgeStatus.COMMITTED, receipt_sent_at__isnull=True, committed_at__lte=stale
        ).values_list("id", flat=True),
    )
    send(
        "updates",
        update_email_send,
        CampaignUpdate.objects.exclude(email_status=UpdateEmailStatus.SENT)
        .filter(created_at__lte=stale)
        .values_list("id", flat=True),
    )
    send(
        "webhooks",
        webhook_deliver,
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=stale
        ).values_list("id", flat=True),
    )
    send(
        "disbursements",
        milestone_disbursement_ensure,
        Milestone.objects.filter(
            status=MilestoneStatus.REQUESTED, disbursement_id__isnull=True, requested_at__lte=stale
        ).values_list("id", flat=True),
    )
    # Not a retry: this is how a milestone learns that its disbursement moved.
    send(
        "milestones",
        milestone_sync,
        Milestone.objects.filter(
            status__in=[MilestoneStatus.REQUESTED, MilestoneStatus.APPROVED],
            disbursement_id__isnull=False,
        ).values_list("id", flat=True),
    )
    counts.update(services.pledges_charge_stuck_check(stale=stale))
    return counts
