"""The "pledge" purpose: payments calls this when a pledge's payment settles, fails or is
refunded (registered in settings.PAYMENT_PURPOSE_HANDLERS)."""

from typing import Any

from ledger.exceptions import InsufficientFundsError
from ledger.models import Account
from ledger.services import campaign_escrow_account
from payments.registry import BasePurposeHandler

from .models import Pledge
from .services.pledges import (
    pledge_payment_failed,
    pledge_payment_refunded,
    pledge_payment_succeeded,
)


class PledgePaymentHandler(BasePurposeHandler):
    def credit_account(self, payment: Any) -> Account:
        """A pledge's money goes to its campaign's escrow."""
        campaign_id = Pledge.objects.values_list("campaign_id", flat=True).get(
            pk=payment.reference_id
        )
        return campaign_escrow_account(campaign_id, payment.currency)

    def on_succeeded(self, payment: Any, entry: Any) -> None:
        pledge_payment_succeeded(payment=payment, entry=entry)

    def on_failed(self, payment: Any) -> None:
        pledge_payment_failed(payment=payment)

    def on_refunded(self, payment: Any, refund: Any, entry: Any) -> None:
        pledge_payment_refunded(payment=payment, refund=refund, entry=entry)

    def refund_check(self, payment: Any, amount: int) -> None:
        """A refund comes out of the escrow: refuse it before the provider is asked if the
        tranches already paid out leave too little there."""
        account = self.credit_account(payment)
        account.refresh_from_db(fields=["balance"])
        if account.balance < amount:
            raise InsufficientFundsError(
                "The campaign's escrow no longer holds this amount: it was paid out to the project.",
                extra={"account": account.code},
            )
