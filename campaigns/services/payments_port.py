"""Every call campaigns makes into payments, in one place.

payments is the only app that talks to the provider. None of these run inside a database
transaction when they reach the provider: callers commit their own state first.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists

from members.models import User


@dataclass(frozen=True)
class ChargeOutcome:
    payment_id: int | None
    status: str  # the payment's status, or "failed" when the provider refused outright
    failure_code: str = ""
    failure_message: str = ""
    client_secret: str = ""


def saved_method_get(*, user: User, payment_method_id: int) -> Any | None:
    """The backer's own saved card, still attached; None otherwise."""
    from payments.models import SavedPaymentMethod

    return SavedPaymentMethod.objects.filter(
        pk=payment_method_id, user_id=user.pk, detached_at__isnull=True
    ).first()


def saved_method_usable(*, user_id: int, payment_method_id: int) -> Exists:
    """Whether the backer's own saved card is still attached, as an expression: the pledge path
    reads it in the same query as the campaign's state."""
    from payments.models import SavedPaymentMethod

    return Exists(
        SavedPaymentMethod.objects.filter(
            pk=payment_method_id, user_id=user_id, detached_at__isnull=True
        )
    )


def saved_methods_list(*, user: User) -> list[Any]:
    from payments.models import SavedPaymentMethod

    return list(
        SavedPaymentMethod.objects.filter(user_id=user.pk, detached_at__isnull=True).order_by(
            "-created_at"
        )
    )


def payment_get(payment_id: int | None) -> Any | None:
    if payment_id is None:
        return None
    from payments.models import Payment

    return Payment.objects.filter(pk=payment_id).first()


def pledge_charge(
    *, pledge: Any, payer: User, attempt: int, payment_method_id: int
) -> ChargeOutcome:
    """Charge a saved card off-session for a pledge; the key makes a retried task safe."""
    from payments.exceptions import PaymentsError, ProviderError
    from payments.models import Payment, SavedPaymentMethod
    from payments.services import payment_create

    key = f"pledge:{pledge.pk}:charge:{attempt}"
    method = SavedPaymentMethod.objects.get(pk=payment_method_id)
    try:
        payment = payment_create(
            purpose="pledge",
            payer=payer,
            amount=pledge.amount,
            currency=pledge.currency,
            reference=("pledge", pledge.pk),
            idempotency_key=key,
            payment_method=method,
            off_session=True,
        )
    except PaymentsError as exc:
        if isinstance(exc, ProviderError) and exc.retryable:
            raise
        existing = Payment.objects.filter(idempotency_key=key).first()
        return ChargeOutcome(
            payment_id=existing.pk if existing else None,
            status=existing.status if existing else "failed",
            failure_code=str(exc.code),
            failure_message=str(exc.message)[:300],
            client_secret=existing.client_secret if existing else "",
        )
    payment.refresh_from_db()
    return ChargeOutcome(
        payment_id=payment.pk,
        status=payment.status,
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        client_secret=payment.client_secret,
    )


def pledge_refund(
    *, payment_id: int, amount: int, idempotency_key: str, actor: User | None, reason: str = ""
) -> Any:
    from payments.models import Payment
    from payments.services import payment_refund

    payment = Payment.objects.get(pk=payment_id)
    return payment_refund(
        payment=payment,
        amount=amount,
        reason=reason or "requested_by_customer",
        idempotency_key=idempotency_key,
        actor=actor,
    )


# --- payouts ----------------------------------------------------------------------------------


def payee_get(*, project_id: int) -> Any | None:
    """The project's payout account that can receive money, if any."""
    from payments.models import PayeeAccount

    payees = PayeeAccount.objects.filter(owner_type="project", owner_id=project_id)
    for payee in payees.order_by("pk"):
        if payee.method == "manual_bank" or payee.payouts_enabled:
            return payee
    return None


def payee_check(*, project_id: int) -> Any:
    from ..exceptions import MilestoneError

    payee = payee_get(project_id=project_id)
    if payee is None:
        raise MilestoneError(
            "Set up the project's payout account before asking for a tranche.",
            code="payee_not_ready",
            status_code=409,
        )
    return payee


def disbursement_get(disbursement_id: int | None) -> Any | None:
    if disbursement_id is None:
        return None
    from payments.models import Disbursement

    return Disbursement.objects.filter(pk=disbursement_id).first()


def tranche_disbursement_open(*, milestone: Any, attempt: int, actor: User | None) -> Any:
    """The disbursement of a milestone's tranche, from the campaign's escrow to the project.

    Runs inside the caller's transaction, with the milestone's own move.
    """
    from ledger.services import campaign_escrow_account
    from payments.services import disbursement_open

    campaign = milestone.campaign
    payee = payee_check(project_id=campaign.project_id)
    return disbursement_open(
        payee=payee,
        amount=milestone.amount,
        currency=campaign.currency,
        source_account=campaign_escrow_account(campaign.pk, campaign.currency),
        purpose="milestone_tranche",
        reference=("milestone", milestone.pk),
        requested_by=actor,
        memo=f"{campaign.title}: {milestone.title}"[:300],
        idempotency_key=f"milestone:{milestone.pk}:tranche:{attempt}",
    )


# --- saving a card ----------------------------------------------------------------------------


def is_sandbox() -> bool:
    from payments.providers import is_sandbox as payments_is_sandbox

    return payments_is_sandbox()


def card_setup_start(*, user: User) -> Any:
    """A SetupIntent for the browser to confirm (Stripe.js, or the sandbox form)."""
    from payments.services import payment_method_setup_start

    return payment_method_setup_start(user=user)


def card_setup_complete(*, user: User, setup_intent_id: str) -> Any:
    """After Stripe.js confirmed it: the setup, with its saved card when it succeeded."""
    from payments.services import payment_method_setup_complete

    return payment_method_setup_complete(user=user, setup_intent_id=setup_intent_id)


def sandbox_card_setup_confirm(
    *, user: User, setup_intent_id: str, number: str, exp_month: int, exp_year: int
) -> Any:
    """The sandbox's stand-in for Stripe.js: a test card number posted to our server."""
    from payments.services.sandbox import sandbox_setup_confirm

    return sandbox_setup_confirm(
        user=user,
        setup_intent_id=setup_intent_id,
        number=number,
        exp_month=exp_month,
        exp_year=exp_year,
    )


def sandbox_card_setup_authenticate(
    *, user: User, setup_intent_id: str, is_successful: bool
) -> Any:
    from payments.services.sandbox import sandbox_setup_authenticate

    return sandbox_setup_authenticate(
        user=user, setup_intent_id=setup_intent_id, is_successful=is_successful
    )


def card_setup_get(*, user: User, setup_intent_id: str) -> Any | None:
    from payments.models import PaymentMethodSetup

    return PaymentMethodSetup.objects.filter(
        user_id=user.pk, provider_setup_intent_id=setup_intent_id
    ).first()


def payout_onboarding_start(*, project: Any, user: User, return_url: str) -> str:
    """Open the project's Connect Express account (once); the onboarding link to follow."""
    from payments.services import payee_account_connect_start

    _payee, link = payee_account_connect_start(
        owner_type="project",
        owner_id=project.pk,
        user=user,
        return_url=return_url,
        refresh_url=return_url,
    )
    return str(link.url)


def payout_account_refresh(*, project_id: int) -> Any | None:
    """Read the project's Connect account back after onboarding; the payee once it is ready."""
    from payments.models import PayeeAccount
    from payments.services import payee_account_sync

    for payee in PayeeAccount.objects.filter(
        owner_type="project", owner_id=project_id, method="stripe_connect"
    ):
        payee_account_sync(payee=payee)
    return payee_get(project_id=project_id)
