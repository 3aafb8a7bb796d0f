from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountType(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


# Debit-normal accounts grow with debits; the others grow with credits.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class OwnerType(models.TextChoices):
    PLATFORM = "platform", _("Platform")
    FUND = "fund", _("Common fund")
    MEMBER = "member", _("Member")
    CAMPAIGN = "campaign", _("Campaign")


class Side(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


class AccountPurpose(models.TextChoices):
    """The chart of accounts. Each purpose has one account per owner and currency."""

    STRIPE_CASH = "stripe_cash", _("Money held at Stripe")
    BANK_CASH = "bank_cash", _("Money in the bank")
    PROCESSOR_FEES = "processor_fees", _("Payment processor fees")
    CAMPAIGN_ESCROW = "campaign_escrow", _("Campaign escrow")
    MEMBER_SHARES = "member_shares", _("Member's cooperative shares (membership)")
    MEMBER_SAVINGS = "member_savings", _("Member's solidarity savings (cooperative shares)")
    GRANTS_POOL = "grants_pool", _("Grants pool")
    MATCHING_POOL = "matching_pool", _("Matching pool")
    LIQUIDITY_RESERVE = "liquidity_reserve", _("Liquidity reserve")
    IMPARTIBLE_RESERVE = "impartible_reserve", _("Impartible reserve")
    LOANS_RECEIVABLE = "loans_receivable", _("Loans receivable")
    LOSS_PROVISION = "loss_provision", _("Loan loss provision")
    INTEREST_INCOME = "interest_income", _("Interest income")
    REMUNERATION_EXPENSE = "remuneration_expense", _("Remuneration of savings")
    GRANTS_EXPENSE = "grants_expense", _("Grants paid")
    PAYOUTS_PAYABLE = "payouts_payable", _("Payouts to send")
    SUSPENSE = "suspense", _("Suspense (reconciliation differences)")


class EntryKind(models.TextChoices):
    SHARE_PURCHASE = "share_purchase", _("Share purchase")
    SHARE_REDEMPTION = "share_redemption", _("Share paid back")
    PLEDGE_CHARGE = "pledge_charge", _("Pledge collected")
    DONATION = "donation", _("Donation")
    SAVINGS_SUBSCRIPTION = "savings_subscription", _("Savings subscription")
    SAVINGS_REDEMPTION = "savings_redemption", _("Savings redemption")
    SAVINGS_REMUNERATION = "savings_remuneration", _("Savings remuneration")
    PROCESSOR_FEE = "processor_fee", _("Processor fee")
    REFUND = "refund", _("Refund")
    DISBURSEMENT = "disbursement", _("Disbursement")
    MATCH = "match", _("Matchfunding")
    GRANT = "grant", _("Grant")
    LOAN_DISBURSEMENT = "loan_disbursement", _("Loan disbursed")
    LOAN_REPAYMENT = "loan_repayment", _("Loan repayment")
    LOAN_WRITE_OFF = "loan_write_off", _("Loan written off")
    RESERVE_ALLOCATION = "reserve_allocation", _("Reserve allocation")
    TRANSFER = "transfer", _("Transfer between accounts")
    REVERSAL = "reversal", _("Reversal")
    ADJUSTMENT = "adjustment", _("Reconciliation adjustment")
