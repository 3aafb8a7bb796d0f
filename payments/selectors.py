"""Reads of the payments app."""

from typing import Any

from django.db.models import Q, QuerySet

from common.errors import NotFoundError
from ledger.enums import AccountPurpose, OwnerType
from ledger.models import Account

from .models import (
    Disbursement,
    PayeeAccount,
    Payment,
    ReconciliationReport,
    Refund,
    SavedPaymentMethod,
    WebhookEvent,
)


def payment_list(*, payer: Any = None) -> QuerySet[Payment]:
    payments = Payment.objects.select_related("payment_method")
    if payer is not None:
        payments = payments.filter(payer=payer)
    return payments.order_by("-id")


def payment_get_for_payer(*, payer: Any, payment_id: int) -> Payment:
    payment = Payment.objects.filter(pk=payment_id, payer=payer).first()
    if payment is None:
        raise NotFoundError("No such payment.")
    return payment


def payment_get(*, payment_id: int) -> Payment:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFoundError("No such payment.")
    return payment


def saved_payment_method_list(*, user: Any) -> QuerySet[SavedPaymentMethod]:
    return SavedPaymentMethod.objects.filter(user=user, detached_at__isnull=True).order_by("-id")


def saved_payment_method_get(*, user: Any, method_id: int) -> SavedPaymentMethod:
    method = SavedPaymentMethod.objects.filter(pk=method_id, user=user).first()
    if method is None:
        raise NotFoundError("No such card.")
    return method


def refund_list() -> QuerySet[Refund]:
    return Refund.objects.order_by("-id")


def disbursement_list() -> QuerySet[Disbursement]:
    return Disbursement.objects.select_related("payee", "source_account").order_by("-id")


def disbursement_list_for_user(*, user: Any) -> QuerySet[Disbursement]:
    """Payouts a person asked for, or that are paid to them."""
    return disbursement_list().filter(Q(requested_by=user) | Q(payee__user=user))


def disbursement_get(*, disbursement_id: int) -> Disbursement:
    disbursement = (
        Disbursement.objects.select_related("payee", "source_account")
        .filter(pk=disbursement_id)
        .first()
    )
    if disbursement is None:
        raise NotFoundError("No such disbursement.")
    return disbursement


def payee_account_list_for_user(*, user: Any) -> QuerySet[PayeeAccount]:
    return PayeeAccount.objects.filter(owner_type="person", owner_id=user.pk).order_by("id")


def webhook_event_list() -> QuerySet[WebhookEvent]:
    return WebhookEvent.objects.order_by("-id")


def reconciliation_report_list() -> QuerySet[ReconciliationReport]:
    return ReconciliationReport.objects.order_by("-id")


def platform_cash_balances(*, currency: str) -> dict[str, int]:
    """The ledger's cash at Stripe and in the bank, in one currency."""
    balances = dict(
        Account.objects.filter(
            owner_type=OwnerType.PLATFORM,
            currency=currency,
            purpose__in=[AccountPurpose.STRIPE_CASH, AccountPurpose.BANK_CASH],
        ).values_list("purpose", "balance")
    )
    return {
        "stripe_cash": int(balances.get(AccountPurpose.STRIPE_CASH, 0)),
        "bank_cash": int(balances.get(AccountPurpose.BANK_CASH, 0)),
    }
