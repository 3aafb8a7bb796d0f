"""The fund's payment purposes (registered in settings.PAYMENT_PURPOSE_HANDLERS).

- "savings": a member's subscription of savings shares, credited to their MEMBER_SAVINGS
  account. A handler cannot refuse money that has arrived: the limits are checked when the
  payment is created.
- "donation": a gift, credited to the grants pool or to the campaign's escrow, with a receipt.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import Account
from payments.registry import BasePurposeHandler

from .models import Donation, SavingsAccount
from .money_enums import DonationTarget, QFRoundStatus
from .money_exceptions import DonationError, FundMoneyError, LiquidityReserveError
from .selectors.liquidity import liquidity_get
from .services.books import escrow, fund_locks_take, liquidity_key, pool, savings_account
from .services.donations import donation_failed, donation_received, donation_refunded
from .services.savings import redemption_waiting_total, savings_balance


class SavingsSubscriptionHandler(BasePurposeHandler):
    entry_kind = EntryKind.SAVINGS_SUBSCRIPTION

    def credit_account(self, payment: Any) -> Account:
        if payment.payer_id is None:
            raise FundMoneyError(_("Savings belong to someone."), code="savings_without_member")
        return savings_account(payment.payer_id, payment.currency)

    def on_succeeded(self, payment: Any, entry: Any) -> None:
        SavingsAccount.objects.get_or_create(user_id=payment.payer_id, currency=payment.currency)

    def refund_check(self, payment: Any, amount: int) -> None:
        """A refund pays shares back at once: the saver must still hold them (less what they
        asked back), and the fund must keep its liquidity reserve."""
        available = savings_balance(
            user_id=payment.payer_id, currency=payment.currency
        ) - redemption_waiting_total(user_id=payment.payer_id, currency=payment.currency)
        if amount > available:
            raise FundMoneyError(
                _("These savings are no longer held; they are paid back by redemption."),
                code="savings_not_held",
                status_code=409,
            )
        with transaction.atomic():
            fund_locks_take(liquidity_key(payment.currency))
            if not liquidity_get(currency=payment.currency).can_pay_back(amount):
                raise LiquidityReserveError()


def _donation(payment: Any) -> Donation:
    if payment.reference_type != "donation" or payment.reference_id is None:
        raise DonationError(_("This payment is not a donation of the fund."), code="not_a_donation")
    return Donation.objects.select_related("qf_round").get(pk=payment.reference_id)


class DonationHandler(BasePurposeHandler):
    entry_kind = EntryKind.DONATION

    def credit_account(self, payment: Any) -> Account:
        donation = _donation(payment)
        if donation.target == DonationTarget.CAMPAIGN and donation.campaign_id is not None:
            return escrow(donation.campaign_id, payment.currency)
        return pool(AccountPurpose.GRANTS_POOL, payment.currency)

    def on_succeeded(self, payment: Any, entry: Any) -> None:
        donation_received(donation_id=payment.reference_id)

    def on_failed(self, payment: Any) -> None:
        donation_failed(donation_id=payment.reference_id)

    def refund_check(self, payment: Any, amount: int) -> None:
        donation = _donation(payment)
        if amount != payment.amount - payment.amount_refunded:
            raise DonationError(
                _("A donation is refunded whole or not at all (its receipt is voided)."),
                code="donation_refund_whole_only",
                status_code=409,
            )
        if donation.qf_round is not None and donation.qf_round.status == QFRoundStatus.CLOSED:
            raise DonationError(
                _("The quadratic-funding round has paid its matches on this contribution."),
                code="qf_round_closed",
                status_code=409,
            )
        account = self.credit_account(payment)
        account.refresh_from_db(fields=["balance"])
        if account.balance < amount:
            raise DonationError(
                _("This gift has already been spent."), code="donation_spent", status_code=409
            )

    def on_refunded(self, payment: Any, refund: Any, entry: Any) -> None:
        donation_refunded(donation_id=payment.reference_id)
