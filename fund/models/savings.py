"""Solidarity savings: cooperative shares of the fund, never deposits.

The money itself is in the ledger (each member's MEMBER_SAVINGS account); these rows hold what
the books cannot: a saver's choice of interest share, redemptions and their queue, each year's
remuneration and close.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from ..money_enums import InterestShare, RedemptionStatus


class FundLock(models.Model):
    """One row per lock of the fund's money (``liquidity:EUR``, ``matching:EUR``…).

    Services that take money out of the savings pool or reserve the matching pool lock these rows
    first, always in the order of their keys, so concurrent decisions are serialised and never
    deadlock.
    """

    key = models.CharField(max_length=40, unique=True)

    def __str__(self) -> str:
        return self.key


class SavingsAccount(models.Model):
    """A member's savings in one currency: their choice of interest share. The balance is the
    ledger's MEMBER_SAVINGS account of the member."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="savings_accounts"
    )
    currency = models.CharField(max_length=3)
    interest_share = models.PositiveIntegerField(
        choices=InterestShare.choices, default=InterestShare.NONE
    )
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="fund_savings_one_per_user"),
            models.CheckConstraint(
                condition=Q(interest_share__in=InterestShare.values),
                name="fund_savings_interest_share_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Savings of {self.user_id} ({self.currency})"

    @property
    def is_sharing_savings(self) -> bool:
        return self.interest_share >= InterestShare.QUARTER


class Redemption(models.Model):
    """Shares paid back: requested → (notice) → queued while liquidity is short → payable → paid.

    Becoming payable posts the entry (savings → payouts to send) under the liquidity lock; the
    payout itself is a disbursement, which the treasurer approves.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="redemptions"
    )
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    status = models.CharField(
        max_length=12, choices=RedemptionStatus.choices, default=RedemptionStatus.REQUESTED
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    notice_ends_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    payable_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The current payout (payments.Disbursement); a failed one is replaced by a new attempt.
    disbursement_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payout_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            choices_check("status", RedemptionStatus, "fund_redemption_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fund_redemption_positive"),
            models.CheckConstraint(
                condition=Q(notice_ends_at__gte=F("requested_at")),
                name="fund_redemption_notice_after_request",
            ),
            # Payable and paid redemptions have left the savings pool in the books.
            models.CheckConstraint(
                condition=~Q(status__in=[RedemptionStatus.PAYABLE, RedemptionStatus.PAID])
                | Q(entry__isnull=False),
                name="fund_redemption_payable_has_entry",
            ),
        ]
        indexes = [models.Index(fields=["currency", "status", "requested_at"])]

    def __str__(self) -> str:
        return f"Redemption #{self.pk}"


class RedemptionEvent(models.Model):
    redemption = models.ForeignKey(Redemption, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Redemption {self.redemption_id}: {self.from_status} → {self.to_status}"


class FundYear(models.Model):
    """A closed year of the fund: its surplus and how it was allocated (posted once)."""

    year = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3)
    rate = models.PositiveIntegerField(help_text="Remuneration rate applied, basis points")
    income = models.BigIntegerField(help_text="The year's result before remuneration")
    remuneration = models.BigIntegerField(default=0)
    shared_interest = models.BigIntegerField(default=0)
    loss_provision = models.BigIntegerField(default=0)
    impartible_reserve = models.BigIntegerField(default=0)
    loss_absorbed = models.BigIntegerField(default=0)
    closing_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["year", "currency"], name="fund_year_once"),
            models.CheckConstraint(
                condition=Q(remuneration__gte=0)
                & Q(shared_interest__gte=0)
                & Q(loss_provision__gte=0)
                & Q(impartible_reserve__gte=0)
                & Q(loss_absorbed__gte=0),
                name="fund_year_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.currency}"


class Remuneration(models.Model):
    """A saver's remuneration for a year: new shares, and the part they chose to share."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3)
    # Sum over the days of the year of the end-of-day balance (minor units × days).
    balance_days = models.BigIntegerField()
    days = models.PositiveSmallIntegerField()
    rate = models.PositiveIntegerField(help_text="Basis points")
    amount = models.BigIntegerField()
    interest_share = models.PositiveIntegerField(choices=InterestShare.choices)
    shared = models.BigIntegerField()
    credited = models.BigIntegerField()
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-year", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "year", "currency"], name="fund_remuneration_once"
            ),
            models.CheckConstraint(
                condition=Q(amount=F("shared") + F("credited")) & Q(shared__gte=0),
                name="fund_remuneration_split",
            ),
            models.CheckConstraint(condition=Q(credited__gte=0), name="fund_remuneration_positive"),
        ]

    def __str__(self) -> str:
        return f"Remuneration {self.year} of {self.user_id}"

    @property
    def average_balance(self) -> int:
        return self.balance_days // self.days if self.days else 0
