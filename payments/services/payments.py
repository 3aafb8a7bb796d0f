"""Money in: creating payments, and settling them exactly once.

Every path that learns a payment's state (the answer to a create or a confirmation, a webhook,
a sync) ends in `payment_intent_apply`, which locks the payment row and moves it by
compare-and-set. Settling posts the charge entry and the fee entry, with idempotency keys
derived from the provider's charge id, and calls the purpose handler, all in one transaction:
a duplicate or a late event finds the payment settled and does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.money import CURRENCY_EXPONENTS
from ledger.enums import AccountPurpose, EntryKind
from ledger.services import credit, debit, ledger_entry_post, platform_account

from ..enums import SETTLED_STATUSES, PaymentStatus
from ..exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    PaymentIdempotencyError,
    PaymentsError,
    ProviderInvalidRequestError,
)
from ..machines import payment_machine
from ..models import Payment, SavedPaymentMethod
from ..providers import provider_for, provider_name
from ..providers.base import IntentResult, provider_key
from ..registry import entry_kind_for, handler_for
from ._log import payment_event_add
from .customers import customer_ensure

logger = logging.getLogger(__name__)

METADATA_PAYMENT_ID = "bien_commun_payment_id"


def _validate_money(amount: int, currency: str) -> None:
    if type(amount) is not int or not 0 < amount <= settings.MAX_PAYMENT_AMOUNT:
        raise PaymentsError(
            "An amount is a positive integer in minor units, within the platform's limit.",
            code="invalid_amount",
            fields={"amount": ["Enter a positive whole number of cents."]},
        )
    if currency not in CURRENCY_EXPONENTS:
        raise PaymentsError(
            f"Unknown currency {currency!r}.",
            code="invalid_currency",
            fields={"currency": ["Unknown currency."]},
        )


def _same_request(payment: Payment, **request: Any) -> bool:
    return all(getattr(payment, name) == value for name, value in request.items())


def _payment_open(
    *,
    purpose: str,
    payer: Any,
    amount: int,
    currency: str,
    reference: tuple[str, int] | None,
    idempotency_key: str,
    payment_method: SavedPaymentMethod | None,
    off_session: bool,
    description: str,
    metadata: dict[str, Any],
) -> Payment:
    request = {
        "purpose": purpose,
        "payer_id": payer.pk if payer is not None else None,
        "amount": amount,
        "currency": currency,
        "payment_method_id": payment_method.pk if payment_method else None,
        "off_session": off_session,
    }
    with transaction.atomic(durable=True):
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    payment = Payment.objects.create(
                        **request,
                        provider=provider_name(),
                        reference_type=reference[0] if reference else "",
                        reference_id=reference[1] if reference else None,
                        idempotency_key=idempotency_key,
                        description=description[:200],
                        metadata=metadata,
                    )
            except IntegrityError:  # the same key, committed concurrently
                existing = Payment.objects.get(idempotency_key=idempotency_key)
            else:
                payment_event_add(
                    payment_id=payment.pk, kind="created", to_status=PaymentStatus.CREATED
                )
                return payment
    if not _same_request(existing, **request):
        raise PaymentIdempotencyError()
    return existing


def payment_create(
    *,
    purpose: str,
    payer: Any,
    amount: int,
    currency: str,
    reference: tuple[str, int] | None = None,
    idempotency_key: str,
    payment_method: SavedPaymentMethod | None = None,
    off_session: bool = False,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> Payment:
    """Create a payment and its PaymentIntent.

    With a saved method and `off_session=True` it is confirmed at once (a saved card charged when
    a campaign succeeds); otherwise the browser confirms it. Calling again with the same
    idempotency key returns the same payment, and resumes it if the provider could not be
    reached the first time. Must not be called inside a transaction.
    """
    handler_for(purpose)  # refuses a purpose no app settles
    _validate_money(amount, currency)
    if not idempotency_key:
        raise PaymentsError("An idempotency key is required.", code="missing_idempotency_key")
    if off_session and payment_method is None:
        raise PaymentsError(
            "An off-session charge needs a saved payment method.", code="payment_method_required"
        )
    if payment_method is not None and (
        payer is None or payment_method.user_id != payer.pk or not payment_method.is_active
    ):
        raise PaymentsError(
            "This saved card cannot be used.", code="payment_method_not_usable", status_code=409
        )
    payment = _payment_open(
        purpose=purpose,
        payer=payer,
        amount=amount,
        currency=currency,
        reference=reference,
        idempotency_key=idempotency_key,
        payment_method=payment_method,
        off_session=off_session,
        description=description,
        metadata=metadata or {},
    )
    if payment.provider_payment_intent_id or payment.status != PaymentStatus.CREATED:
        return payment
    return _payment_submit(payment)


def _payment_submit(payment: Payment) -> Payment:
    """Ask the provider for the PaymentIntent (confirmed at once with a saved card)."""
    provider = provider_for(payment.provider)
    customer_id = ""
    if payment.payer is not None:
        customer_id = str(
            customer_ensure(user=payment.payer, provider=payment.provider).provider_customer_id
        )
    method = payment.payment_method
    metadata = {METADATA_PAYMENT_ID: str(payment.pk), "purpose": payment.purpose}
    if payment.reference_type and payment.reference_id is not None:
        metadata["reference"] = f"{payment.reference_type}:{payment.reference_id}"
    try:
        intent = provider.payment_intent_create(
            amount=payment.amount,
            currency=payment.currency,
            customer_id=customer_id,
            payment_method_id=method.provider_payment_method_id if method else "",
            off_session=payment.off_session,
            confirm=method is not None,
            description=payment.description,
            metadata=metadata,
            idempotency_key=provider_key("payment", payment.pk),
        )
    except (CardDeclinedError, AuthenticationRequiredError) as error:
        # The PaymentIntent exists, waiting for another method: the attempt failed.
        return payment_failure_record(
            payment_id=payment.pk,
            payment_intent_id=error.payment_intent_id,
            code=error.provider_code or error.code,
            message=error.message,
        )
    except ProviderInvalidRequestError as error:
        return payment_failure_record(
            payment_id=payment.pk,
            payment_intent_id=error.payment_intent_id,
            code=error.provider_code or error.code,
            message=error.message,
        )
    # A ProviderUnavailableError leaves the payment `created`: the same call resumes it.
    return payment_intent_apply(payment_id=payment.pk, intent=intent, source="create")


def status_for_intent(intent: IntentResult) -> str:
    """Our payment status for a PaymentIntent's status."""
    status = intent.status
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status in ("processing", "requires_capture"):
        return PaymentStatus.PROCESSING
    if status == "requires_action":
        return PaymentStatus.REQUIRES_ACTION
    if status == "canceled":
        return PaymentStatus.CANCELED
    if status == "requires_payment_method" and intent.failure_code:
        return PaymentStatus.FAILED
    return PaymentStatus.CREATED


def _lock(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def _attach_intent(payment: Payment, intent: IntentResult) -> None:
    """Remember the PaymentIntent's id and client secret once known."""
    changes: dict[str, Any] = {}
    if not payment.provider_payment_intent_id:
        changes["provider_payment_intent_id"] = intent.id
    elif payment.provider_payment_intent_id != intent.id:
        raise PaymentsError(
            f"Payment #{payment.pk} belongs to {payment.provider_payment_intent_id}, not {intent.id}.",
            code="intent_mismatch",
        )
    if intent.client_secret and not payment.client_secret:
        changes["client_secret"] = intent.client_secret
    if intent.customer_id and not payment.provider_customer_id:
        changes["provider_customer_id"] = intent.customer_id
    if changes:
        Payment.objects.filter(pk=payment.pk).update(**changes)
        for name, value in changes.items():
            setattr(payment, name, value)


def payment_intent_apply(
    *, payment_id: int, intent: IntentResult, source: str, provider_event_id: str = ""
) -> Payment:
    """Bring a payment in line with its PaymentIntent, whatever order the news arrives in."""
    target = status_for_intent(intent)
    if target == PaymentStatus.SUCCEEDED:
        return _payment_settle(
            payment_id=payment_id, intent=intent, source=source, provider_event_id=provider_event_id
        )
    if target == PaymentStatus.FAILED:
        return payment_failure_record(
            payment_id=payment_id,
            payment_intent_id=intent.id,
            code=intent.failure_code,
            message=intent.failure_message,
            source=source,
            provider_event_id=provider_event_id,
        )
    with transaction.atomic(durable=True):
        payment = _lock(payment_id)
        _attach_intent(payment, intent)
        if payment.status != target and payment_machine.can(payment.status, target):
            payment_machine.compare_and_set(
                Payment.objects.all(),
                pk=payment.pk,
                source=payment.status,
                target=target,
                updated_at=timezone.now(),
            )
            payment_event_add(
                payment_id=payment.pk,
                kind=source,
                from_status=payment.status,
                to_status=target,
                provider_event_id=provider_event_id,
                data={"intent_status": intent.status},
            )
            payment.status = target
    return payment


def _payment_settle(
    *, payment_id: int, intent: IntentResult, source: str, provider_event_id: str
) -> Payment:
    with transaction.atomic(durable=True):
        payment = _lock(payment_id)
        _attach_intent(payment, intent)
        if payment.status in SETTLED_STATUSES:
            _fee_post_if_late(payment, intent)
            return payment
        if not payment_machine.can(payment.status, PaymentStatus.SUCCEEDED):
            payment_event_add(
                payment_id=payment.pk,
                kind="anomaly",
                provider_event_id=provider_event_id,
                data={"detail": f"succeeded at the provider while {payment.status} here"},
            )
            logger.error(
                "payment %s succeeded at the provider while %s", payment.pk, payment.status
            )
            return payment
        if intent.amount != payment.amount or intent.currency != payment.currency:
            raise PaymentsError(
                f"Payment #{payment.pk} is {payment.amount} {payment.currency} here but "
                f"{intent.amount} {intent.currency} at the provider.",
                code="amount_mismatch",
            )
        handler = handler_for(payment.purpose)
        charge_key = intent.charge_id or f"intent:{intent.id}"
        cash = platform_account(AccountPurpose.STRIPE_CASH, payment.currency)
        entry = ledger_entry_post(
            kind=entry_kind_for(payment.purpose, handler),
            legs=[
                debit(cash, payment.amount),
                credit(handler.credit_account(payment), payment.amount),
            ],
            idempotency_key=f"charge:{charge_key}",
            memo=f"Payment #{payment.pk} ({payment.purpose})",
            reference=("payment", payment.pk),
        )
        fee_entry = _fee_post(payment, charge_key, intent.fee_amount)
        now = timezone.now()
        payment_machine.compare_and_set(
            Payment.objects.all(),
            pk=payment.pk,
            source=payment.status,
            target=PaymentStatus.SUCCEEDED,
            provider_charge_id=intent.charge_id or None,
            fee_amount=intent.fee_amount,
            charge_entry=entry,
            fee_entry=fee_entry,
            failure_code="",
            failure_message="",
            settled_at=now,
            updated_at=now,
        )
        payment_event_add(
            payment_id=payment.pk,
            kind=source,
            from_status=payment.status,
            to_status=PaymentStatus.SUCCEEDED,
            provider_event_id=provider_event_id,
            data={
                "charge": intent.charge_id,
                "fee": intent.fee_amount,
                "charge_entry": entry.pk,
                "fee_entry": fee_entry.pk if fee_entry else None,
            },
        )
        payment.refresh_from_db()
        handler.on_succeeded(payment, entry)
    return payment


def _fee_post(payment: Payment, charge_key: str, fee: int | None) -> Any:
    """The processor's fee, booked as an expense paid out of the money held at Stripe."""
    if not fee:
        return None
    return ledger_entry_post(
        kind=EntryKind.PROCESSOR_FEE,
        legs=[
            debit(platform_account(AccountPurpose.PROCESSOR_FEES, payment.currency), fee),
            credit(platform_account(AccountPurpose.STRIPE_CASH, payment.currency), fee),
        ],
        idempotency_key=f"fee:{charge_key}",
        memo=f"Processor fee on payment #{payment.pk}",
        reference=("payment", payment.pk),
    )


def _fee_post_if_late(payment: Payment, intent: IntentResult) -> None:
    """A fee unknown at settlement (no balance transaction yet) is booked when it shows up."""
    if payment.fee_amount is not None or intent.fee_amount is None:
        return
    charge_key = payment.provider_charge_id or intent.charge_id or f"intent:{intent.id}"
    fee_entry = _fee_post(payment, charge_key, intent.fee_amount)
    Payment.objects.filter(pk=payment.pk, fee_amount__isnull=True).update(
        fee_amount=intent.fee_amount, fee_entry=fee_entry, updated_at=timezone.now()
    )
    payment_event_add(payment_id=payment.pk, kind="fee_recorded", data={"fee": intent.fee_amount})
    payment.refresh_from_db()


def payment_failure_record(
    *,
    payment_id: int,
    payment_intent_id: str,
    code: str,
    message: str,
    source: str = "create",
    provider_event_id: str = "",
) -> Payment:
    """An attempt failed (declined, authentication not completed): nothing is booked."""
    with transaction.atomic(durable=True):
        payment = _lock(payment_id)
        if payment_intent_id and not payment.provider_payment_intent_id:
            Payment.objects.filter(pk=payment.pk).update(
                provider_payment_intent_id=payment_intent_id
            )
            payment.provider_payment_intent_id = payment_intent_id
        if payment.status == PaymentStatus.FAILED or not payment_machine.can(
            payment.status, PaymentStatus.FAILED
        ):
            return payment
        payment_machine.compare_and_set(
            Payment.objects.all(),
            pk=payment.pk,
            source=payment.status,
            target=PaymentStatus.FAILED,
            failure_code=(code or "failed")[:80],
            failure_message=(message or "")[:300],
            updated_at=timezone.now(),
        )
        payment_event_add(
            payment_id=payment.pk,
            kind=source,
            from_status=payment.status,
            to_status=PaymentStatus.FAILED,
            provider_event_id=provider_event_id,
            data={"code": code},
        )
        payment.refresh_from_db()
        handler_for(payment.purpose).on_failed(payment)
    return payment


def payment_sync(
    *, payment: Payment, payment_intent_id: str = "", provider_event_id: str = ""
) -> Payment:
    """Read the PaymentIntent back from the provider and apply it, with its refunds."""
    from .refunds import refunds_sync

    intent_id = payment.provider_payment_intent_id or payment_intent_id
    if not intent_id:
        return payment
    provider = provider_for(payment.provider)
    intent = provider.payment_intent_retrieve(intent_id)
    payment = payment_intent_apply(
        payment_id=payment.pk,
        intent=intent,
        source="event" if provider_event_id else "sync",
        provider_event_id=provider_event_id,
    )
    if payment.status in SETTLED_STATUSES and (
        intent.amount_refunded != payment.amount_refunded
        or payment.refunds.filter(status="pending").exists()
    ):
        refunds_sync(payment=payment)
        payment.refresh_from_db()
    return payment


def payment_cancel(*, payment: Payment) -> Payment:
    """Abandon a payment that has not been charged."""
    if payment.status in SETTLED_STATUSES or payment.status == PaymentStatus.CANCELED:
        return payment
    if not payment.provider_payment_intent_id:
        with transaction.atomic(durable=True):
            current = _lock(payment.pk)
            payment_machine.compare_and_set(
                Payment.objects.all(),
                pk=current.pk,
                source=current.status,
                target=PaymentStatus.CANCELED,
                updated_at=timezone.now(),
            )
            payment_event_add(
                payment_id=current.pk,
                kind="canceled",
                from_status=current.status,
                to_status=PaymentStatus.CANCELED,
            )
        payment.refresh_from_db()
        return payment
    payment_machine.check(payment.status, PaymentStatus.CANCELED)
    intent = provider_for(payment.provider).payment_intent_cancel(
        payment.provider_payment_intent_id,
        idempotency_key=provider_key("payment", payment.pk, "cancel"),
    )
    return payment_intent_apply(payment_id=payment.pk, intent=intent, source="cancel")
