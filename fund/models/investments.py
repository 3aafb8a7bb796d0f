"""Investments of the fund: grants (from the grants pool) and solidarity loans (from lendable
savings), each paid through a disbursement; a loan's schedule and repayments."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from ..money_enums import InstallmentStatus, InvestmentKind, InvestmentStatus


class Investment(models.Model):
    kind = models.CharField(max_length=6, choices=InvestmentKind.choices)
    title = models.CharField(max_length=300)
    project = models.ForeignKey(
        "campaigns.Project",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fund_investments",
    )
    theme = models.ForeignKey(
        "campaigns.Theme", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    round_project = models.OneToOneField(
        "fund.RoundProject",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="investment",
    )
    amount = models.BigIntegerField(help_text="Grant or principal, minor units")
    currency = models.CharField(max_length=3, default="EUR")
    # Loans: yearly rate in basis points and the number of monthly installments.
    rate = models.PositiveIntegerField(default=0)
    term_months = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=12, choices=InvestmentStatus.choices, default=InvestmentStatus.PROPOSED
    )
    payee = models.ForeignKey(
        "payments.PayeeAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    commitment_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    disbursement_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payout_attempts = models.PositiveSmallIntegerField(default=0)
    principal_repaid = models.BigIntegerField(default=0)
    interest_paid = models.BigIntegerField(default=0)
    written_off = models.BigIntegerField(default=0)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    disbursed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            choices_check("kind", InvestmentKind, "fund_investment_kind_valid"),
            choices_check("status", InvestmentStatus, "fund_investment_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fund_investment_positive"),
            models.CheckConstraint(
                condition=Q(kind=InvestmentKind.LOAN, term_months__gt=0)
                | Q(kind=InvestmentKind.GRANT, term_months=0, rate=0),
                name="fund_investment_loan_terms",
            ),
            models.CheckConstraint(
                condition=Q(kind=InvestmentKind.LOAN)
                | Q(
                    status__in=[
                        InvestmentStatus.PROPOSED,
                        InvestmentStatus.APPROVED,
                        InvestmentStatus.DISBURSED,
                        InvestmentStatus.CANCELLED,
                    ]
                ),
                name="fund_investment_grant_statuses",
            ),
            models.CheckConstraint(
                condition=Q(principal_repaid__gte=0)
                & Q(written_off__gte=0)
                & Q(interest_paid__gte=0)
                & Q(principal_repaid__lte=F("amount") - F("written_off")),
                name="fund_investment_repaid_within_principal",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="fund_investment_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def outstanding(self) -> int:
        return self.amount - self.principal_repaid - self.written_off

    @property
    def is_loan(self) -> bool:
        return self.kind == InvestmentKind.LOAN


class InvestmentEvent(models.Model):
    investment = models.ForeignKey(Investment, on_delete=models.CASCADE, related_name="events")
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
        return f"Investment {self.investment_id}: {self.from_status} → {self.to_status}"


class LoanInstallment(models.Model):
    """One monthly installment of a loan's schedule: equal principal, interest on what is left."""

    investment = models.ForeignKey(Investment, on_delete=models.CASCADE, related_name="schedule")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    principal_paid = models.BigIntegerField(default=0)
    interest_paid = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=6, choices=InstallmentStatus.choices, default=InstallmentStatus.DUE
    )

    class Meta:
        ordering = ["investment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["investment", "number"], name="fund_installment_once"),
            choices_check("status", InstallmentStatus, "fund_installment_status_valid"),
            models.CheckConstraint(
                condition=Q(principal__gte=0)
                & Q(interest__gte=0)
                & Q(principal_paid__gte=0)
                & Q(principal_paid__lte=F("principal"))
                & Q(interest_paid__gte=0)
                & Q(interest_paid__lte=F("interest")),
                name="fund_installment_paid_within_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Installment {self.number} of loan {self.investment_id}"

    @property
    def remaining(self) -> int:
        return self.principal - self.principal_paid + self.interest - self.interest_paid


class LoanRepayment(models.Model):
    """Money back from a borrower (a bank transfer the treasurer records): interest first, then
    principal, installment by installment."""

    investment = models.ForeignKey(Investment, on_delete=models.PROTECT, related_name="repayments")
    amount = models.BigIntegerField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    bank_reference = models.CharField(max_length=120)
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["investment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0)
                & Q(principal__gte=0)
                & Q(interest__gte=0)
                & Q(amount=F("principal") + F("interest")),
                name="fund_repayment_split",
            ),
            models.UniqueConstraint(
                fields=["investment", "bank_reference"], name="fund_repayment_reference_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Repayment #{self.pk} of loan {self.investment_id}"
