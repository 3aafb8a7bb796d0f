"""Every write of the payments app. Other apps call these; they never import a provider."""

from .customers import (
    SetupStart,
    customer_ensure,
    payment_method_detach,
    payment_method_setup_complete,
    payment_method_setup_start,
)
from .disbursements import (
    disbursement_approve,
    disbursement_failure_record,
    disbursement_mark_failed_manually,
    disbursement_mark_paid_manually,
    disbursement_open,
    disbursement_reject,
    disbursement_request,
    disbursement_send,
    payee_account_bank_set,
    payee_account_connect_start,
    payee_account_get_or_create,
    payee_account_sync,
)
from .payments import payment_cancel, payment_create, payment_intent_apply, payment_sync
from .reconciliation import payments_reconcile
from .refunds import payment_refund, refund_submit
from .webhooks import webhook_event_handle, webhook_event_replay, webhook_receive

__all__ = [
    "SetupStart",
    "customer_ensure",
    "disbursement_approve",
    "disbursement_failure_record",
    "disbursement_mark_failed_manually",
    "disbursement_mark_paid_manually",
    "disbursement_open",
    "disbursement_reject",
    "disbursement_request",
    "disbursement_send",
    "payee_account_bank_set",
    "payee_account_connect_start",
    "payee_account_get_or_create",
    "payee_account_sync",
    "payment_cancel",
    "payment_create",
    "payment_intent_apply",
    "payment_method_detach",
    "payment_method_setup_complete",
    "payment_method_setup_start",
    "payment_refund",
    "payment_sync",
    "payments_reconcile",
    "refund_submit",
    "webhook_event_handle",
    "webhook_event_replay",
    "webhook_receive",
]
