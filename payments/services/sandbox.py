"""What the browser does with Stripe.js, done by the server for the sandbox only.

With Stripe, card numbers never reach this server: Stripe.js sends them to Stripe. These
services exist only while `PAYMENTS_PROVIDER` is the sandbox, which accepts test cards only.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..enums import ProviderName
from ..exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    PaymentsError,
    SandboxOnlyError,
)
from ..models import Payment, PaymentMethodSetup, SavedPaymentMethod
from ..providers import is_sandbox, sandbox_provider
from .customers import payment_method_setup_get, setup_result_apply
from .payments import payment_failure_record, payment_intent_apply


def _sandbox_only(provider: str = ProviderName.SANDBOX) -> None:
    if not is_sandbox() or provider != ProviderName.SANDBOX:
        raise SandboxOnlyError()


def _key() -> str:
    # Each confirmation is a new attempt (another card after a decline), as with Stripe.js.
    return f"sandbox-confirm:{uuid.uuid4().hex}"


def sandbox_setup_confirm(
    *, user: Any, setup_intent_id: str, number: str, exp_month: int, exp_year: int
) -> PaymentMethodSetup:
    setup = payment_method_setup_get(user=user, setup_intent_id=setup_intent_id)
    _sandbox_only(setup.provider)
    provider = sandbox_provider()
    try:
        result = provider.setup_intent_confirm_card(
            setup_intent_id,
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            idempotency_key=_key(),
        )
    except CardDeclinedError:
        setup_result_apply(
            setup_id=setup.pk, result=provider.setup_intent_retrieve(setup_intent_id)
        )
        raise
    return setup_result_apply(setup_id=setup.pk, result=result)


def sandbox_setup_authenticate(
    *, user: Any, setup_intent_id: str, is_successful: bool
) -> PaymentMethodSetup:
    setup = payment_method_setup_get(user=user, setup_intent_id=setup_intent_id)
    _sandbox_only(setup.provider)
    result = sandbox_provider().setup_intent_authenticate(
        setup_intent_id, success=is_successful, idempotency_key=_key()
    )
    return setup_result_apply(setup_id=setup.pk, result=result)


def _payment_check(payment: Payment) -> str:
    _sandbox_only(payment.provider)
    if not payment.provider_payment_intent_id:
        raise PaymentsError(
            "This payment is not ready to be confirmed yet.",
            code="payment_not_ready",
            status_code=409,
        )
    return payment.provider_payment_intent_id


def sandbox_payment_confirm(
    *,
    payment: Payment,
    number: str = "",
    exp_month: int = 12,
    exp_year: int = 2034,
    payment_method: SavedPaymentMethod | None = None,
) -> Payment:
    """The payer confirms on-session, with a typed test card or a saved one."""
    intent_id = _payment_check(payment)
    if payment_method is not None and (
        payment_method.user_id != payment.payer_id or not payment_method.is_active
    ):
        raise PaymentsError(
            "This saved card cannot be used.", code="payment_method_not_usable", status_code=409
        )
    if payment_method is None and not number:
        raise PaymentsError(
            "Give a card number or a saved card.",
            code="card_required",
            fields={"number": ["Required."]},
        )
    provider = sandbox_provider()
    try:
        intent = provider.payment_intent_confirm_card(
            intent_id,
            idempotency_key=_key(),
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            payment_method_id=payment_method.provider_payment_method_id if payment_method else "",
        )
    except (CardDeclinedError, AuthenticationRequiredError) as error:
        return payment_failure_record(
            payment_id=payment.pk,
            payment_intent_id=intent_id,
            code=error.provider_code or error.code,
            message=error.message,
            source="confirm",
        )
    return payment_intent_apply(payment_id=payment.pk, intent=intent, source="confirm")


def sandbox_payment_authenticate(*, payment: Payment, is_successful: bool) -> Payment:
    """The payer answers the authentication challenge (the sandbox's 3D Secure page)."""
    intent_id = _payment_check(payment)
    intent = sandbox_provider().payment_intent_authenticate(
        intent_id, success=is_successful, idempotency_key=_key()
    )
    return payment_intent_apply(payment_id=payment.pk, intent=intent, source="authenticate")


def sandbox_onboarding_complete(*, token: str) -> str:
    """Following a sandbox onboarding link; returns where to send the browser next."""
    _sandbox_only()
    return sandbox_provider().onboarding_complete(token)
