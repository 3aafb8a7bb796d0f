"""Money in (payments, refunds), money out (disbursements), and what the provider told us.

Rows that record money are never deleted; statuses move through the machines in
`payments/machines.py` by compare-and-set, and each move appends an event row.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from .enums import (
    DisbursementPurpose,
    DisbursementStatus,
    OnboardingStatus,
    PayeeOwnerType,
    PaymentPurpose,
    PaymentStatus,
    PayoutMethod,
    ProviderName,
    RefundReason,
    RefundStatus,
    SetupStatus,
    WebhookEventStatus,
)


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a row of an event log."""


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class Customer(models.Model):
    """A person as the provider knows them (Stripe Customer)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_customers"
    )
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    provider_customer_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="payments_customer_one_per_provider"
            ),
            choices_check("provider", ProviderName, "payments_customer_provider_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} customer {self.provider_customer_id or '(pending)'}"


class PaymentMethodSetup(models.Model):
    """One attempt to save a card (a SetupIntent), so its result can be tied to its owner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_method_setups"
    )
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    provider_setup_intent_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=SetupStatus.choices, default=SetupStatus.CREATED
    )
    saved_method = models.ForeignKey(
        "SavedPaymentMethod", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    failure_code = models.CharField(max_length=80, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            choices_check("status", SetupStatus, "payments_setup_status_valid"),
            choices_check("provider", ProviderName, "payments_setup_provider_valid"),
            models.CheckConstraint(
                condition=~Q(status=SetupStatus.SUCCEEDED) | Q(saved_method__isnull=False),
                name="payments_setup_succeeded_has_method",
            ),
        ]

    def __str__(self) -> str:
        return f"setup {self.provider_setup_intent_id or self.pk} ({self.status})"


class SavedPaymentMethod(models.Model):
    """A card saved through a SetupIntent, for off-session charges. Only its display details."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="saved_payment_methods"
    )
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    provider_payment_method_id = models.CharField(max_length=120, unique=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("provider", ProviderName, "payments_method_provider_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"

    @property
    def is_active(self) -> bool:
        return self.detached_at is None


class Payment(models.Model):
    """One attempt to bring money in, whatever its purpose."""

    purpose = models.CharField(max_length=16, choices=PaymentPurpose.choices)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    amount = models.BigIntegerField(help_text="Minor units")
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    provider_customer_id = models.CharField(max_length=120, blank=True)
    provider_payment_intent_id = models.CharField(
        max_length=120, unique=True, null=True, blank=True
    )
    provider_charge_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    # What the browser needs to confirm on-session; shown to the payer only.
    client_secret = models.CharField(max_length=300, blank=True)
    payment_method = models.ForeignKey(
        SavedPaymentMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    off_session = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    amount_refunded = models.BigIntegerField(default=0)
    # The provider's fee, once known (None until the balance transaction exists).
    fee_amount = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reference_type = models.CharField(max_length=40, blank=True)
    reference_id = models.BigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    failure_code = models.CharField(max_length=80, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    charge_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    fee_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("status", PaymentStatus, "payments_payment_status_valid"),
            choices_check("purpose", PaymentPurpose, "payments_payment_purpose_valid"),
            choices_check("provider", ProviderName, "payments_payment_provider_valid"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payments_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payments_payment_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(fee_amount__isnull=True)
                | (Q(fee_amount__gte=0) & Q(fee_amount__lte=F("amount"))),
                name="payments_payment_fee_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="payments_payment_key_not_empty"
            ),
            # Booked statuses always point at their charge entry.
            models.CheckConstraint(
                condition=~Q(
                    status__in=[
                        PaymentStatus.SUCCEEDED,
                        PaymentStatus.PARTIALLY_REFUNDED,
                        PaymentStatus.REFUNDED,
                    ]
                )
                | Q(charge_entry__isnull=False),
                name="payments_payment_settled_has_entry",
            ),
            models.CheckConstraint(
                condition=~Q(status=PaymentStatus.REFUNDED) | Q(amount_refunded=F("amount")),
                name="payments_payment_refunded_is_whole",
            ),
            models.CheckConstraint(
                condition=~Q(status=PaymentStatus.PARTIALLY_REFUNDED)
                | (Q(amount_refunded__gt=0) & Q(amount_refunded__lt=F("amount"))),
                name="payments_payment_partially_refunded_is_partial",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        PaymentStatus.SUCCEEDED,
                        PaymentStatus.PARTIALLY_REFUNDED,
                        PaymentStatus.REFUNDED,
                    ]
                )
                | Q(amount_refunded=0),
                name="payments_payment_refunds_only_when_settled",
            ),
        ]
        indexes = [
            models.Index(fields=["reference_type", "reference_id"]),
            models.Index(fields=["payer", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"payment #{self.pk} {self.purpose} {self.amount} {self.currency} ({self.status})"

    @property
    def amount_refundable(self) -> int:
        return self.amount - self.amount_refunded


class PaymentEvent(AppendOnlyModel):
    """The log of a payment: status moves, provider events, refunds."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    provider_event_id = models.CharField(max_length=120, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["payment", "id"])]

    def __str__(self) -> str:
        return f"payment #{self.payment_id}: {self.kind}"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=12, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    reason = models.CharField(
        max_length=32, choices=RefundReason.choices, default=RefundReason.REQUESTED_BY_CUSTOMER
    )
    memo = models.CharField(max_length=300, blank=True)
    provider_refund_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Made at the provider (its dashboard), learnt from an event.
    is_external = models.BooleanField(default=False)
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    failure_code = models.CharField(max_length=80, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("status", RefundStatus, "payments_refund_status_valid"),
            choices_check("reason", RefundReason, "payments_refund_reason_valid"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payments_refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="payments_refund_key_not_empty"
            ),
            models.CheckConstraint(
                condition=~Q(status=RefundStatus.SUCCEEDED) | Q(entry__isnull=False),
                name="payments_refund_succeeded_has_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"refund #{self.pk} of payment #{self.payment_id}: {self.amount} ({self.status})"


class WebhookEvent(models.Model):
    """The inbox: every verified provider event, once, keyed by the provider's event id."""

    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    provider_event_id = models.CharField(max_length=120, unique=True)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    is_signature_verified = models.BooleanField(default=False)
    status = models.CharField(
        max_length=12, choices=WebhookEventStatus.choices, default=WebhookEventStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("status", WebhookEventStatus, "payments_webhook_status_valid"),
            choices_check("provider", ProviderName, "payments_webhook_provider_valid"),
            # Only verified events are ever stored.
            models.CheckConstraint(
                condition=Q(is_signature_verified=True), name="payments_webhook_verified"
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.provider_event_id} {self.type} ({self.status})"


class PayeeAccount(models.Model):
    """Where a disbursement goes: a project's or a person's payout account."""

    owner_type = models.CharField(max_length=10, choices=PayeeOwnerType.choices)
    owner_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payee_accounts",
        help_text="The person who set the account up and is told about payouts.",
    )
    method = models.CharField(max_length=16, choices=PayoutMethod.choices)
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    connect_account_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    onboarding_status = models.CharField(
        max_length=12, choices=OnboardingStatus.choices, default=OnboardingStatus.NOT_STARTED
    )
    payouts_enabled = models.BooleanField(default=False)
    email = models.EmailField(blank=True)
    country = models.CharField(max_length=2, default="FR")
    # Bank details are kept masked; the full RIB stays with the treasurer.
    bank_holder_name = models.CharField(max_length=120, blank=True)
    bank_iban_masked = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            choices_check("owner_type", PayeeOwnerType, "payments_payee_owner_type_valid"),
            choices_check("method", PayoutMethod, "payments_payee_method_valid"),
            choices_check("provider", ProviderName, "payments_payee_provider_valid"),
            choices_check("onboarding_status", OnboardingStatus, "payments_payee_onboarding_valid"),
            models.UniqueConstraint(
                fields=["owner_type", "owner_id", "method"], name="payments_payee_one_per_method"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_type} {self.owner_id} via {self.method}"


class Disbursement(models.Model):
    """Money out: requested, approved by the treasurer (four eyes), submitted, then paid or failed."""

    payee = models.ForeignKey(PayeeAccount, on_delete=models.PROTECT, related_name="disbursements")
    amount = models.BigIntegerField(help_text="Minor units")
    currency = models.CharField(max_length=3)
    # The account debited when the payout is submitted (a campaign's escrow, the grants pool…).
    source_account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=DisbursementPurpose.choices)
    reference_type = models.CharField(max_length=40, blank=True)
    reference_id = models.BigIntegerField(null=True, blank=True)
    memo = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=DisbursementStatus.choices, default=DisbursementStatus.REQUESTED
    )
    method = models.CharField(max_length=16, choices=PayoutMethod.choices)
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    provider_transfer_id = models.CharField(max_length=120, unique=True, null=True, blank=True)
    bank_reference = models.CharField(max_length=120, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    submitted_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversal_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("status", DisbursementStatus, "payments_disbursement_status_valid"),
            choices_check("purpose", DisbursementPurpose, "payments_disbursement_purpose_valid"),
            choices_check("method", PayoutMethod, "payments_disbursement_method_valid"),
            choices_check("provider", ProviderName, "payments_disbursement_provider_valid"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payments_disbursement_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="payments_disbursement_key_not_empty"
            ),
            # Four eyes: whoever requested a payout cannot approve it.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="payments_disbursement_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[
                        DisbursementStatus.APPROVED,
                        DisbursementStatus.SUBMITTED,
                        DisbursementStatus.PAID,
                    ]
                )
                | Q(approved_by__isnull=False),
                name="payments_disbursement_approved_by_set",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[DisbursementStatus.SUBMITTED, DisbursementStatus.PAID])
                | Q(submitted_entry__isnull=False),
                name="payments_disbursement_submitted_has_entry",
            ),
            # A failure after submission gives the money back to its source.
            models.CheckConstraint(
                condition=~Q(status=DisbursementStatus.FAILED)
                | Q(submitted_entry__isnull=True)
                | Q(reversal_entry__isnull=False),
                name="payments_disbursement_failure_reversed",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["reference_type", "reference_id"]),
        ]

    def __str__(self) -> str:
        return f"disbursement #{self.pk} {self.amount} {self.currency} ({self.status})"


class DisbursementEvent(AppendOnlyModel):
    disbursement = models.ForeignKey(Disbursement, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"disbursement #{self.disbursement_id}: {self.kind}"


class ReconciliationReport(models.Model):
    """One comparison of our records and the ledger with the provider. It changes no books."""

    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    payments_checked = models.PositiveIntegerField(default=0)
    refunds_checked = models.PositiveIntegerField(default=0)
    transfers_checked = models.PositiveIntegerField(default=0)
    ledger_cash = models.JSONField(default=dict, blank=True)
    provider_cash = models.JSONField(default=dict, blank=True)
    differences = models.JSONField(default=list, blank=True)
    is_clean = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            choices_check("provider", ProviderName, "payments_reconciliation_provider_valid"),
        ]

    def __str__(self) -> str:
        state = "clean" if self.is_clean else f"{len(self.differences)} difference(s)"
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M} ({state})"


class SandboxObject(models.Model):
    """The sandbox provider's own state: what Stripe would hold on its side."""

    object_id = models.CharField(max_length=120, primary_key=True)
    kind = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return self.object_id


class SandboxIdempotencyKey(models.Model):
    """The sandbox replays a POST with the same key, as Stripe does."""

    key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=80)
    fingerprint = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
