"""The daily reconciliation: our payments, refunds, payouts and the ledger's cash at Stripe,
compared with what the provider holds. It reports differences and changes no books."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from ledger.enums import AccountPurpose, OwnerType
from ledger.models import Account

from ..enums import SETTLED_STATUSES, DisbursementStatus, PaymentStatus, PayoutMethod, RefundStatus
from ..models import Disbursement, Payment, ReconciliationReport, Refund
from ..providers import provider_for, provider_name
from .cash import stripe_payouts_booked
from .disbursements import METADATA_DISBURSEMENT_ID
from .payments import METADATA_PAYMENT_ID, status_for_intent

logger = logging.getLogger(__name__)

# progress(stage, advance, total): `total` is given once per stage, then advances are reported.
Progress = Callable[[str, int, int | None], None]

# The provider's list starts a day before our window, so a payment created just before midnight
# at our end is still found.
LIST_MARGIN = timedelta(days=1)


def _noop(stage: str, advance: int, total: int | None) -> None:
    return None


def _difference(kind: str, **details: Any) -> dict[str, Any]:
    return {"kind": kind, **details}


def payments_reconcile(
    *, days: int | None = None, everything: bool = False, progress: Progress | None = None
) -> ReconciliationReport:
    """Compare the last `days` (default: PAYMENTS_RECONCILE_DAYS) or everything."""
    progress = progress or _noop
    provider_key = provider_name()
    provider = provider_for(provider_key)
    since: datetime | None = None
    if not everything:
        since = timezone.now() - timedelta(days=days or settings.PAYMENTS_RECONCILE_DAYS)
    report = ReconciliationReport.objects.create(provider=provider_key, period_start=since)
    listed_since = int((since - LIST_MARGIN).timestamp()) if since else None
    differences: list[dict[str, Any]] = []
    try:
        payments_checked = _payments(
            provider, provider_key, since, listed_since, differences, progress
        )
        refunds_checked = _refunds(
            provider, provider_key, since, listed_since, differences, progress
        )
        transfers_checked = _transfers(
            provider, provider_key, since, listed_since, differences, progress
        )
        ledger_cash, provider_cash = _cash(provider, differences, progress)
    except Exception as error:
        logger.exception("reconciliation failed")
        ReconciliationReport.objects.filter(pk=report.pk).update(
            finished_at=timezone.now(),
            differences=differences,
            is_clean=False,
            error=f"{type(error).__name__}: {error}"[:4000],
        )
        report.refresh_from_db()
        return report
    ReconciliationReport.objects.filter(pk=report.pk).update(
        finished_at=timezone.now(),
        payments_checked=payments_checked,
        refunds_checked=refunds_checked,
        transfers_checked=transfers_checked,
        ledger_cash=ledger_cash,
        provider_cash=provider_cash,
        differences=differences,
        is_clean=not differences,
    )
    report.refresh_from_db()
    if differences:
        logger.error("reconciliation: %d difference(s): %s", len(differences), differences[:20])
    return report


def _payments(
    provider: Any,
    provider_key: str,
    since: datetime | None,
    listed_since: int | None,
    differences: list[dict[str, Any]],
    progress: Progress,
) -> int:
    ours = Payment.objects.filter(provider=provider_key).exclude(provider_payment_intent_id=None)
    if since is not None:
        ours = ours.filter(created_at__gte=since)
    total = ours.count()
    progress("payments", 0, total)
    intents = {
        intent.id: intent for intent in provider.payment_intents_list(created_gte=listed_since)
    }
    known = set()
    for payment in ours.order_by("pk").iterator(chunk_size=500):
        known.add(payment.provider_payment_intent_id)
        intent = intents.get(str(payment.provider_payment_intent_id))
        ref = {"payment": payment.pk, "intent": payment.provider_payment_intent_id}
        if intent is None:
            differences.append(_difference("payment_missing_at_provider", **ref))
        else:
            settled_here = payment.status in SETTLED_STATUSES
            settled_there = status_for_intent(intent) == PaymentStatus.SUCCEEDED
            if settled_here != settled_there:
                differences.append(
                    _difference(
                        "payment_status", ours=payment.status, provider=intent.status, **ref
                    )
                )
            if intent.amount != payment.amount or intent.currency != payment.currency:
                differences.append(
                    _difference(
                        "payment_amount",
                        ours=[payment.amount, payment.currency],
                        provider=[intent.amount, intent.currency],
                        **ref,
                    )
                )
            if (
                settled_here
                and intent.fee_amount is not None
                and payment.fee_amount != intent.fee_amount
            ):
                differences.append(
                    _difference(
                        "payment_fee", ours=payment.fee_amount, provider=intent.fee_amount, **ref
                    )
                )
        progress("payments", 1, None)
    for intent in intents.values():
        if intent.id in known or intent.status != "succeeded":
            continue
        claimed = intent.metadata.get(METADATA_PAYMENT_ID, "")
        if since is not None and not claimed:
            continue  # a charge made outside the platform, outside the window's scope
        differences.append(
            _difference(
                "payment_unknown_here",
                intent=intent.id,
                amount=intent.amount,
                currency=intent.currency,
                claims_payment=claimed or None,
            )
        )
    return total


def _refunds(
    provider: Any,
    provider_key: str,
    since: datetime | None,
    listed_since: int | None,
    differences: list[dict[str, Any]],
    progress: Progress,
) -> int:
    ours = Refund.objects.filter(payment__provider=provider_key).exclude(status=RefundStatus.FAILED)
    if since is not None:
        ours = ours.filter(created_at__gte=since)
    total = ours.count()
    progress("refunds", 0, total)
    theirs = {refund.id: refund for refund in provider.refunds_list(created_gte=listed_since)}
    known = set()
    for refund in ours.order_by("pk").iterator(chunk_size=500):
        ref = {"refund": refund.pk, "provider_refund": refund.provider_refund_id}
        if refund.provider_refund_id:
            known.add(refund.provider_refund_id)
        result = theirs.get(str(refund.provider_refund_id))
        if result is None:
            differences.append(
                _difference("refund_missing_at_provider", status=refund.status, **ref)
            )
        elif (result.status == "succeeded") != (refund.status == RefundStatus.SUCCEEDED):
            differences.append(
                _difference("refund_status", ours=refund.status, provider=result.status, **ref)
            )
        elif result.amount != refund.amount:
            differences.append(
                _difference("refund_amount", ours=refund.amount, provider=result.amount, **ref)
            )
        progress("refunds", 1, None)
    our_intents = set(
        Payment.objects.filter(provider=provider_key)
        .exclude(provider_payment_intent_id=None)
        .values_list("provider_payment_intent_id", flat=True)
    )
    for result in theirs.values():
        if (
            result.id not in known
            and result.status == "succeeded"
            and result.payment_intent_id in our_intents
        ):
            differences.append(
                _difference("refund_unknown_here", provider_refund=result.id, amount=result.amount)
            )
    return total


def _transfers(
    provider: Any,
    provider_key: str,
    since: datetime | None,
    listed_since: int | None,
    differences: list[dict[str, Any]],
    progress: Progress,
) -> int:
    ours = Disbursement.objects.filter(
        provider=provider_key, method=PayoutMethod.STRIPE_CONNECT
    ).exclude(provider_transfer_id=None)
    if since is not None:
        ours = ours.filter(created_at__gte=since)
    total = ours.count()
    progress("transfers", 0, total)
    theirs = {
        transfer.id: transfer for transfer in provider.transfers_list(created_gte=listed_since)
    }
    for disbursement in ours.order_by("pk").iterator(chunk_size=500):
        ref = {"disbursement": disbursement.pk, "transfer": disbursement.provider_transfer_id}
        transfer = theirs.get(str(disbursement.provider_transfer_id))
        if transfer is None:
            differences.append(_difference("transfer_missing_at_provider", **ref))
        elif transfer.amount != disbursement.amount:
            differences.append(
                _difference(
                    "transfer_amount", ours=disbursement.amount, provider=transfer.amount, **ref
                )
            )
        elif transfer.amount_reversed:
            differences.append(
                _difference("transfer_reversed", amount_reversed=transfer.amount_reversed, **ref)
            )
        progress("transfers", 1, None)
    statuses = dict(Disbursement.objects.filter(provider=provider_key).values_list("pk", "status"))
    paid_transfers = set(
        Disbursement.objects.filter(provider=provider_key)
        .exclude(provider_transfer_id=None)
        .values_list("provider_transfer_id", flat=True)
    )
    for transfer in theirs.values():
        ours_id = transfer.metadata.get(METADATA_DISBURSEMENT_ID, "")
        if not ours_id.isdigit() or transfer.id in paid_transfers:
            continue
        status = statuses.get(int(ours_id))
        # A submitted payout may be between its transfer and its `paid` commit.
        if status != DisbursementStatus.SUBMITTED:
            differences.append(
                _difference(
                    "transfer_unknown_here",
                    transfer=transfer.id,
                    disbursement=int(ours_id),
                    status=status,
                    amount=transfer.amount,
                )
            )
    return total


def _cash(
    provider: Any, differences: list[dict[str, Any]], progress: Progress
) -> tuple[dict[str, int], dict[str, int]]:
    progress("cash", 0, 1)
    # The provider's figure leaves its payouts to the bank out; the books' cash at Stripe has
    # them taken off, so they are added back here.
    ledger_cash = {
        account.currency: int(account.balance) + stripe_payouts_booked(currency=account.currency)
        for account in Account.objects.filter(
            purpose=AccountPurpose.STRIPE_CASH, owner_type=OwnerType.PLATFORM
        )
    }
    provider_cash = provider.balance_net()
    for currency in sorted(set(ledger_cash) | set(provider_cash)):
        ours = ledger_cash.get(currency, 0)
        theirs = provider_cash.get(currency, 0)
        if ours != theirs:
            differences.append(
                _difference(
                    "cash",
                    currency=currency,
                    ledger=ours,
                    provider=theirs,
                    difference=ours - theirs,
                )
            )
    progress("cash", 1, None)
    return ledger_cash, provider_cash
