"""Cooperative shares paid through `payments`: buying them, and paying them back.

Buying: a `share` payment for shares × MEMBERSHIP_SHARE_PRICE. When it settles, the money is
credited to the member's MEMBER_SHARES account and the shares are added to the membership (one
member, one vote, whatever they hold).

Paying back: a cooperative share is capital, not a deposit, and is paid back at its nominal
value when the member leaves, after the treasurer has checked the cooperative can afford it
(statutes may defer it until the accounts of the year are approved). So ending a membership
does not refund the card: the vote ends at once, and a disbursement for what the member's
shares account holds is requested, for the treasurer to approve (four eyes) and send to the
member's payout account, debiting the member's shares account.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import Account, JournalEntry
from ledger.selectors import account_balance_get
from ledger.services import member_account
from payments.enums import DisbursementPurpose, DisbursementStatus, PaymentPurpose, PayoutMethod
from payments.exceptions import PayeeNotReadyError
from payments.models import Disbursement, PayeeAccount, Payment, Refund
from payments.registry import BasePurposeHandler
from payments.services import disbursement_open, payment_create

from .enums import MembershipStatus
from .exceptions import MembershipError
from .models import Membership, User
from .services import membership_end, membership_shares_add


def _shares_of(payment: Payment) -> tuple[int, int]:
    return int(payment.metadata["shares"]), int(payment.metadata["share_price"])


class SharePurchaseHandler(BasePurposeHandler):
    entry_kind = EntryKind.SHARE_PURCHASE

    def credit_account(self, payment: Payment) -> Account:
        if payment.payer_id is None:
            raise MembershipError("A share belongs to someone.", code="share_without_member")
        return member_account(AccountPurpose.MEMBER_SHARES, payment.payer_id, payment.currency)

    def on_succeeded(self, payment: Payment, entry: JournalEntry) -> None:
        shares, price = _shares_of(payment)
        if payment.payer is None:
            raise MembershipError("A share belongs to someone.", code="share_without_member")
        membership_shares_add(user=payment.payer, shares=shares, share_price=price)

    def refund_check(self, payment: Payment, amount: int) -> None:
        _shares, price = _shares_of(payment)
        if amount % price:
            raise MembershipError(
                f"A share purchase is refunded by whole shares of {price}.",
                code="refund_not_whole_shares",
                status_code=409,
            )
        membership = Membership.objects.filter(
            user=payment.payer, status=MembershipStatus.ACTIVE
        ).first()
        if membership is None or membership.shares < amount // price:
            raise MembershipError(
                "These shares are no longer held; the membership pays them back instead.",
                code="shares_not_held",
                status_code=409,
            )

    def on_refunded(self, payment: Payment, refund: Refund, entry: JournalEntry) -> None:
        # A refunded purchase (a mistake, a withdrawal) takes its shares back.
        _shares, price = _shares_of(payment)
        membership = (
            Membership.objects.select_for_update()
            .filter(user=payment.payer, status=MembershipStatus.ACTIVE)
            .first()
        )
        if membership is None:
            return
        remaining = max(0, membership.shares - refund.amount // price)
        Membership.objects.filter(pk=membership.pk).update(shares=remaining)
        membership.refresh_from_db()
        if remaining == 0:
            membership_end(membership=membership)


def membership_shares_purchase(
    *, user: User, shares: int, idempotency_key: str | None = None
) -> Payment:
    """Start buying `shares` cooperative shares; the payment settles them. Outside transactions."""
    maximum = int(settings.MEMBERSHIP_MAX_SHARES_PER_PURCHASE)
    if type(shares) is not int or not 1 <= shares <= maximum:
        raise MembershipError(
            f"Buy between 1 and {maximum} shares at a time.",
            code="invalid_shares",
            fields={"shares": [f"Between 1 and {maximum}."]},
        )
    price = int(settings.MEMBERSHIP_SHARE_PRICE)
    key = idempotency_key or uuid.uuid4().hex
    return payment_create(
        purpose=PaymentPurpose.SHARE,
        payer=user,
        amount=shares * price,
        currency=settings.PLATFORM_CURRENCY,
        reference=("member", user.pk),
        idempotency_key=f"share:{user.pk}:{key}",
        description=f"{shares} cooperative share(s)",
        metadata={"shares": shares, "share_price": price},
    )


def _payout_account(user: User) -> PayeeAccount:
    """Where a member's shares are paid back: their Connect account if ready, else their bank."""
    accounts = {
        payee.method: payee
        for payee in PayeeAccount.objects.filter(owner_type="person", owner_id=user.pk)
    }
    connect = accounts.get(PayoutMethod.STRIPE_CONNECT)
    if connect is not None and connect.payouts_enabled:
        return connect
    bank = accounts.get(PayoutMethod.MANUAL_BANK)
    if bank is not None and bank.payouts_enabled:
        return bank
    raise PayeeNotReadyError(
        "Set up a payout account (Stripe or a bank account) so your shares can be paid back."
    )


def membership_end_with_payback(
    *, user: User, currency: str | None = None
) -> tuple[Membership, Disbursement | None]:
    """End the membership now and request the payback of the shares' capital."""
    currency = currency or settings.PLATFORM_CURRENCY
    shares_account = member_account(AccountPurpose.MEMBER_SHARES, user.pk, currency)
    payee: PayeeAccount | None = None
    if account_balance_get(account=shares_account) > 0:  # checked again under the lock
        payee = _payout_account(user)
    with transaction.atomic(durable=True):
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, status=MembershipStatus.ACTIVE)
            .first()
        )
        if membership is None:
            raise MembershipError(
                "You do not hold a cooperative share.", code="not_a_member", status_code=404
            )
        membership = membership_end(membership=membership)
        balance = Account.objects.select_for_update().get(pk=shares_account.pk).balance
        # What earlier paybacks, not yet sent, will take from the account already.
        promised = (
            Disbursement.objects.filter(
                source_account=shares_account,
                status__in=[DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED],
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        capital = balance - promised
        disbursement = None
        if capital > 0 and payee is not None:
            disbursement = disbursement_open(
                payee=payee,
                amount=int(capital),
                currency=currency,
                source_account=shares_account,
                purpose=DisbursementPurpose.SHARE_REDEMPTION,
                requested_by=user,
                idempotency_key=f"membership:{membership.pk}:payback",
                reference=("membership", membership.pk),
                memo=f"Shares of membership #{membership.pk} paid back",
            )
    user.__dict__.pop("_roles_cache", None)
    return membership, disbursement
