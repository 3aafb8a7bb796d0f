"""Where the fund's payouts go, and opening them as disbursements.

The fund posts its own entry first (money leaves a pool for PAYOUTS_PAYABLE, under the fund's
lock); the disbursement then takes it from PAYOUTS_PAYABLE to the payee, once the treasurer
approves. A failed payout leaves the money in PAYOUTS_PAYABLE, promised to the same payee, and
a new attempt is opened.
"""

from typing import Any

from django.db.models import Q

from payments.enums import DisbursementStatus, PayeeOwnerType, PayoutMethod
from payments.exceptions import PayeeNotReadyError
from payments.models import Disbursement, PayeeAccount
from payments.services import disbursement_open

from .books import payouts_payable

# A payout that will not be paid: a new attempt may be opened.
PAYOUT_DEAD = frozenset({DisbursementStatus.FAILED, DisbursementStatus.REJECTED})


def payout_account_for(*, owner_type: str, owner_id: int) -> PayeeAccount | None:
    """The payee's Connect account if it can receive payouts, else their bank account."""
    accounts = {
        payee.method: payee
        for payee in PayeeAccount.objects.filter(
            Q(owner_type=owner_type, owner_id=owner_id), payouts_enabled=True
        )
    }
    return accounts.get(PayoutMethod.STRIPE_CONNECT) or accounts.get(PayoutMethod.MANUAL_BANK)


def person_payout_account(user: Any) -> PayeeAccount:
    payee = payout_account_for(owner_type=PayeeOwnerType.PERSON, owner_id=user.pk)
    if payee is None:
        raise PayeeNotReadyError(
            "Set up a payout account (Stripe or a bank account) so your savings can be paid back."
        )
    return payee


def payout_open(
    *,
    payee: PayeeAccount,
    amount: int,
    currency: str,
    purpose: str,
    requested_by: Any,
    reference: tuple[str, int],
    attempt: int,
    memo: str,
) -> Disbursement:
    """A disbursement from PAYOUTS_PAYABLE, inside the caller's transaction."""
    kind, pk = reference
    return disbursement_open(
        payee=payee,
        amount=amount,
        currency=currency,
        source_account=payouts_payable(currency),
        purpose=purpose,
        requested_by=requested_by,
        idempotency_key=f"{kind}:{pk}:payout:{attempt}",
        reference=reference,
        memo=memo,
    )


def payout_status(disbursement_id: int | None) -> str | None:
    if disbursement_id is None:
        return None
    return Disbursement.objects.filter(pk=disbursement_id).values_list("status", flat=True).first()
