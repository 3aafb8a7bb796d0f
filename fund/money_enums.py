"""Choices and state machines of the fund's money: savings, redemptions, donations, matching,
investments and the year-end."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.fsm import StateMachine


class InterestShare(models.IntegerChoices):
    """The part of a saver's remuneration given to the grants pool, in basis points."""

    NONE = 0, _("Keep all my remuneration")
    QUARTER = 2500, _("Share 25%")
    HALF = 5000, _("Share 50%")
    THREE_QUARTERS = 7500, _("Share 75%")
    ALL = 10000, _("Share 100%")


# From this share on, the savings count as "épargne de partage" (sharing savings).
SHARING_SAVINGS_FROM = InterestShare.QUARTER


class RedemptionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested: notice period")
    QUEUED = "queued", _("Queued: waiting for liquidity")
    PAYABLE = "payable", _("Payable: payout under way")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


REDEMPTION_MACHINE = StateMachine(
    "redemption",
    {
        "requested": ["queued", "payable", "cancelled"],
        "queued": ["payable", "cancelled"],
        "payable": ["paid"],
    },
)
# Redemptions that still hold a claim on the member's savings.
REDEMPTION_WAITING = frozenset({RedemptionStatus.REQUESTED, RedemptionStatus.QUEUED})


class DonationTarget(models.TextChoices):
    GRANTS_POOL = "grants_pool", _("The fund's grants pool")
    CAMPAIGN = "campaign", _("A campaign")


class DonationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the payment")
    SUCCEEDED = "succeeded", _("Received")
    FAILED = "failed", _("Payment failed")
    REFUNDED = "refunded", _("Refunded")


DONATION_MACHINE = StateMachine(
    "donation",
    {
        "pending": ["succeeded", "failed"],
        "failed": ["succeeded"],  # another card can still complete the payment
        "succeeded": ["refunded"],
    },
)


class ReceiptKind(models.TextChoices):
    DONATION = "donation", _("Donation")
    SHARED_INTEREST = "shared_interest", _("Shared interest (sharing savings)")


class TaxRate(models.IntegerChoices):
    """Income-tax reduction of a donor in France (Code général des impôts, art. 200)."""

    GENERAL_INTEREST = 6600, _("66%: organisation of general interest")
    PEOPLE_IN_DIFFICULTY = 7500, _("75%: aid to people in difficulty")


class MatchingRuleStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed to the members")
    ACTIVE = "active", _("In force")
    REJECTED = "rejected", _("Not adopted")
    RETIRED = "retired", _("Replaced")


MATCHING_RULE_MACHINE = StateMachine(
    "matching rule",
    {"proposed": ["active", "rejected"], "active": ["retired"]},
)


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("Reserved in the matching pool")
    COMMITTED = "committed", _("Moved to the campaign's escrow")
    RELEASED = "released", _("Released to the pool")
    REVERSED = "reversed", _("Reversed (refund)")


MATCH_MACHINE = StateMachine(
    "match",
    {
        "pending": ["committed", "released"],
        "committed": ["reversed"],
    },
)


class QFRoundStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open to contributions")
    CLOSED = "closed", _("Closed: matches paid")
    CANCELLED = "cancelled", _("Cancelled")


QF_ROUND_MACHINE = StateMachine(
    "quadratic-funding round",
    {"draft": ["open", "cancelled"], "open": ["closed"]},
)


class InvestmentKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    LOAN = "loan", _("Solidarity loan")


class InvestmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved: payout under way")
    DISBURSED = "disbursed", _("Disbursed")
    REPAYING = "repaying", _("Repaying")
    REPAID = "repaid", _("Repaid")
    LATE = "late", _("Late")
    DEFAULTED = "defaulted", _("Defaulted")
    WRITTEN_OFF = "written_off", _("Written off")
    CANCELLED = "cancelled", _("Cancelled")


INVESTMENT_MACHINE = StateMachine(
    "investment",
    {
        "proposed": ["approved", "cancelled"],
        "approved": ["disbursed", "cancelled"],
        "disbursed": ["repaying", "repaid", "late"],
        "repaying": ["repaid", "late"],
        "late": ["repaying", "repaid", "defaulted"],
        "defaulted": ["written_off", "repaying", "repaid"],
    },
)
# Loans whose principal is out: they count in LOANS_RECEIVABLE.
LOAN_OUTSTANDING_STATUSES = frozenset(
    {
        InvestmentStatus.APPROVED,
        InvestmentStatus.DISBURSED,
        InvestmentStatus.REPAYING,
        InvestmentStatus.LATE,
        InvestmentStatus.DEFAULTED,
    }
)


class InstallmentStatus(models.TextChoices):
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    LATE = "late", _("Late")


class FundPool(models.TextChoices):
    """Pools the treasurer may move money between (the members' rules decide how much)."""

    GRANTS_POOL = "grants_pool", _("Grants pool")
    MATCHING_POOL = "matching_pool", _("Matching pool")
