"""Event rows appended with every move of a payment or a disbursement."""

from typing import Any

from django.utils import timezone

from ..models import DisbursementEvent, PaymentEvent


def payment_event_add(
    *,
    payment_id: int,
    kind: str,
    from_status: str = "",
    to_status: str = "",
    provider_event_id: str = "",
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    event = PaymentEvent(
        payment_id=payment_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        provider_event_id=provider_event_id,
        data=data or {},
        created_at=timezone.now(),
    )
    event.save(force_insert=True)
    return event


def disbursement_event_add(
    *,
    disbursement_id: int,
    kind: str,
    from_status: str = "",
    to_status: str = "",
    actor: Any = None,
    data: dict[str, Any] | None = None,
) -> DisbursementEvent:
    event = DisbursementEvent(
        disbursement_id=disbursement_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        data=data or {},
        created_at=timezone.now(),
    )
    event.save(force_insert=True)
    return event
