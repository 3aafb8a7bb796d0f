"""Refunds, full or partial, each posted as a reversal of part of the charge entry.

The refund is recorded (pending) and committed before the provider is asked, with the refund's
own idempotency key. It is booked when the provider says it succeeded, from the answer or from
an event, whichever comes first; the other finds it booked.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from common.queue import enqueue_on_commit
from ledger.enums import AccountPurpose, EntryKind
from ledger.exceptions import InsufficientFundsError
from ledger.selectors import account_balance_get
from ledger.services import credit, debit, ledger_entry_post, platform_account

from ..enums import PaymentStatus, RefundReason, RefundStatus
from ..exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    PaymentIdempotencyError,
    PaymentsError,
    ProviderInvalidRequestError,
    ProviderUnavailableError,
    RefundNotAllowedError,
)
from ..machines import payment_machine, refund_machine
from ..models import Payment, Refund
from ..providers import provider_for
from ..providers.base import RefundResult, provider_key
from ..registry import handler_for, refund_check
from ._log import payment_event_add

logger = logging.getLogger(__name__)

METADATA_REFUND_ID = "bien_commun_refund_id"
REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


def _pending_total(payment: Payment) -> int:
    total = payment.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))
    return int(total["total"] or 0)


def _refund_open(
    *,
    payment: Payment,
    amount: int | None,
    reason: str,
    idempotency_key: str,
    actor: Any,
    memo: str,
) -> Refund:
    with transaction.atomic(durable=True):
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.payment_id != payment.pk or (
                amount is not None and existing.amount != amount
            ):
                raise PaymentIdempotencyError()
            return existing
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status not in REFUNDABLE:
            raise RefundNotAllowedError(
                f"A {locked.status} payment cannot be refunded.", extra={"status": locked.status}
            )
        pending = _pending_total(locked)
        refundable = locked.amount - locked.amount_refunded - pending
        amount = refundable if amount is None else amount
        if type(amount) is not int or amount <= 0 or amount > refundable:
            raise RefundNotAllowedError(
                f"At most {refundable} can be refunded now.",
                fields={"amount": [f"At most {refundable}."]},
                extra={"refundable": refundable},
            )
        handler = handler_for(locked.purpose)
        refund_check(handler, locked, amount)
        # The books must cover it before the provider is asked: once refunded, money is gone.
        for account in (
            handler.credit_account(locked),
            platform_account(AccountPurpose.STRIPE_CASH, locked.currency),
        ):
            if (
                not account.allow_negative
                and account_balance_get(account=account) < amount + pending
            ):
                raise InsufficientFundsError(
                    f"{account.name} does not hold enough to refund {amount}.",
                    extra={"account": account.code},
                )
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    payment=locked,
                    amount=amount,
                    currency=locked.currency,
                    reason=reason,
                    memo=memo[:300],
                    idempotency_key=idempotency_key,
                    requested_by=actor,
                )
        except IntegrityError as error:
            raise PaymentIdempotencyError() from error
        payment_event_add(
            payment_id=locked.pk,
            kind="refund_requested",
            data={"refund": refund.pk, "amount": amount},
        )
    return refund


def payment_refund(
    *,
    payment: Payment,
    amount: int | None = None,
    reason: str = RefundReason.REQUESTED_BY_CUSTOMER,
    idempotency_key: str,
    actor: Any = None,
    memo: str = "",
) -> Refund:
    """Refund all (amount=None) or part of a payment. Must not be called inside a transaction.

    If the provider cannot be reached the refund stays pending and a task retries it with the
    same idempotency key.
    """
    if reason not in RefundReason.values:
        raise PaymentsError(f"Unknown refund reason {reason!r}.", code="invalid_reason")
    if not idempotency_key:
        raise PaymentsError("An idempotency key is required.", code="missing_idempotency_key")
    refund = _refund_open(
        payment=payment,
        amount=amount,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        memo=memo,
    )
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        return refund_submit(refund_id=refund.pk)
    except ProviderUnavailableError:
        from ..tasks import refund_send

        logger.warning("refund %s: provider unavailable, retrying in the background", refund.pk)
        enqueue_on_commit(refund_send, refund.pk)
        refund.refresh_from_db()
        return refund


def refund_submit(*, refund_id: int) -> Refund:
    """Ask the provider for a pending refund, with its stored key, and apply the answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    try:
        result = provider_for(payment.provider).refund_create(
            payment_intent_id=str(payment.provider_payment_intent_id),
            amount=refund.amount,
            reason=refund.reason,
            metadata={
                METADATA_REFUND_ID: str(refund.pk),
                "bien_commun_payment_id": str(payment.pk),
            },
            idempotency_key=provider_key("refund", refund.pk),
        )
    except (ProviderInvalidRequestError, CardDeclinedError, AuthenticationRequiredError) as error:
        return refund_failure_record(
            refund_id=refund.pk, code=error.provider_code or error.code, message=error.message
        )
    return refund_result_apply(payment_id=payment.pk, result=result)


def refund_failure_record(*, refund_id: int, code: str, message: str) -> Refund:
    with transaction.atomic(durable=True):
        refund = Refund.objects.select_related("payment").get(pk=refund_id)
        Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        refund_machine.compare_and_set(
            Refund.objects.all(),
            pk=refund.pk,
            source=RefundStatus.PENDING,
            target=RefundStatus.FAILED,
            failure_code=code[:80],
            failure_message=message[:300],
        )
        payment_event_add(
            payment_id=refund.payment_id,
            kind="refund_failed",
            data={"refund": refund.pk, "code": code},
        )
        refund.refresh_from_db()
    return refund


def _refund_find(payment: Payment, result: RefundResult) -> Refund | None:
    refund = Refund.objects.select_for_update().filter(provider_refund_id=result.id).first()
    if refund is not None:
        return refund
    ours = result.metadata.get(METADATA_REFUND_ID, "")
    if ours.isdigit():
        return (
            Refund.objects.select_for_update()
            .filter(pk=int(ours), payment_id=payment.pk, provider_refund_id__isnull=True)
            .first()
        )
    return None


def refund_result_apply(
    *, payment_id: int, result: RefundResult, provider_event_id: str = ""
) -> Refund:
    """Bring our refund in line with the provider's; a refund made at the provider is recorded."""
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        refund = _refund_find(payment, result)
        if refund is None:
            refund = Refund.objects.create(
                payment=payment,
                amount=result.amount,
                currency=result.currency,
                provider_refund_id=result.id,
                idempotency_key=f"provider-refund:{result.id}",
                is_external=True,
                memo="Refunded at the provider",
            )
            payment_event_add(
                payment_id=payment.pk,
                kind="refund_discovered",
                provider_event_id=provider_event_id,
                data={"refund": refund.pk, "provider_refund": result.id, "amount": result.amount},
            )
        elif refund.provider_refund_id is None:
            Refund.objects.filter(pk=refund.pk).update(provider_refund_id=result.id)
            refund.provider_refund_id = result.id
        if result.status == "succeeded" and refund.status == RefundStatus.PENDING:
            _refund_settle(payment, refund, result, provider_event_id)
        elif result.status in ("failed", "canceled") and refund.status == RefundStatus.PENDING:
            refund_machine.compare_and_set(
                Refund.objects.all(),
                pk=refund.pk,
                source=RefundStatus.PENDING,
                target=RefundStatus.FAILED,
                failure_code=result.failure_reason[:80] or result.status,
            )
            payment_event_add(
                payment_id=payment.pk,
                kind="refund_failed",
                provider_event_id=provider_event_id,
                data={"refund": refund.pk, "reason": result.failure_reason},
            )
        elif result.status in ("failed", "canceled") and refund.status == RefundStatus.SUCCEEDED:
            # Rare: the card could not take the money back. Reconciliation reports it.
            payment_event_add(
                payment_id=payment.pk,
                kind="anomaly",
                provider_event_id=provider_event_id,
                data={
                    "detail": f"refund {refund.pk} {result.status} at the provider after success"
                },
            )
        refund.refresh_from_db()
    return refund


def _refund_settle(
    payment: Payment, refund: Refund, result: RefundResult, provider_event_id: str
) -> None:
    if result.amount != refund.amount or refund.amount > payment.amount - payment.amount_refunded:
        raise PaymentsError(
            f"Refund {result.id} of {result.amount} does not fit payment #{payment.pk}.",
            code="refund_mismatch",
        )
    handler = handler_for(payment.purpose)
    entry = ledger_entry_post(
        kind=EntryKind.REFUND,
        legs=[
            debit(handler.credit_account(payment), refund.amount),
            credit(platform_account(AccountPurpose.STRIPE_CASH, payment.currency), refund.amount),
        ],
        idempotency_key=f"refund:{result.id}",
        memo=f"Refund of payment #{payment.pk}",
        reverses=payment.charge_entry,
        reference=("payment", payment.pk),
    )
    refunded = payment.amount_refunded + refund.amount
    target = (
        PaymentStatus.REFUNDED if refunded == payment.amount else PaymentStatus.PARTIALLY_REFUNDED
    )
    now = timezone.now()
    payment_machine.compare_and_set(
        Payment.objects.all(),
        pk=payment.pk,
        source=payment.status,
        target=target,
        amount_refunded=refunded,
        updated_at=now,
    )
    refund_machine.compare_and_set(
        Refund.objects.all(),
        pk=refund.pk,
        source=RefundStatus.PENDING,
        target=RefundStatus.SUCCEEDED,
        entry=entry,
        succeeded_at=now,
    )
    payment_event_add(
        payment_id=payment.pk,
        kind="refunded",
        from_status=payment.status,
        to_status=target,
        provider_event_id=provider_event_id,
        data={"refund": refund.pk, "amount": refund.amount, "entry": entry.pk},
    )
    payment.refresh_from_db()
    refund.refresh_from_db()
    handler.on_refunded(payment, refund, entry)


def refunds_sync(*, payment: Payment, provider_event_id: str = "") -> list[Refund]:
    """Apply every refund the provider holds for this payment (any order, any number of times)."""
    if not payment.provider_payment_intent_id:
        return []
    results = provider_for(payment.provider).refunds_of_payment_intent(
        payment.provider_payment_intent_id
    )
    return [
        refund_result_apply(
            payment_id=payment.pk, result=result, provider_event_id=provider_event_id
        )
        for result in sorted(results, key=lambda r: (r.created, r.id))
    ]
