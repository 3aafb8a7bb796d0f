from django.urls import path

from . import apis

app_name = "payments"

urlpatterns = [
    # the payer
    path("payments/mine", apis.PaymentMineListApi.as_view(), name="payment-mine-list"),
    path(
        "payments/mine/<int:payment_id>",
        apis.PaymentMineDetailApi.as_view(),
        name="payment-mine-detail",
    ),
    path(
        "payments/mine/<int:payment_id>/sync",
        apis.PaymentMineSyncApi.as_view(),
        name="payment-mine-sync",
    ),
    path("payments/methods", apis.SavedPaymentMethodListApi.as_view(), name="method-list"),
    path(
        "payments/methods/<int:method_id>",
        apis.SavedPaymentMethodDetachApi.as_view(),
        name="method-detach",
    ),
    path("payments/methods/setup", apis.PaymentMethodSetupStartApi.as_view(), name="setup-start"),
    path(
        "payments/methods/setup/<str:setup_intent_id>/complete",
        apis.PaymentMethodSetupCompleteApi.as_view(),
        name="setup-complete",
    ),
    # the sandbox's stand-in for Stripe.js and Stripe's hosted pages
    path(
        "payments/sandbox/setups/<str:setup_intent_id>/confirm",
        apis.SandboxSetupConfirmApi.as_view(),
        name="sandbox-setup-confirm",
    ),
    path(
        "payments/sandbox/setups/<str:setup_intent_id>/authenticate",
        apis.SandboxSetupAuthenticateApi.as_view(),
        name="sandbox-setup-authenticate",
    ),
    path(
        "payments/sandbox/payments/<int:payment_id>/confirm",
        apis.SandboxPaymentConfirmApi.as_view(),
        name="sandbox-payment-confirm",
    ),
    path(
        "payments/sandbox/payments/<int:payment_id>/authenticate",
        apis.SandboxPaymentAuthenticateApi.as_view(),
        name="sandbox-payment-authenticate",
    ),
    path(
        "payments/sandbox/onboarding/<str:token>",
        apis.SandboxOnboardingApi.as_view(),
        name="sandbox-onboarding",
    ),
    # payouts
    path("payments/payees/mine", apis.PayeeAccountMineListApi.as_view(), name="payee-mine-list"),
    path(
        "payments/payees/mine/connect",
        apis.PayeeAccountConnectApi.as_view(),
        name="payee-mine-connect",
    ),
    path("payments/payees/mine/bank", apis.PayeeAccountBankApi.as_view(), name="payee-mine-bank"),
    path(
        "payments/disbursements/mine",
        apis.DisbursementMineListApi.as_view(),
        name="disbursement-mine-list",
    ),
    # the treasurer and auditors
    path("payments", apis.PaymentListApi.as_view(), name="payment-list"),
    path("payments/refunds", apis.RefundListApi.as_view(), name="refund-list"),
    path(
        "payments/<int:payment_id>/refunds",
        apis.PaymentRefundApi.as_view(),
        name="payment-refund",
    ),
    path("payments/disbursements", apis.DisbursementListApi.as_view(), name="disbursement-list"),
    path(
        "payments/disbursements/<int:disbursement_id>/approve",
        apis.DisbursementApproveApi.as_view(),
        name="disbursement-approve",
    ),
    path(
        "payments/disbursements/<int:disbursement_id>/reject",
        apis.DisbursementRejectApi.as_view(),
        name="disbursement-reject",
    ),
    path(
        "payments/disbursements/<int:disbursement_id>/mark-paid",
        apis.DisbursementMarkPaidApi.as_view(),
        name="disbursement-mark-paid",
    ),
    path(
        "payments/disbursements/<int:disbursement_id>/mark-failed",
        apis.DisbursementMarkFailedApi.as_view(),
        name="disbursement-mark-failed",
    ),
    path("payments/cash-transfers", apis.CashTransferApi.as_view(), name="cash-transfers"),
    path("payments/webhook-events", apis.WebhookEventListApi.as_view(), name="webhook-event-list"),
    path(
        "payments/reconciliation-reports",
        apis.ReconciliationReportListApi.as_view(),
        name="reconciliation-report-list",
    ),
    # webhooks in
    path("payments/webhooks/stripe", apis.StripeWebhookApi.as_view(), name="webhook-stripe"),
]
