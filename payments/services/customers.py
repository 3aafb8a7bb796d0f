"""Customers and saved cards (SetupIntents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import NotFoundError

from ..enums import SetupStatus
from ..exceptions import PaymentsError
from ..machines import setup_machine
from ..models import Customer, PaymentMethodSetup, SavedPaymentMethod
from ..providers import provider_for, provider_name
from ..providers.base import SetupIntentResult, provider_key


@dataclass(frozen=True)
class SetupStart:
    """What the browser needs to confirm a SetupIntent."""

    provider: str
    setup_intent_id: str
    client_secret: str
    publishable_key: str
    js_url: str
    status: str


def customer_ensure(*, user: Any, provider: str | None = None) -> Customer:
    """The person's customer at the provider, created on first need."""
    provider = provider or provider_name()
    customer = Customer.objects.filter(user=user, provider=provider).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(user=user, provider=provider)
        except IntegrityError:  # created concurrently
            customer = Customer.objects.get(user=user, provider=provider)
    if customer.provider_customer_id:
        return customer
    provider_customer_id = provider_for(provider).customer_create(
        email=user.email,
        name=user.display_name or "",
        metadata={"bien_commun_user_id": str(user.pk)},
        idempotency_key=provider_key("customer", customer.pk),
    )
    Customer.objects.filter(pk=customer.pk, provider_customer_id__isnull=True).update(
        provider_customer_id=provider_customer_id
    )
    customer.refresh_from_db()
    return customer


def payment_method_setup_start(*, user: Any) -> SetupStart:
    """Start saving a card for later off-session charges (all-or-nothing pledges)."""
    name = provider_name()
    provider = provider_for(name)
    customer = customer_ensure(user=user, provider=name)
    with transaction.atomic(durable=True):
        setup = PaymentMethodSetup.objects.create(user=user, provider=name)
    result = provider.setup_intent_create(
        customer_id=str(customer.provider_customer_id),
        metadata={"bien_commun_setup_id": str(setup.pk), "bien_commun_user_id": str(user.pk)},
        idempotency_key=provider_key("setup", setup.pk),
    )
    PaymentMethodSetup.objects.filter(pk=setup.pk).update(
        provider_setup_intent_id=result.id,
        client_secret=result.client_secret,
        updated_at=timezone.now(),
    )
    return SetupStart(
        provider=name,
        setup_intent_id=result.id,
        client_secret=result.client_secret,
        publishable_key=provider.publishable_key(),
        js_url=provider.js_url(),
        status=SetupStatus.CREATED,
    )


def payment_method_setup_get(*, user: Any, setup_intent_id: str) -> PaymentMethodSetup:
    setup = PaymentMethodSetup.objects.filter(
        user=user, provider_setup_intent_id=setup_intent_id
    ).first()
    if setup is None:
        raise NotFoundError("No such card setup.")
    return setup


def payment_method_setup_complete(*, user: Any, setup_intent_id: str) -> PaymentMethodSetup:
    """After the browser confirmed the SetupIntent: read it back and record the saved card."""
    setup = payment_method_setup_get(user=user, setup_intent_id=setup_intent_id)
    result = provider_for(setup.provider).setup_intent_retrieve(setup_intent_id)
    return setup_result_apply(setup_id=setup.pk, result=result)


def _target_status(result: SetupIntentResult) -> str | None:
    if result.status == "succeeded":
        return SetupStatus.SUCCEEDED
    if result.status == "requires_action":
        return SetupStatus.REQUIRES_ACTION
    if result.status in ("requires_payment_method", "canceled") and (
        result.failure_code or result.status == "canceled"
    ):
        return SetupStatus.FAILED
    return None


def setup_result_apply(*, setup_id: int, result: SetupIntentResult) -> PaymentMethodSetup:
    """Bring a card setup in line with its SetupIntent; on success, save the card."""
    setup = PaymentMethodSetup.objects.get(pk=setup_id)
    target = _target_status(result)
    card = None
    if target == SetupStatus.SUCCEEDED and setup.status != SetupStatus.SUCCEEDED:
        card = provider_for(setup.provider).payment_method_retrieve(result.payment_method_id)
    with transaction.atomic(durable=True):
        setup = PaymentMethodSetup.objects.select_for_update().get(pk=setup_id)
        if target is None or target == setup.status or not setup_machine.can(setup.status, target):
            return setup
        changes: dict[str, Any] = {"updated_at": timezone.now()}
        if target == SetupStatus.SUCCEEDED and card is not None:
            method, _created = SavedPaymentMethod.objects.get_or_create(
                provider_payment_method_id=card.id,
                defaults={
                    "user_id": setup.user_id,
                    "provider": setup.provider,
                    "brand": card.brand,
                    "last4": card.last4,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                },
            )
            if method.user_id != setup.user_id:
                raise PaymentsError("This card belongs to someone else.", code="card_not_yours")
            changes.update(saved_method=method, failure_code="", failure_message="")
        if target == SetupStatus.FAILED:
            changes.update(
                failure_code=result.failure_code[:80], failure_message=result.failure_message[:300]
            )
        setup_machine.compare_and_set(
            PaymentMethodSetup.objects.all(),
            pk=setup.pk,
            source=setup.status,
            target=target,
            **changes,
        )
        setup.refresh_from_db()
    return setup


def payment_method_detach(*, user: Any, method: SavedPaymentMethod) -> SavedPaymentMethod:
    """Forget a saved card, here and at the provider."""
    if method.user_id != user.pk:
        raise NotFoundError("No such card.")
    if method.detached_at is not None:
        return method
    provider_for(method.provider).payment_method_detach(
        method.provider_payment_method_id, idempotency_key=provider_key("detach", method.pk)
    )
    SavedPaymentMethod.objects.filter(pk=method.pk, detached_at__isnull=True).update(
        detached_at=timezone.now()
    )
    method.refresh_from_db()
    return method
