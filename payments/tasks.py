"""Thin tasks: they take ids and call a service.

Each is `acks_late` with `reject_on_worker_lost`: a worker that dies mid-task leaves its message
to be delivered again, and the services are idempotent (a stored idempotency key per provider
call, compare-and-set moves), so a second run finishes the work without doing it twice.
Retries, with bounded exponential backoff, are only for network errors and 5xx.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from common.queue import publish

from .exceptions import PaymentNotYetKnownError, ProviderUnavailableError
from .providers.base import retry_delay

logger = logging.getLogger(__name__)

RETRY_CAP_SECONDS = 600


def _retry(task: Task[Any, Any], error: Exception) -> None:
    """Retry later with backoff; in process (eager) the sweeper or the replay command will."""
    if task.request.is_eager:
        logger.warning("%s: %s; left for the sweeper", task.name, error)
        return
    countdown = retry_delay(
        task.request.retries, base=float(settings.PAYMENTS_TASK_RETRY_BASE), cap=RETRY_CAP_SECONDS
    )
    raise task.retry(exc=error, countdown=countdown, max_retries=settings.PAYMENTS_TASK_MAX_RETRIES)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def webhook_event_process(self: Task[Any, Any], event_id: int) -> str | None:
    from .services.webhooks import webhook_event_handle

    try:
        return webhook_event_handle(event_id=event_id)
    except (ProviderUnavailableError, PaymentNotYetKnownError) as error:
        _retry(self, error)
        return None


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def disbursement_send(self: Task[Any, Any], disbursement_id: int) -> str | None:
    from .services.disbursements import disbursement_send as send

    try:
        return send(disbursement_id=disbursement_id).status
    except ProviderUnavailableError as error:
        _retry(self, error)
        return None


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def refund_send(self: Task[Any, Any], refund_id: int) -> str | None:
    from .services.refunds import refund_submit

    try:
        return refund_submit(refund_id=refund_id).status
    except ProviderUnavailableError as error:
        _retry(self, error)
        return None


@shared_task(acks_late=True)
def payments_reconcile() -> int:
    """Daily: compare the books with the provider; returns the number of differences."""
    from .services.reconciliation import payments_reconcile as reconcile

    report = reconcile()
    return len(report.differences)


@shared_task(acks_late=True)
def payments_sweep() -> dict[str, int]:
    """Publish again the work whose state says it is pending (a broker outage, a dead worker)."""
    from .models import Refund
    from .services.disbursements import disbursements_stalled
    from .services.webhooks import webhook_events_stalled

    events = webhook_events_stalled()
    for event_id in events:
        publish(webhook_event_process, event_id)
    disbursements = disbursements_stalled()
    for disbursement_id in disbursements:
        publish(disbursement_send, disbursement_id)
    refunds = list(
        Refund.objects.filter(
            status="pending", created_at__lt=timezone.now() - timedelta(minutes=5)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for refund_id in refunds:
        publish(refund_send, refund_id)
    return {"events": len(events), "disbursements": len(disbursements), "refunds": len(refunds)}
