"""Purpose handlers used by the payments tests, standing in for the apps that own pledges and
donations: a donation goes to the fund's grants pool, a pledge to its campaign's escrow."""

from ledger.enums import AccountPurpose
from ledger.services import campaign_escrow_account, fund_account
from payments.registry import BasePurposeHandler

CALLS: list[tuple[str, int]] = []


class DonationToGrantsPool(BasePurposeHandler):
    def credit_account(self, payment):
        return fund_account(AccountPurpose.GRANTS_POOL, payment.currency)

    def on_succeeded(self, payment, entry):
        CALLS.append(("succeeded", payment.pk))

    def on_failed(self, payment):
        CALLS.append(("failed", payment.pk))

    def on_refunded(self, payment, refund, entry):
        CALLS.append(("refunded", refund.pk))


class PledgeToCampaignEscrow(BasePurposeHandler):
    def credit_account(self, payment):
        return campaign_escrow_account(payment.reference_id, payment.currency)

    def on_succeeded(self, payment, entry):
        CALLS.append(("succeeded", payment.pk))
