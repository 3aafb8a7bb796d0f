"""Solidarity savings as cooperative shares: subscribing, the interest share, and redemptions.

A redemption is requested (an amount up to the member's savings, less what they already asked
back), waits for its notice period, then joins the queue. The queue is paid strictly first come,
first served, under the fund's liquidity lock: the head is paid only if paying it keeps the
liquidity reserve and the capital floor; if not, it and everything behind it waits, so a later
small request never jumps an earlier big one.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import PermissionDeniedError
from common.queue import enqueue_on_commit
from ledger.enums import EntryKind
from ledger.exceptions import InsufficientFundsError
from ledger.selectors import account_balance_get
from ledger.services import credit, debit
from members.enums import Role
from members.selectors import user_has_role
from payments.enums import DisbursementPurpose, PayeeOwnerType, PaymentPurpose, PaymentStatus
from payments.models import Payment
from payments.services import payment_create

from ..models import Redemption, RedemptionEvent, SavingsAccount
from ..money_enums import REDEMPTION_MACHINE, REDEMPTION_WAITING, InterestShare, RedemptionStatus
from ..money_exceptions import (
    FundMoneyError,
    NotAMemberError,
    RedemptionTooLargeError,
    SubscriptionLimitError,
)
from ..selectors.liquidity import liquidity_get
from .books import (
    fund_entry_post,
    fund_locks_take,
    liquidity_key,
    payouts_payable,
    savings_account,
)
from .payouts import (
    PAYOUT_DEAD,
    payout_account_for,
    payout_open,
    payout_status,
    person_payout_account,
)

OPEN_PAYMENT_STATUSES = (
    PaymentStatus.CREATED,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
)


def _currency(currency: str | None) -> str:
    return currency or settings.PLATFORM_CURRENCY


def savings_account_get_or_create(*, user: Any, currency: str) -> SavingsAccount:
    account, _created = SavingsAccount.objects.get_or_create(user=user, currency=currency)
    return account


def savings_balance(*, user_id: int, currency: str) -> int:
    return account_balance_get(account=savings_account(user_id, currency))


def savings_subscription_check(*, user: Any, amount: int, currency: str) -> None:
    """Members only; at least the minimum; within the maximum per member if there is one."""
    if not user_has_role(user=user, role=Role.MEMBER):
        raise NotAMemberError()
    minimum = int(settings.FUND_SAVINGS_MIN_SUBSCRIPTION)
    if type(amount) is not int or amount < minimum or amount > settings.MAX_PAYMENT_AMOUNT:
        raise SubscriptionLimitError(
            _("Subscribe at least the minimum."),
            fields={"amount": [_("At least %(minimum)s minor units.") % {"minimum": minimum}]},
            extra={"minimum": minimum},
        )
    maximum = int(settings.FUND_SAVINGS_MAX_PER_MEMBER)
    if maximum:
        pending = (
            Payment.objects.filter(
                purpose=PaymentPurpose.SAVINGS,
                payer=user,
                currency=currency,
                status__in=OPEN_PAYMENT_STATUSES,
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        room = maximum - savings_balance(user_id=user.pk, currency=currency) - int(pending)
        if amount > room:
            raise SubscriptionLimitError(
                _("This would take your savings above the maximum per member."),
                fields={"amount": [_("At most %(room)s minor units.") % {"room": max(room, 0)}]},
                extra={"maximum": maximum, "room": max(room, 0)},
            )


def savings_subscribe(
    *, user: Any, amount: int, currency: str | None = None, idempotency_key: str | None = None
) -> Payment:
    """Start a subscription of savings shares; the payment settles it. Outside transactions."""
    currency = _currency(currency)
    key = f"savings:{user.pk}:{idempotency_key or uuid.uuid4().hex}"
    if not Payment.objects.filter(idempotency_key=key).exists():  # a retry resumes as it was
        savings_subscription_check(user=user, amount=amount, currency=currency)
    account = savings_account_get_or_create(user=user, currency=currency)
    return payment_create(
        purpose=PaymentPurpose.SAVINGS,
        payer=user,
        amount=amount,
        currency=currency,
        reference=("savings_account", account.pk),
        idempotency_key=key,
        description="Solidarity savings (cooperative shares)",
    )


def savings_interest_share_set(
    *, user: Any, interest_share: int, currency: str | None = None
) -> SavingsAccount:
    """The part of the yearly remuneration the saver gives to the grants pool."""
    currency = _currency(currency)
    if interest_share not in InterestShare.values:
        raise FundMoneyError(
            _("Choose 0, 25, 50, 75 or 100%."),
            code="invalid_interest_share",
            fields={"interest_share": [_("Choose 0, 25, 50, 75 or 100%.")]},
        )
    has_account = SavingsAccount.objects.filter(user=user, currency=currency).exists()
    if not has_account and not user_has_role(user=user, role=Role.MEMBER):
        raise NotAMemberError()
    account = savings_account_get_or_create(user=user, currency=currency)
    SavingsAccount.objects.filter(pk=account.pk).update(
        interest_share=interest_share, updated_at=timezone.now()
    )
    account.refresh_from_db()
    return account


# --- redemptions --------------------------------------------------------------------------------


def _event(
    redemption: Redemption, source: str, target: str, note: str = "", actor: Any = None
) -> None:
    RedemptionEvent.objects.create(
        redemption=redemption, from_status=source, to_status=target, note=note[:300], actor=actor
    )


def _move(
    redemption: Redemption, target: str, *, note: str = "", actor: Any = None, **changes: Any
) -> Redemption:
    source = redemption.status
    REDEMPTION_MACHINE.compare_and_set(
        Redemption.objects.all(), pk=redemption.pk, source=source, target=target, **changes
    )
    _event(redemption, source, target, note, actor)
    redemption.refresh_from_db()
    return redemption


def redemption_waiting_total(*, user_id: int, currency: str) -> int:
    return int(
        Redemption.objects.filter(
            user_id=user_id, currency=currency, status__in=REDEMPTION_WAITING
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )


def redemption_request(
    *, user: Any, amount: int, currency: str | None = None, now: datetime | None = None
) -> Redemption:
    """Ask for savings shares to be paid back. The notice period starts now."""
    currency = _currency(currency)
    if type(amount) is not int or amount <= 0:
        raise FundMoneyError(
            _("An amount is a positive number of minor units."),
            code="invalid_amount",
            fields={"amount": [_("A positive whole number of cents.")]},
        )
    person_payout_account(user)  # where the money will go, before anything is promised
    with transaction.atomic(durable=True):
        # The request time is the queue's order: stamped under the lock the queue's processing
        # holds, so a request is never placed ahead of one a run has already paid.
        fund_locks_take(liquidity_key(currency))
        now = now or timezone.now()
        account = (
            SavingsAccount.objects.select_for_update().filter(user=user, currency=currency).first()
        )
        available = 0
        if account is not None:
            balance = savings_balance(user_id=user.pk, currency=currency)
            available = balance - redemption_waiting_total(user_id=user.pk, currency=currency)
        if amount > available:
            raise RedemptionTooLargeError(
                fields={"amount": [_("At most %(available)s.") % {"available": max(available, 0)}]},
                extra={"available": max(available, 0)},
            )
        notice = timedelta(days=int(settings.FUND_REDEMPTION_NOTICE_DAYS))
        redemption = Redemption.objects.create(
            user=user,
            currency=currency,
            amount=amount,
            requested_at=now,
            notice_ends_at=now + notice,
        )
        _event(redemption, "", RedemptionStatus.REQUESTED, actor=user)
        if not notice:
            from ..money_tasks import redemptions_process_task

            enqueue_on_commit(redemptions_process_task, currency)
    return redemption


def redemption_cancel(*, redemption: Redemption, actor: Any) -> Redemption:
    """The member withdraws a request that has not been paid yet."""
    if actor.pk != redemption.user_id:
        raise PermissionDeniedError(_("Only the saver can withdraw their request."))
    with transaction.atomic(durable=True):
        current = Redemption.objects.select_for_update().get(pk=redemption.pk)
        return _move(current, RedemptionStatus.CANCELLED, actor=actor, cancelled_at=timezone.now())


def _payout_try(redemption: Redemption, actor: Any = None) -> Redemption:
    """Open the payout to the member's payout account, if they have one (inside a transaction)."""
    payee = payout_account_for(owner_type=PayeeOwnerType.PERSON, owner_id=redemption.user_id)
    if payee is None:
        _event(redemption, redemption.status, redemption.status, "waiting for a payout account")
        return redemption
    attempt = redemption.payout_attempts + 1
    disbursement = payout_open(
        payee=payee,
        amount=redemption.amount,
        currency=redemption.currency,
        purpose=DisbursementPurpose.SHARE_REDEMPTION,
        requested_by=redemption.user,
        reference=("redemption", redemption.pk),
        attempt=attempt,
        memo=f"Savings shares paid back (redemption #{redemption.pk})",
    )
    Redemption.objects.filter(pk=redemption.pk).update(
        disbursement_id=disbursement.pk, payout_attempts=attempt
    )
    _event(
        redemption,
        redemption.status,
        redemption.status,
        f"payout #{disbursement.pk} requested",
        actor,
    )
    redemption.refresh_from_db()
    return redemption


def redemptions_process(*, currency: str, now: datetime | None = None) -> list[int]:
    """Pay the queue's head while the liquidity rule allows; returns the redemptions made payable.

    The liquidity lock serialises every payout of the savings pool; the queue is read in request
    order and stops at the first redemption the fund cannot pay yet.
    """
    now = now or timezone.now()
    made_payable: list[int] = []
    with transaction.atomic(durable=True):
        fund_locks_take(liquidity_key(currency))
        due = list(
            Redemption.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(currency=currency, status__in=REDEMPTION_WAITING, notice_ends_at__lte=now)
            .order_by("requested_at", "id")
        )
        if not due:
            return made_payable
        liquidity = liquidity_get(currency=currency)
        blocked = False
        for redemption in due:
            if blocked or not liquidity.can_pay_back(redemption.amount):
                blocked = True
                if redemption.status == RedemptionStatus.REQUESTED:
                    _move(
                        redemption,
                        RedemptionStatus.QUEUED,
                        note="the liquidity reserve or the capital floor would be broken",
                        queued_at=now,
                    )
                continue
            try:
                entry = fund_entry_post(
                    kind=EntryKind.SAVINGS_REDEMPTION,
                    legs=[
                        debit(savings_account(redemption.user_id, currency), redemption.amount),
                        credit(payouts_payable(currency), redemption.amount),
                    ],
                    idempotency_key=f"redemption:{redemption.pk}:payable",
                    memo=f"Savings shares paid back (redemption #{redemption.pk})",
                    reference=("redemption", redemption.pk),
                )
            except InsufficientFundsError:
                # The savings were refunded meanwhile: nothing is left to pay back.
                _move(
                    redemption,
                    RedemptionStatus.CANCELLED,
                    note="the savings no longer cover this request",
                    cancelled_at=now,
                )
                continue
            redemption = _move(redemption, RedemptionStatus.PAYABLE, entry=entry, payable_at=now)
            _payout_try(redemption)
            liquidity = liquidity.after_payback(redemption.amount)
            made_payable.append(redemption.pk)
    return made_payable


def redemption_sync(*, redemption_id: int) -> Redemption | None:
    """Follow the payout: paid when its disbursement is paid; opened when a payee appears."""
    with transaction.atomic(durable=True):
        redemption = (
            Redemption.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=redemption_id)
            .first()
        )
        if redemption is None or redemption.status != RedemptionStatus.PAYABLE:
            return redemption
        status = payout_status(redemption.disbursement_id)
        if status == "paid":
            return _move(redemption, RedemptionStatus.PAID, paid_at=timezone.now())
        if redemption.disbursement_id is None:
            return _payout_try(redemption)
    return redemption


def redemption_payout_retry(*, redemption: Redemption, actor: Any) -> Redemption:
    """After a failed or rejected payout: a new one (the saver, once their account is fixed, or
    the treasurer)."""
    if actor.pk != redemption.user_id and not user_has_role(user=actor, role=Role.TREASURER):
        raise PermissionDeniedError(_("Only the saver or the treasurer can do this."))
    person_payout_account(redemption.user)
    with transaction.atomic(durable=True):
        current = (
            Redemption.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=redemption.pk)
        )
        if current.status != RedemptionStatus.PAYABLE or (
            current.disbursement_id is not None
            and payout_status(current.disbursement_id) not in PAYOUT_DEAD
        ):
            raise FundMoneyError(
                _("This redemption has no failed payout to try again."),
                code="no_failed_payout",
                status_code=409,
            )
        return _payout_try(current, actor)
