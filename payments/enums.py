from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentPurpose(models.TextChoices):
    """What a payment is for; each purpose is settled by the app that owns it."""

    PLEDGE = "pledge", _("Campaign pledge")
    SAVINGS = "savings", _("Savings subscription")
    DONATION = "donation", _("Donation")
    SHARE = "share", _("Cooperative share purchase")


class ProviderName(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    STRIPE = "stripe", _("Stripe")


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Created")
    REQUIRES_ACTION = "requires_action", _("Requires authentication")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


# Statuses in which the charge is booked in the ledger.
SETTLED_STATUSES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class RefundReason(models.TextChoices):
    """Stripe's reasons, so the provider gets the same value."""

    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the payer")
    DUPLICATE = "duplicate", _("Duplicate")
    FRAUDULENT = "fraudulent", _("Fraudulent")


class SetupStatus(models.TextChoices):
    CREATED = "created", _("Created")
    REQUIRES_ACTION = "requires_action", _("Requires authentication")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class PayeeOwnerType(models.TextChoices):
    PROJECT = "project", _("Project")
    PERSON = "person", _("Person")


class PayoutMethod(models.TextChoices):
    STRIPE_CONNECT = "stripe_connect", _("Stripe Connect Express account")
    MANUAL_BANK = "manual_bank", _("Manual bank transfer")


class OnboardingStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    PENDING = "pending", _("Pending")
    COMPLETE = "complete", _("Complete")


class DisbursementPurpose(models.TextChoices):
    MILESTONE_TRANCHE = "milestone_tranche", _("Milestone tranche")
    GRANT = "grant", _("Grant")
    LOAN = "loan", _("Solidarity loan")
    SHARE_REDEMPTION = "share_redemption", _("Cooperative share paid back")


class DisbursementStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUBMITTED = "submitted", _("Submitted")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
