"""Money out: payee accounts (Stripe Connect Express, or a bank for manual transfers) and
disbursements: requested → approved (treasurer, four eyes) → submitted → paid | failed.

Submitting posts the entry (debit the source account, credit the cash that pays) and is
committed before the provider is called. The transfer carries `disbursement:<id>` as its
idempotency key, so a send that is retried or redelivered after a crash makes one transfer. A
refused transfer fails the disbursement and posts the reversal of its entry.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from common.errors import PermissionDeniedError
from common.queue import enqueue_on_commit
from ledger.enums import AccountPurpose, EntryKind
from ledger.exceptions import InsufficientFundsError
from ledger.models import Account
from ledger.selectors import account_balance_get
from ledger.services import credit, debit, ledger_entry_post, ledger_entry_reverse, platform_account
from members.enums import Role
from members.selectors import user_has_role

from ..enums import (
    DisbursementPurpose,
    DisbursementStatus,
    OnboardingStatus,
    PayeeOwnerType,
    PayoutMethod,
)
from ..exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    FourEyesError,
    PayeeNotReadyError,
    PaymentIdempotencyError,
    PaymentsError,
    ProviderInvalidRequestError,
)
from ..machines import disbursement_machine
from ..models import Disbursement, PayeeAccount
from ..providers import provider_for, provider_name
from ..providers.base import OnboardingLink, TransferResult, provider_key
from ._log import disbursement_event_add

logger = logging.getLogger(__name__)

METADATA_DISBURSEMENT_ID = "bien_commun_disbursement_id"
# Stripe keeps idempotency keys for 24 hours; past that, a retry first looks for the transfer.
IDEMPOTENCY_WINDOW = timedelta(hours=23)

ENTRY_KINDS: dict[str, str] = {
    DisbursementPurpose.MILESTONE_TRANCHE: EntryKind.DISBURSEMENT,
    DisbursementPurpose.GRANT: EntryKind.GRANT,
    DisbursementPurpose.LOAN: EntryKind.LOAN_DISBURSEMENT,
    DisbursementPurpose.SHARE_REDEMPTION: EntryKind.SHARE_REDEMPTION,
}


def transfer_group(disbursement_id: int) -> str:
    """The transfer's group at the provider, to find it again after the key has expired."""
    return provider_key("disbursement", disbursement_id)


# --- payee accounts ---------------------------------------------------------------------------


def payee_account_get_or_create(
    *,
    owner_type: str,
    owner_id: int,
    method: str,
    user: Any = None,
    email: str = "",
    country: str = "",
) -> PayeeAccount:
    if owner_type not in PayeeOwnerType.values or method not in PayoutMethod.values:
        raise PaymentsError("Unknown payee owner type or payout method.", code="invalid_payee")
    payee = PayeeAccount.objects.filter(
        owner_type=owner_type, owner_id=owner_id, method=method
    ).first()
    if payee is not None:
        return payee
    try:
        with transaction.atomic():
            return PayeeAccount.objects.create(
                owner_type=owner_type,
                owner_id=owner_id,
                method=method,
                provider=provider_name(),
                user=user,
                email=email or (user.email if user is not None else ""),
                country=country or settings.PAYMENTS_CONNECT_COUNTRY,
            )
    except IntegrityError:
        return PayeeAccount.objects.get(owner_type=owner_type, owner_id=owner_id, method=method)


def payee_account_connect_start(
    *,
    owner_type: str,
    owner_id: int,
    user: Any,
    return_url: str,
    refresh_url: str,
    email: str = "",
    country: str = "",
) -> tuple[PayeeAccount, OnboardingLink]:
    """Open the payee's Connect Express account (once) and return a fresh onboarding link."""
    payee = payee_account_get_or_create(
        owner_type=owner_type,
        owner_id=owner_id,
        method=PayoutMethod.STRIPE_CONNECT,
        user=user,
        email=email,
        country=country,
    )
    provider = provider_for(payee.provider)
    if not payee.connect_account_id:
        account = provider.connect_account_create(
            email=payee.email,
            country=payee.country,
            metadata={"bien_commun_payee_id": str(payee.pk)},
            idempotency_key=provider_key("payee", payee.pk, "account"),
        )
        PayeeAccount.objects.filter(pk=payee.pk, connect_account_id__isnull=True).update(
            connect_account_id=account.id,
            onboarding_status=OnboardingStatus.PENDING,
            payouts_enabled=account.payouts_enabled,
            updated_at=timezone.now(),
        )
        payee.refresh_from_db()
    link = provider.connect_onboarding_link_create(
        account_id=str(payee.connect_account_id),
        refresh_url=refresh_url,
        return_url=return_url,
        idempotency_key=provider_key("payee", payee.pk, "link", uuid.uuid4().hex),
    )
    return payee, link


def payee_account_sync(*, payee: PayeeAccount) -> PayeeAccount:
    """Read the Connect account back: has onboarding finished, can it receive payouts?"""
    if not payee.connect_account_id:
        return payee
    account = provider_for(payee.provider).connect_account_retrieve(payee.connect_account_id)
    status = (
        OnboardingStatus.COMPLETE
        if account.details_submitted and account.payouts_enabled
        else OnboardingStatus.PENDING
    )
    PayeeAccount.objects.filter(pk=payee.pk).update(
        payouts_enabled=account.payouts_enabled,
        onboarding_status=status,
        updated_at=timezone.now(),
    )
    payee.refresh_from_db()
    return payee


def payee_account_sync_by_connect_id(*, provider: str, connect_account_id: str) -> str:
    payee = PayeeAccount.objects.filter(
        provider=provider, connect_account_id=connect_account_id
    ).first()
    if payee is None:
        return "ignored: unknown connected account"
    payee = payee_account_sync(payee=payee)
    return f"payee {payee.pk}: {payee.onboarding_status}"


_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def iban_masked(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return f"{compact[:4]} •••• {compact[-4:]}"


def payee_account_bank_set(
    *, owner_type: str, owner_id: int, user: Any, holder_name: str, iban: str
) -> PayeeAccount:
    """The offline path: payouts by bank transfer. Only a masked IBAN is kept."""
    if not iban_is_valid(iban):
        raise PaymentsError(
            "This IBAN is not valid.", code="invalid_iban", fields={"iban": ["Not a valid IBAN."]}
        )
    payee = payee_account_get_or_create(
        owner_type=owner_type, owner_id=owner_id, method=PayoutMethod.MANUAL_BANK, user=user
    )
    PayeeAccount.objects.filter(pk=payee.pk).update(
        bank_holder_name=holder_name[:120],
        bank_iban_masked=iban_masked(iban),
        onboarding_status=OnboardingStatus.COMPLETE,
        payouts_enabled=True,
        updated_at=timezone.now(),
    )
    payee.refresh_from_db()
    return payee


# --- disbursements ------------------------------------------------------------------------------


def disbursement_open(
    *,
    payee: PayeeAccount,
    amount: int,
    currency: str,
    source_account: Account,
    purpose: str,
    requested_by: Any,
    idempotency_key: str,
    reference: tuple[str, int] | None = None,
    memo: str = "",
) -> Disbursement:
    """`disbursement_request` inside the caller's transaction (for flows that do more at once)."""
    if type(amount) is not int or not 0 < amount <= settings.MAX_PAYMENT_AMOUNT:
        raise PaymentsError("The amount must be a positive integer.", code="invalid_amount")
    if purpose not in DisbursementPurpose.values:
        raise PaymentsError(f"Unknown purpose {purpose!r}.", code="invalid_purpose")
    if source_account.currency != currency:
        raise PaymentsError("The source account holds another currency.", code="currency_mismatch")
    if not idempotency_key:
        raise PaymentsError("An idempotency key is required.", code="missing_idempotency_key")
    existing = Disbursement.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if (existing.payee_id, existing.amount, existing.source_account_id) != (
            payee.pk,
            amount,
            source_account.pk,
        ):
            raise PaymentIdempotencyError()
        return existing
    disbursement = Disbursement.objects.create(
        payee=payee,
        amount=amount,
        currency=currency,
        source_account=source_account,
        purpose=purpose,
        reference_type=reference[0] if reference else "",
        reference_id=reference[1] if reference else None,
        memo=memo[:300],
        method=payee.method,
        provider=payee.provider,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
    )
    disbursement_event_add(
        disbursement_id=disbursement.pk,
        kind="requested",
        to_status=DisbursementStatus.REQUESTED,
        actor=requested_by,
        data={"amount": amount, "source_account": source_account.code},
    )
    return disbursement


def disbursement_request(
    *,
    payee: PayeeAccount,
    amount: int,
    currency: str,
    source_account: Account,
    purpose: str,
    requested_by: Any,
    idempotency_key: str,
    reference: tuple[str, int] | None = None,
    memo: str = "",
) -> Disbursement:
    """Ask for a payout from `source_account` (the account debited when it is sent) to `payee`.

    The caller decides who may ask (a lead for their campaign's milestone, the fund for a grant
    or a loan); the treasurer approves.
    """
    with transaction.atomic(durable=True):
        return disbursement_open(
            payee=payee,
            amount=amount,
            currency=currency,
            source_account=source_account,
            purpose=purpose,
            requested_by=requested_by,
            idempotency_key=idempotency_key,
            reference=reference,
            memo=memo,
        )


def _treasurer_check(actor: Any) -> None:
    if not user_has_role(user=actor, role=Role.TREASURER):
        raise PermissionDeniedError("Only the treasurer can do this.")


def _lock(disbursement_id: int) -> Disbursement:
    return Disbursement.objects.select_for_update().select_related("payee").get(pk=disbursement_id)


def _move(
    disbursement: Disbursement,
    target: str,
    *,
    kind: str,
    actor: Any = None,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> Disbursement:
    disbursement_machine.compare_and_set(
        Disbursement.objects.all(),
        pk=disbursement.pk,
        source=disbursement.status,
        target=target,
        **changes,
    )
    disbursement_event_add(
        disbursement_id=disbursement.pk,
        kind=kind,
        from_status=disbursement.status,
        to_status=target,
        actor=actor,
        data=data,
    )
    disbursement.refresh_from_db()
    _owner_notify(disbursement)
    return disbursement


def _owner_notify(disbursement: Disbursement) -> None:
    """Tell the app that asked for the payout that its state moved (after commit).

    settings.DISBURSEMENT_REFERENCE_TASKS maps a reference type (e.g. "milestone") to the
    dotted path of a Celery task that takes the reference id and brings its own state in line.
    """
    path = settings.DISBURSEMENT_REFERENCE_TASKS.get(disbursement.reference_type)
    if path and disbursement.reference_id is not None:
        enqueue_on_commit(import_string(path), disbursement.reference_id)


def disbursement_approve(*, disbursement: Disbursement, actor: Any) -> Disbursement:
    """The treasurer approves; someone else must have asked. The send task starts on commit."""
    _treasurer_check(actor)
    if actor.pk == disbursement.requested_by_id:
        raise FourEyesError()
    payee = disbursement.payee
    if payee.user_id is not None and payee.user_id == actor.pk:
        raise FourEyesError("No one approves a payout to themselves.")
    if payee.method == PayoutMethod.STRIPE_CONNECT and not payee.connect_account_id:
        raise PayeeNotReadyError("The payee has not opened a payout account yet.")
    with transaction.atomic(durable=True):
        current = _lock(disbursement.pk)
        disbursement_machine.check(current.status, DisbursementStatus.APPROVED)
        if (
            account_balance_get(account=current.source_account) < current.amount
            and not current.source_account.allow_negative
        ):
            raise InsufficientFundsError(
                f"{current.source_account.name} does not hold {current.amount}.",
                extra={"account": current.source_account.code},
            )
        if current.method == PayoutMethod.MANUAL_BANK:
            # Money comes in at Stripe: it reaches the bank through a Stripe payout, recorded
            # by its webhook or by the treasurer (POST /api/v1/payments/cash-transfers).
            cash = _cash_account(current)
            if cash.balance < current.amount:
                raise InsufficientFundsError(
                    f"The bank holds {cash.balance} of the {current.amount} to transfer: record"
                    " the Stripe payout to the bank first.",
                    code="bank_cash_short",
                    extra={"account": cash.code, "bank_cash": cash.balance},
                )
        current = _move(
            current,
            DisbursementStatus.APPROVED,
            kind="approved",
            actor=actor,
            approved_by=actor,
            approved_at=timezone.now(),
        )
        from ..tasks import disbursement_send as disbursement_send_task

        enqueue_on_commit(disbursement_send_task, current.pk)
    return current


def disbursement_reject(*, disbursement: Disbursement, actor: Any, reason: str) -> Disbursement:
    _treasurer_check(actor)
    with transaction.atomic(durable=True):
        current = _lock(disbursement.pk)
        return _move(
            current,
            DisbursementStatus.REJECTED,
            kind="rejected",
            actor=actor,
            data={"reason": reason[:300]},
            failure_reason=reason[:300],
        )


def _cash_account(disbursement: Disbursement) -> Account:
    purpose = (
        AccountPurpose.BANK_CASH
        if disbursement.method == PayoutMethod.MANUAL_BANK
        else AccountPurpose.STRIPE_CASH
    )
    return platform_account(purpose, disbursement.currency)


def disbursement_submit(*, disbursement_id: int) -> Disbursement:
    """Post the payout's entry and move it to `submitted`, before anything is sent."""
    with transaction.atomic(durable=True):
        current = _lock(disbursement_id)
        if current.status != DisbursementStatus.APPROVED:
            return current
        try:
            with transaction.atomic():
                entry = ledger_entry_post(
                    kind=ENTRY_KINDS[current.purpose],
                    legs=[
                        debit(current.source_account, current.amount),
                        credit(_cash_account(current), current.amount),
                    ],
                    idempotency_key=f"disbursement:{current.pk}:submitted",
                    memo=f"Disbursement #{current.pk} ({current.purpose})",
                    actor=current.approved_by,
                    reference=("disbursement", current.pk),
                )
        except InsufficientFundsError as error:
            return _move(
                current,
                DisbursementStatus.FAILED,
                kind="refused",
                data={"reason": error.message, "account": error.extra.get("account")},
                failure_reason=error.message[:300],
                failed_at=timezone.now(),
            )
        return _move(
            current,
            DisbursementStatus.SUBMITTED,
            kind="submitted",
            data={"entry": entry.pk},
            submitted_entry=entry,
            submitted_at=timezone.now(),
        )


def _attempt_mark(disbursement_id: int) -> Disbursement:
    """Count the attempt, committed before the provider is called."""
    with transaction.atomic(durable=True):
        current = _lock(disbursement_id)
        previous = current.last_attempt_at
        Disbursement.objects.filter(pk=current.pk).update(
            send_attempts=current.send_attempts + 1, last_attempt_at=timezone.now()
        )
        current.refresh_from_db()
        current.last_attempt_at = previous  # the caller wants to know when the last try was
        return current


def disbursement_send(*, disbursement_id: int) -> Disbursement:
    """Submit (if approved) and send a payout. Safe to run any number of times."""
    disbursement = disbursement_submit(disbursement_id=disbursement_id)
    if (
        disbursement.status != DisbursementStatus.SUBMITTED
        or disbursement.method != PayoutMethod.STRIPE_CONNECT
    ):
        return disbursement  # done, or waiting for the treasurer's bank transfer
    disbursement = _attempt_mark(disbursement_id)
    provider = provider_for(disbursement.provider)
    group = transfer_group(disbursement.pk)
    transfer: TransferResult | None = None
    if (
        disbursement.last_attempt_at
        and timezone.now() - disbursement.last_attempt_at > IDEMPOTENCY_WINDOW
    ):
        found = provider.transfers_of_group(group)
        transfer = found[0] if found else None
    if transfer is None:
        try:
            transfer = provider.transfer_create(
                amount=disbursement.amount,
                currency=disbursement.currency,
                destination=str(disbursement.payee.connect_account_id),
                transfer_group=group,
                description=f"Bien Commun disbursement #{disbursement.pk}",
                metadata={METADATA_DISBURSEMENT_ID: str(disbursement.pk)},
                idempotency_key=provider_key("disbursement", disbursement.pk),  # = its group
            )
        except (
            ProviderInvalidRequestError,
            CardDeclinedError,
            AuthenticationRequiredError,
        ) as error:
            # Refused: nothing was transferred. The money goes back to its source.
            return disbursement_failure_record(
                disbursement_id=disbursement.pk,
                reason=f"{error.provider_code or error.code}: {error.message}",
            )
        # ProviderUnavailableError propagates: the task retries with the same key.
    delay = float(settings.PAYMENTS_DISBURSEMENT_SEND_DELAY)
    if delay > 0:
        time.sleep(delay)
    return disbursement_transfer_apply(disbursement_id=disbursement.pk, transfer=transfer)


def disbursement_transfer_apply(*, disbursement_id: int, transfer: TransferResult) -> Disbursement:
    """The provider made the transfer: the disbursement is paid (once)."""
    with transaction.atomic(durable=True):
        current = _lock(disbursement_id)
        if current.status == DisbursementStatus.PAID:
            return current
        if current.status != DisbursementStatus.SUBMITTED:
            disbursement_event_add(
                disbursement_id=current.pk,
                kind="anomaly",
                data={"detail": f"transfer {transfer.id} while {current.status}"},
            )
            logger.error(
                "disbursement %s: transfer %s while %s", current.pk, transfer.id, current.status
            )
            return current
        if transfer.amount != current.amount or transfer.currency != current.currency:
            raise PaymentsError(
                f"Transfer {transfer.id} does not match disbursement #{current.pk}.",
                code="transfer_mismatch",
            )
        return _move(
            current,
            DisbursementStatus.PAID,
            kind="paid",
            data={"transfer": transfer.id},
            provider_transfer_id=transfer.id,
            paid_at=timezone.now(),
        )


def disbursement_failure_record(
    *, disbursement_id: int, reason: str, actor: Any = None
) -> Disbursement:
    """A payout failed: post the reversal of its entry, so the source gets the money back."""
    with transaction.atomic(durable=True):
        current = _lock(disbursement_id)
        if current.status == DisbursementStatus.FAILED:
            return current
        disbursement_machine.check(current.status, DisbursementStatus.FAILED)
        changes: dict[str, Any] = {"failure_reason": reason[:300], "failed_at": timezone.now()}
        if current.submitted_entry is not None:
            changes["reversal_entry"] = ledger_entry_reverse(
                entry=current.submitted_entry,
                idempotency_key=f"disbursement:{current.pk}:reversal",
                memo=f"Disbursement #{current.pk} failed",
                actor=actor,
            )
        return _move(
            current,
            DisbursementStatus.FAILED,
            kind="failed",
            actor=actor,
            data={"reason": reason[:300]},
            **changes,
        )


def disbursement_transfer_sync(*, provider: str, transfer_id: str) -> str:
    """A transfer event: the transfer of a submitted disbursement marks it paid."""
    transfer = provider_for(provider).transfer_retrieve(transfer_id)
    ours = transfer.metadata.get(METADATA_DISBURSEMENT_ID, "")
    if not ours.isdigit() or transfer.transfer_group != transfer_group(int(ours)):
        return "ignored: not a disbursement of this platform"
    disbursement = Disbursement.objects.filter(pk=int(ours), provider=provider).first()
    if disbursement is None:
        return "ignored: unknown disbursement"
    if transfer.amount_reversed:
        disbursement_event_add(
            disbursement_id=disbursement.pk,
            kind="transfer_reversed",
            data={"transfer": transfer.id, "amount_reversed": transfer.amount_reversed},
        )
    if disbursement.status == DisbursementStatus.SUBMITTED:
        disbursement = disbursement_transfer_apply(
            disbursement_id=disbursement.pk, transfer=transfer
        )
    return f"disbursement {disbursement.pk}: {disbursement.status}"


def _manual_check(disbursement: Disbursement) -> None:
    if disbursement.method != PayoutMethod.MANUAL_BANK:
        raise PaymentsError(
            "Only a manual bank transfer is marked by hand.", code="not_manual", status_code=409
        )


def disbursement_mark_paid_manually(
    *, disbursement: Disbursement, actor: Any, bank_reference: str
) -> Disbursement:
    """The treasurer made the bank transfer: the payout is paid."""
    _treasurer_check(actor)
    _manual_check(disbursement)
    disbursement = disbursement_submit(disbursement_id=disbursement.pk)
    if disbursement.status == DisbursementStatus.FAILED:
        return disbursement
    with transaction.atomic(durable=True):
        current = _lock(disbursement.pk)
        return _move(
            current,
            DisbursementStatus.PAID,
            kind="paid_manually",
            actor=actor,
            data={"bank_reference": bank_reference[:120]},
            bank_reference=bank_reference[:120],
            paid_at=timezone.now(),
        )


def disbursement_mark_failed_manually(
    *, disbursement: Disbursement, actor: Any, reason: str
) -> Disbursement:
    """The bank transfer bounced (or was never made): reverse the entry."""
    _treasurer_check(actor)
    _manual_check(disbursement)
    return disbursement_failure_record(disbursement_id=disbursement.pk, reason=reason, actor=actor)


def disbursements_stalled(*, older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """Approved payouts not yet submitted, and Connect payouts not yet sent (broker down, crash)."""
    cutoff = timezone.now() - older_than
    return list(
        Disbursement.objects.filter(
            Q(status=DisbursementStatus.APPROVED)
            | Q(status=DisbursementStatus.SUBMITTED, method=PayoutMethod.STRIPE_CONNECT),
            approved_at__lt=cutoff,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
