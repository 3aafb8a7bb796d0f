"""The platform's own cash moving between its Stripe balance and its bank account.

Money comes in at Stripe (STRIPE_CASH); manual payouts leave from the bank (BANK_CASH). Stripe
pays the balance out to the platform's bank, and the treasurer can top the Stripe balance up
from the bank. Each move is one TRANSFER entry between the two cash accounts:

- `to_bank`: debit BANK_CASH, credit STRIPE_CASH (a Stripe payout, recorded from its
  `payout.paid` webhook or by the treasurer);
- `to_stripe`: debit STRIPE_CASH, credit BANK_CASH (a top-up).

The reference (Stripe's payout id `po_…`, or the bank's reference of a top-up) is the idempotency
key: recording it again, by hand or from the webhook, returns the first entry, and the same
reference with another amount is refused. A Stripe payout that fails (`payout.failed`) is booked
and reversed, whichever of its events comes first.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum

from common.errors import PermissionDeniedError
from common.money import CURRENCY_EXPONENTS
from ledger.enums import AccountPurpose, EntryKind, OwnerType, Side
from ledger.models import JournalEntry, Posting
from ledger.services import credit, debit, ledger_entry_post, ledger_entry_reverse, platform_account
from members.enums import Role
from members.selectors import user_has_role

from ..exceptions import PaymentsError

TO_BANK, TO_STRIPE = "to_bank", "to_stripe"
DIRECTIONS = (TO_BANK, TO_STRIPE)
KEY_PREFIX, FAILED_KEY_PREFIX = "cash-transfer:", "cash-transfer-failed:"


def _key(reference: str) -> str:
    return f"{KEY_PREFIX}{reference}"


def cash_transfer_get(*, reference: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(idempotency_key=_key(reference.strip()[:120])).first()


def stripe_payouts_booked(*, currency: str) -> int:
    """What the books moved from Stripe to the bank, failed payouts netted out: the provider's
    balance, payouts excepted, is the ledger's cash at Stripe plus this."""
    totals = Posting.objects.filter(
        account__purpose=AccountPurpose.STRIPE_CASH,
        account__owner_type=OwnerType.PLATFORM,
        account__currency=currency,
    ).aggregate(
        out=Sum(
            "amount", filter=Q(side=Side.CREDIT, entry__idempotency_key__startswith=KEY_PREFIX)
        ),
        back=Sum(
            "amount",
            filter=Q(side=Side.DEBIT, entry__idempotency_key__startswith=FAILED_KEY_PREFIX),
        ),
    )
    return int(totals["out"] or 0) - int(totals["back"] or 0)


def cash_transfer_record(
    *, direction: str, amount: int, currency: str, reference: str, actor: Any = None
) -> JournalEntry:
    """Book one move of the platform's cash. `actor` is None only for the provider's webhook."""
    if actor is not None and not user_has_role(user=actor, role=Role.TREASURER):
        raise PermissionDeniedError("Only the treasurer can do this.")
    reference = reference.strip()
    if direction not in DIRECTIONS:
        raise PaymentsError("Unknown direction.", code="invalid_direction", status_code=400)
    if not reference:
        raise PaymentsError(
            "Give the reference of the transfer.",
            code="invalid_reference",
            status_code=400,
            fields={"reference": ["Required."]},
        )
    if currency not in CURRENCY_EXPONENTS:
        raise PaymentsError("Unsupported currency.", code="invalid_currency", status_code=400)
    if type(amount) is not int or not 0 < amount <= settings.MAX_PAYMENT_AMOUNT:
        raise PaymentsError("Invalid amount.", code="invalid_amount", status_code=400)
    stripe_cash = platform_account(AccountPurpose.STRIPE_CASH, currency)
    bank_cash = platform_account(AccountPurpose.BANK_CASH, currency)
    into, out_of = (bank_cash, stripe_cash) if direction == TO_BANK else (stripe_cash, bank_cash)
    with transaction.atomic():
        return ledger_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(into, amount), credit(out_of, amount)],
            idempotency_key=_key(reference[:120]),
            memo=(
                f"Stripe balance paid out to the bank ({reference[:120]})"
                if direction == TO_BANK
                else f"Stripe balance topped up from the bank ({reference[:120]})"
            ),
            actor=actor,
        )


def stripe_payout_apply(*, event_type: str, payout: dict[str, Any]) -> str:
    """`payout.paid` books the platform's payout to its bank; `payout.failed` reverses it."""
    payout_id = str(payout.get("id") or "")
    amount = payout.get("amount")
    currency = str(payout.get("currency") or "").upper()
    if not payout_id or type(amount) is not int or amount <= 0:
        return "ignored: malformed payout"
    if currency not in CURRENCY_EXPONENTS:
        return f"ignored: payout in {currency or 'no currency'}"
    reference = payout_id  # the same key as the treasurer's record of this payout
    if event_type == "payout.paid":
        entry = cash_transfer_record(
            direction=TO_BANK, amount=amount, currency=currency, reference=reference
        )
        return f"payout {payout_id} booked as entry {entry.pk}"
    if event_type == "payout.failed":
        # Booked then reversed, so that the books end the same whichever event arrives first;
        # a payout that failed before it was ever paid nets to zero.
        with transaction.atomic():
            paid = cash_transfer_record(
                direction=TO_BANK, amount=amount, currency=currency, reference=reference
            )
            reversal = ledger_entry_reverse(
                entry=paid,
                idempotency_key=f"{FAILED_KEY_PREFIX}{reference}",
                memo=f"Stripe payout {payout_id} failed",
            )
        return f"payout {payout_id} failed: entry {paid.pk} reversed by {reversal.pk}"
    return "ignored"
