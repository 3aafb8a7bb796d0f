"""Errors of the fund's money, each with a stable code a client can switch on."""

from django.utils.translation import gettext_noop as _

from .exceptions import FundError


class FundMoneyError(FundError):
    code = "fund_money_error"


class NotAMemberError(FundMoneyError):
    code = "not_a_member"
    status_code = 403
    default_message = _("Only members of the cooperative hold savings shares.")


class SubscriptionLimitError(FundMoneyError):
    code = "subscription_limit"
    default_message = _("This subscription is outside the limits set by the statutes.")


class RedemptionTooLargeError(FundMoneyError):
    code = "redemption_exceeds_savings"
    status_code = 409
    default_message = _("You cannot redeem more than your savings (less what you already asked).")


class LiquidityReserveError(FundMoneyError):
    """An investment would take the fund's cash below its liquidity reserve."""

    code = "liquidity_reserve"
    status_code = 409
    default_message = _("This would break the liquidity reserve of the savings pool.")


class GrantsPoolError(FundMoneyError):
    code = "grants_pool_insufficient"
    status_code = 409
    default_message = _("The grants pool does not hold enough for this.")


class MatchingPoolError(FundMoneyError):
    code = "matching_pool_insufficient"
    status_code = 409
    default_message = _("The matching pool does not hold enough for this.")


class ImpartibleReserveError(FundMoneyError):
    """The impartible reserve is never distributed: it only absorbs losses."""

    code = "impartible_reserve"
    status_code = 409
    default_message = _("The impartible reserve is never distributed; it only absorbs losses.")


class RemunerationCapError(FundMoneyError):
    code = "remuneration_cap"
    default_message = _("The remuneration rate is above the cap set by the statutes.")


class YearNotOverError(FundMoneyError):
    code = "year_not_over"
    status_code = 409
    default_message = _("A year is closed once it is over.")


class DonationError(FundMoneyError):
    code = "donation_error"


class MatchingRuleError(FundMoneyError):
    code = "matching_rule_error"


class PollNotAdoptedError(MatchingRuleError):
    code = "poll_not_adopted"
    status_code = 409
    default_message = _("The members have not adopted this rule: its poll did not pass.")


class InvestmentError(FundMoneyError):
    code = "investment_error"


class FourEyesError(FundMoneyError):
    code = "four_eyes"
    status_code = 403
    default_message = _("Someone other than the proposer must approve this.")


class PayoutInProgressError(FundMoneyError):
    code = "payout_in_progress"
    status_code = 409
    default_message = _("A payout is being sent; wait for its outcome.")


class OverpaymentError(InvestmentError):
    code = "overpayment"
    default_message = _("This is more than the loan still owes.")
