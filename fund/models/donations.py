"""Donations (to the grants pool or to a campaign) and their tax receipts."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from ..money_enums import DonationStatus, DonationTarget, ReceiptKind, TaxRate


class Donation(models.Model):
    """A gift: never paid back. Its payment settles it; its receipt follows."""

    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="donations"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    target = models.CharField(max_length=12, choices=DonationTarget.choices)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="donations",
    )
    # A member's contribution to a quadratic-funding round (members only).
    qf_round = models.ForeignKey(
        "fund.QFRound",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contributions",
    )
    status = models.CharField(
        max_length=12, choices=DonationStatus.choices, default=DonationStatus.PENDING
    )
    payment_id = models.BigIntegerField(null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            choices_check("status", DonationStatus, "fund_donation_status_valid"),
            choices_check("target", DonationTarget, "fund_donation_target_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fund_donation_positive"),
            models.CheckConstraint(
                condition=Q(target=DonationTarget.CAMPAIGN, campaign__isnull=False)
                | Q(target=DonationTarget.GRANTS_POOL, campaign__isnull=True),
                name="fund_donation_target_matches_campaign",
            ),
            models.CheckConstraint(
                condition=Q(qf_round__isnull=True) | Q(target=DonationTarget.CAMPAIGN),
                name="fund_donation_qf_goes_to_a_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"Donation #{self.pk}"


class ReceiptSequence(models.Model):
    """The last receipt number of a year: numbers follow each other with no gap."""

    year = models.PositiveSmallIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class DonationReceipt(models.Model):
    """A tax receipt (reçu fiscal) for a donation or a shared interest. Kept for the donor and the
    tax office; a refunded donation's receipt is voided, never deleted."""

    number = models.CharField(max_length=20, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ReceiptKind.choices)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="donation_receipts"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    tax_rate = models.PositiveIntegerField(choices=TaxRate.choices)
    beneficiary = models.CharField(max_length=300)
    donation = models.OneToOneField(
        Donation, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    remuneration = models.OneToOneField(
        "fund.Remuneration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipt",
    )
    issued_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="fund_receipt_sequence"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fund_receipt_positive"),
            models.CheckConstraint(
                condition=Q(tax_rate__in=TaxRate.values), name="fund_receipt_tax_rate_valid"
            ),
            choices_check("kind", ReceiptKind, "fund_receipt_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=ReceiptKind.DONATION, donation__isnull=False)
                | Q(kind=ReceiptKind.SHARED_INTEREST, remuneration__isnull=False),
                name="fund_receipt_has_its_source",
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | Q(voided_at__gte=F("issued_at")),
                name="fund_receipt_voided_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def tax_reduction(self) -> int:
        """What the donor may deduct, rounded down (the tax office applies its own caps)."""
        return self.amount * self.tax_rate // 10_000

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class DonationTaxStatus(models.Model):
    """A project recorded by the treasurer as aid to people in difficulty (free meals, help with
    housing, free care: CGI art. 200-1 ter): donations to its campaigns get the 75% rate."""

    project = models.OneToOneField(
        "campaigns.Project", on_delete=models.CASCADE, related_name="donation_tax_status"
    )
    tax_rate = models.PositiveIntegerField(choices=TaxRate.choices)
    basis = models.CharField(max_length=500)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__in=TaxRate.values), name="fund_tax_status_rate_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.tax_rate}"
