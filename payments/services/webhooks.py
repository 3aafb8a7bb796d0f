"""Webhooks in: verify, store once in the inbox, process in a task.

Processing never trusts the event's snapshot: it reads the object back from the provider and
applies its current state through the same services as the synchronous paths. So duplicates,
late events and any delivery order give the same books.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from common.queue import enqueue_on_commit

from ..enums import WebhookEventStatus
from ..exceptions import (
    PaymentNotYetKnownError,
    ProviderUnavailableError,
    WebhookPayloadError,
)
from ..machines import webhook_machine
from ..models import Payment, PaymentMethodSetup, SavedPaymentMethod, WebhookEvent
from ..providers import provider_for
from .payments import METADATA_PAYMENT_ID, payment_sync

logger = logging.getLogger(__name__)

# A worker that died while processing leaves the row `processing`; after this, another may take it.
PROCESSING_LEASE = timedelta(minutes=5)
# Errors worth another attempt later: the provider was unreachable, or the payment is not here yet.
RETRYABLE_ERRORS = (ProviderUnavailableError, PaymentNotYetKnownError)


def webhook_receive(
    *, provider: str, payload: bytes, signature: str | None
) -> tuple[WebhookEvent, bool]:
    """Verify and store an event. Returns (event, created); a duplicate is (existing, False).

    Raises WebhookSignatureError or WebhookPayloadError, having written nothing.
    """
    event = provider_for(provider).webhook_event_verify(payload=payload, signature=signature)
    event_id = str(event["id"])
    if not event_id or len(event_id) > 120:
        raise WebhookPayloadError("The event id is not valid.")
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                row = WebhookEvent.objects.create(
                    provider=provider,
                    provider_event_id=event_id,
                    type=str(event["type"])[:80],
                    payload=event,
                    is_signature_verified=True,
                )
        except IntegrityError:
            existing = WebhookEvent.objects.get(provider_event_id=event_id)
            return existing, False
        from ..tasks import webhook_event_process

        enqueue_on_commit(webhook_event_process, row.pk)
    return row, True


def _claim(event_id: int, *, force: bool) -> WebhookEvent | None:
    """Take the event for processing, or None if it is done or another worker holds it."""
    with transaction.atomic(durable=True):
        row = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if row is None:
            return None
        now = timezone.now()
        lease_alive = (
            row.status == WebhookEventStatus.PROCESSING
            and row.processing_started_at is not None
            and row.processing_started_at > now - PROCESSING_LEASE
        )
        if not force and (row.status == WebhookEventStatus.PROCESSED or lease_alive):
            return None
        webhook_machine.compare_and_set(
            WebhookEvent.objects.all(),
            pk=row.pk,
            source=row.status,
            target=WebhookEventStatus.PROCESSING,
            attempts=F("attempts") + 1,
            processing_started_at=now,
        )
        row.refresh_from_db()
        return row


def _finish(event_id: int, *, status: str, outcome: str = "", error: str = "") -> None:
    changes: dict[str, Any] = {"outcome": outcome[:300], "last_error": error[:4000]}
    if status == WebhookEventStatus.PROCESSED:
        changes["processed_at"] = timezone.now()
    with transaction.atomic(durable=True):
        webhook_machine.compare_and_set(
            WebhookEvent.objects.all(),
            pk=event_id,
            source=WebhookEventStatus.PROCESSING,
            target=status,
            **changes,
        )


def webhook_event_handle(*, event_id: int, force: bool = False) -> str:
    """Process one stored event; returns what it did.

    Raises the retryable errors (the task retries them with backoff) after recording them on the
    row; any other error is recorded and the event is left `failed` for the replay command.
    """
    row = _claim(event_id, force=force)
    if row is None:
        return "skipped"
    try:
        outcome = _dispatch(row)
    except RETRYABLE_ERRORS as error:
        _finish(row.pk, status=WebhookEventStatus.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    except Exception as error:
        logger.exception("webhook event %s (%s) failed", row.provider_event_id, row.type)
        _finish(row.pk, status=WebhookEventStatus.FAILED, error=f"{type(error).__name__}: {error}")
        return f"failed: {type(error).__name__}"
    _finish(row.pk, status=WebhookEventStatus.PROCESSED, outcome=outcome)
    return outcome


def _object(row: WebhookEvent) -> dict[str, Any]:
    data = row.payload.get("data") if isinstance(row.payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _dispatch(row: WebhookEvent) -> str:
    event_type = row.type
    obj = _object(row)
    if event_type.startswith("payment_intent."):
        return _payment_event(row, _id(obj.get("id")), obj.get("metadata") or {})
    if event_type.startswith(("charge.", "refund.")):
        intent_id = _id(obj.get("payment_intent"))
        if not intent_id:
            return "ignored: no payment intent"
        return _payment_event(row, intent_id, {})
    if event_type.startswith("setup_intent."):
        return _setup_event(row, _id(obj.get("id")))
    if event_type == "payment_method.detached":
        updated = SavedPaymentMethod.objects.filter(
            provider_payment_method_id=_id(obj.get("id")), detached_at__isnull=True
        ).update(detached_at=timezone.now())
        return f"detached {updated} card(s)"
    if event_type == "account.updated":
        from .disbursements import payee_account_sync_by_connect_id

        return payee_account_sync_by_connect_id(
            provider=row.provider, connect_account_id=_id(obj.get("id"))
        )
    if event_type in ("payout.paid", "payout.failed"):
        if row.payload.get("account"):
            return "ignored: a connected account's payout"
        from .cash import stripe_payout_apply

        return stripe_payout_apply(event_type=event_type, payout=obj)
    if event_type.startswith("transfer."):
        from .disbursements import disbursement_transfer_sync

        return disbursement_transfer_sync(provider=row.provider, transfer_id=_id(obj.get("id")))
    return "ignored"


def _payment_event(row: WebhookEvent, intent_id: str, metadata: dict[str, Any]) -> str:
    if not intent_id:
        return "ignored: no payment intent"
    payment = Payment.objects.filter(
        provider=row.provider, provider_payment_intent_id=intent_id
    ).first()
    if payment is None:
        if not metadata:
            metadata = provider_for(row.provider).payment_intent_retrieve(intent_id).metadata
        ours = str(metadata.get(METADATA_PAYMENT_ID) or "")
        if not ours:
            return "ignored: not a payment of this platform"
        payment = (
            Payment.objects.filter(pk=int(ours), provider=row.provider).first()
            if ours.isdigit()
            else None
        )
        if payment is None:
            raise PaymentNotYetKnownError(f"Payment {ours} (intent {intent_id}) is not known yet.")
        if payment.provider_payment_intent_id and payment.provider_payment_intent_id != intent_id:
            return "ignored: another intent of this payment"
    payment = payment_sync(
        payment=payment, payment_intent_id=intent_id, provider_event_id=row.provider_event_id
    )
    return f"payment {payment.pk}: {payment.status}"


def _setup_event(row: WebhookEvent, setup_intent_id: str) -> str:
    from .customers import setup_result_apply

    setup = PaymentMethodSetup.objects.filter(
        provider=row.provider, provider_setup_intent_id=setup_intent_id
    ).first()
    if setup is None:
        return "ignored: unknown card setup"
    result = provider_for(row.provider).setup_intent_retrieve(setup_intent_id)
    setup = setup_result_apply(setup_id=setup.pk, result=result)
    return f"card setup {setup.pk}: {setup.status}"


def webhook_event_replay(*, provider_event_id: str) -> str:
    """Process a stored event again, here and now (the replay command)."""
    row = WebhookEvent.objects.filter(provider_event_id=provider_event_id).first()
    if row is None:
        raise WebhookPayloadError(f"No stored event {provider_event_id!r}.", code="not_found")
    try:
        return webhook_event_handle(event_id=row.pk, force=True)
    except RETRYABLE_ERRORS as error:
        return f"failed: {type(error).__name__}: {error}"


def webhook_events_stalled(*, older_than: timedelta = timedelta(minutes=1)) -> list[int]:
    """Events whose task never ran (broker down) or whose worker died mid-way."""
    now = timezone.now()
    return list(
        WebhookEvent.objects.filter(
            Q(status=WebhookEventStatus.RECEIVED, received_at__lt=now - older_than)
            | Q(
                status=WebhookEventStatus.PROCESSING,
                processing_started_at__lt=now - PROCESSING_LEASE,
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
