"""The sandbox: the embedded default provider. No keys, no network.

It keeps Stripe's side of things in its own tables (`SandboxObject`), runs the same flows with
Stripe's test cards, books a realistic fee, honours idempotency keys, and sends its events,
signed like Stripe's, through the same webhook inbox and processing as Stripe's. Only a test
card number is ever accepted, and only its behaviour and last four digits are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..enums import ProviderName
from ..exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    ProviderError,
    ProviderIdempotencyError,
    ProviderInvalidRequestError,
)
from ..models import SandboxIdempotencyKey, SandboxObject
from . import stripe_provider as shapes
from .base import (
    AccountResult,
    CardDetails,
    IntentResult,
    OnboardingLink,
    RefundResult,
    SetupIntentResult,
    TransferResult,
    provider_call,
)

PUBLISHABLE_KEY = "pk_sandbox"
ONBOARDING_LINK_SECONDS = 300


@dataclass(frozen=True)
class TestCard:
    brand: str
    behaviour: str
    description: str


# Stripe's test cards, with the same behaviour.
TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": TestCard("visa", "succeeds", "Succeeds"),
    "5555555555554444": TestCard("mastercard", "succeeds", "Succeeds"),
    "4000000000000002": TestCard("visa", "declined", "Declined (generic decline)"),
    "4000000000009995": TestCard("visa", "insufficient_funds", "Declined (insufficient funds)"),
    "4000000000000341": TestCard(
        "visa", "charge_declined", "Saves fine, then every charge is declined"
    ),
    "4000002500003155": TestCard(
        "visa",
        "authenticate_on_setup",
        "Requires authentication; once saved with authentication, off-session charges succeed",
    ),
    "4000002760003184": TestCard(
        "visa", "authenticate_always", "Requires authentication on every charge"
    ),
}

DECLINES = {
    "declined": ("generic_decline", "Your card was declined."),
    "insufficient_funds": ("insufficient_funds", "Your card has insufficient funds."),
    "charge_declined": ("generic_decline", "Your card was declined."),
    "expired_card": ("expired_card", "Your card has expired."),
}


def sandbox_webhook_secret() -> str:
    """The secret the sandbox signs its events with: configured, or derived from SECRET_KEY."""
    configured = str(getattr(settings, "SANDBOX_WEBHOOK_SECRET", "") or "")
    if configured:
        return configured
    digest = hmac.new(
        settings.SECRET_KEY.encode(), b"payments.sandbox.webhook", hashlib.sha256
    ).hexdigest()
    return f"whsec_sandbox_{digest[:32]}"


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for this payload: t=<time>,v1=<HMAC-SHA256>."""
    moment = int(time.time()) if timestamp is None else timestamp
    signed = f"{moment}.".encode() + payload
    return f"t={moment},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def sandbox_fee(amount: int) -> int:
    """The simulated processing fee: a percentage (rounded half up) plus a fixed part."""
    basis_points = int(settings.SANDBOX_FEE_PERCENT_BASIS_POINTS)
    fee = (amount * basis_points + 5000) // 10000 + int(settings.SANDBOX_FEE_FIXED)
    return min(fee, amount)


def _new_id(prefix: str) -> str:
    return f"{prefix}_sb_{secrets.token_hex(12)}"


def _now() -> int:
    return int(time.time())


def _missing(kind: str, object_id: str) -> ProviderInvalidRequestError:
    return ProviderInvalidRequestError(
        f"No such {kind}: '{object_id}'", provider_code="resource_missing", http_status=404
    )


def _error_to_dict(error: ProviderError) -> dict[str, Any]:
    return {
        "class": type(error).__name__,
        "message": error.message,
        "provider_code": error.provider_code,
        "decline_code": error.decline_code,
        "http_status": error.http_status,
        "payment_intent_id": error.payment_intent_id,
        "setup_intent_id": error.setup_intent_id,
    }


_ERROR_CLASSES: dict[str, type[ProviderError]] = {
    cls.__name__: cls
    for cls in (CardDeclinedError, AuthenticationRequiredError, ProviderInvalidRequestError)
}


def _error_from_dict(data: dict[str, Any]) -> ProviderError:
    cls = _ERROR_CLASSES.get(str(data.get("class")), ProviderInvalidRequestError)
    return cls(
        str(data.get("message") or ""),
        provider_code=str(data.get("provider_code") or ""),
        decline_code=str(data.get("decline_code") or ""),
        http_status=data.get("http_status"),
        payment_intent_id=str(data.get("payment_intent_id") or ""),
        setup_intent_id=str(data.get("setup_intent_id") or ""),
    )


def card_normalised(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def test_card(number: str) -> TestCard:
    card = TEST_CARDS.get(card_normalised(number))
    if card is None:
        raise ProviderInvalidRequestError(
            "This is the sandbox: only test cards are accepted (for example 4242 4242 4242 4242).",
            code="sandbox_test_cards_only",
            provider_code="incorrect_number",
            http_status=402,
        )
    return card


class _Store:
    """Reads and writes of the sandbox's objects, inside the caller's sandbox transaction."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def get(self, object_id: str, kind: str, *, lock: bool = False) -> dict[str, Any]:
        query = SandboxObject.objects.filter(object_id=object_id, kind=kind)
        if lock:
            query = query.select_for_update()
        row = query.first()
        if row is None:
            raise _missing(kind, object_id)
        return dict(row.data)

    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        SandboxObject.objects.update_or_create(
            object_id=data["id"], defaults={"kind": data["object"], "data": data}
        )
        return data

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, dict(data)))


def _deliver(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send the sandbox's events, signed, through the same inbox as Stripe's."""
    from ..services.webhooks import webhook_receive

    secret = sandbox_webhook_secret()
    for event_type, obj in events:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": _now(),
            "livemode": False,
            "api_version": "sandbox",
            "data": {"object": obj},
        }
        payload = json.dumps(event, sort_keys=True).encode()
        webhook_receive(
            provider=ProviderName.SANDBOX, payload=payload, signature=sign(payload, secret)
        )


class SandboxProvider:
    name = ProviderName.SANDBOX.value

    def publishable_key(self) -> str:
        return PUBLISHABLE_KEY

    def js_url(self) -> str:
        return ""

    def webhook_event_verify(self, *, payload: bytes, signature: str | None) -> dict[str, Any]:
        from .. import gateway

        return gateway.webhook_event_construct(
            payload=payload, signature=signature, secret=sandbox_webhook_secret()
        )

    # --- the engine ------------------------------------------------------------------------

    def _run(
        self,
        operation: str,
        params: dict[str, Any],
        idempotency_key: str | None,
        body: Callable[[_Store], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run one provider request atomically; replay it if its idempotency key was seen."""
        store = _Store()
        fingerprint = hashlib.sha256(
            json.dumps([operation, params], sort_keys=True, default=str).encode()
        ).hexdigest()
        with transaction.atomic():
            if idempotency_key:
                saved = (
                    SandboxIdempotencyKey.objects.select_for_update()
                    .filter(key=idempotency_key)
                    .first()
                )
                if saved is not None:
                    if saved.operation != operation or saved.fingerprint != fingerprint:
                        raise ProviderIdempotencyError(
                            "Keys for idempotent requests can only be used with the same "
                            f"parameters they were first used with ('{idempotency_key}').",
                            provider_code="idempotency_key_in_use",
                            http_status=400,
                        )
                    return self._replayed(dict(saved.response))
            try:
                response: dict[str, Any] = {"result": body(store)}
            except (CardDeclinedError, AuthenticationRequiredError) as error:
                # Like Stripe, a card error is a result: its side effects stay and it is replayed.
                response = {"error": _error_to_dict(error)}
            if idempotency_key:
                SandboxIdempotencyKey.objects.create(
                    key=idempotency_key,
                    operation=operation,
                    fingerprint=fingerprint,
                    response=response,
                )
            if store.events:
                events = list(store.events)
                transaction.on_commit(lambda: _deliver(events))
        return self._replayed(response)

    @staticmethod
    def _replayed(response: dict[str, Any]) -> dict[str, Any]:
        if "error" in response:
            raise _error_from_dict(response["error"])
        return dict(response["result"])

    # --- customers and saved cards ------------------------------------------------------------

    @provider_call
    def customer_create(
        self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        def body(store: _Store) -> dict[str, Any]:
            return store.put(
                {
                    "id": _new_id("cus"),
                    "object": "customer",
                    "email": email,
                    "name": name,
                    "metadata": metadata,
                    "created": _now(),
                }
            )

        params = {"email": email, "name": name, "metadata": metadata}
        return str(self._run("customer_create", params, idempotency_key, body)["id"])

    @provider_call
    def setup_intent_create(
        self, *, customer_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> SetupIntentResult:
        def body(store: _Store) -> dict[str, Any]:
            store.get(customer_id, "customer")
            setup_id = _new_id("seti")
            return store.put(
                {
                    "id": setup_id,
                    "object": "setup_intent",
                    "customer": customer_id,
                    "status": "requires_payment_method",
                    "client_secret": f"{setup_id}_secret_{secrets.token_hex(12)}",
                    "payment_method": None,
                    "last_setup_error": None,
                    "usage": "off_session",
                    "metadata": metadata,
                    "created": _now(),
                }
            )

        params = {"customer": customer_id, "metadata": metadata}
        return shapes.setup_from(self._run("setup_intent_create", params, idempotency_key, body))

    @provider_call
    def setup_intent_retrieve(self, setup_intent_id: str) -> SetupIntentResult:
        return shapes.setup_from(_Store().get(setup_intent_id, "setup_intent"))

    def _payment_method_new(
        self,
        store: _Store,
        *,
        number: str,
        exp_month: int,
        exp_year: int,
        customer_id: str | None,
    ) -> dict[str, Any]:
        card = test_card(number)
        today = timezone.localdate()
        expired = (exp_year, exp_month) < (today.year, today.month)
        return store.put(
            {
                "id": _new_id("pm"),
                "object": "payment_method",
                "type": "card",
                "customer": customer_id,
                "card": {
                    "brand": card.brand,
                    "last4": card_normalised(number)[-4:],
                    "exp_month": exp_month,
                    "exp_year": exp_year,
                },
                "behaviour": "expired_card" if expired else card.behaviour,
                "authenticated_setup": False,
                "created": _now(),
            }
        )

    @provider_call
    def setup_intent_confirm_card(
        self,
        setup_intent_id: str,
        *,
        number: str,
        exp_month: int,
        exp_year: int,
        idempotency_key: str,
    ) -> SetupIntentResult:
        """Sandbox only: what Stripe.js does with the card the person typed."""

        def body(store: _Store) -> dict[str, Any]:
            setup = store.get(setup_intent_id, "setup_intent", lock=True)
            if setup["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ProviderInvalidRequestError(
                    f"This SetupIntent is {setup['status']} and cannot be confirmed.",
                    provider_code="setup_intent_unexpected_state",
                    http_status=400,
                )
            method = self._payment_method_new(
                store, number=number, exp_month=exp_month, exp_year=exp_year, customer_id=None
            )
            behaviour = method["behaviour"]
            if behaviour in ("declined", "insufficient_funds", "expired_card"):
                decline_code, message = DECLINES[behaviour]
                setup.update(
                    status="requires_payment_method",
                    payment_method=None,
                    last_setup_error={
                        "code": "card_declined",
                        "decline_code": decline_code,
                        "message": message,
                    },
                )
                store.put(setup)
                store.emit("setup_intent.setup_failed", setup)
                raise CardDeclinedError(
                    message,
                    provider_code="card_declined",
                    decline_code=decline_code,
                    http_status=402,
                    setup_intent_id=setup_intent_id,
                )
            setup["payment_method"] = method["id"]
            setup["last_setup_error"] = None
            if behaviour in ("authenticate_on_setup", "authenticate_always"):
                setup["status"] = "requires_action"
                setup["next_action"] = {"type": "sandbox_authenticate"}
                store.put(setup)
                store.emit("setup_intent.requires_action", setup)
                return setup
            return self._setup_succeed(store, setup, method)

        params = {"setup_intent": setup_intent_id, "last4": card_normalised(number)[-4:]}
        return shapes.setup_from(self._run("setup_intent_confirm", params, idempotency_key, body))

    def _setup_succeed(
        self, store: _Store, setup: dict[str, Any], method: dict[str, Any]
    ) -> dict[str, Any]:
        method["customer"] = setup["customer"]
        store.put(method)
        setup.update(status="succeeded", payment_method=method["id"], next_action=None)
        store.put(setup)
        store.emit("setup_intent.succeeded", setup)
        return setup

    @provider_call
    def setup_intent_authenticate(
        self, setup_intent_id: str, *, success: bool, idempotency_key: str
    ) -> SetupIntentResult:
        """Sandbox only: the cardholder answers the authentication challenge."""

        def body(store: _Store) -> dict[str, Any]:
            setup = store.get(setup_intent_id, "setup_intent", lock=True)
            if setup["status"] != "requires_action":
                raise ProviderInvalidRequestError(
                    "This SetupIntent does not require authentication.",
                    provider_code="setup_intent_unexpected_state",
                    http_status=400,
                )
            method = store.get(str(setup["payment_method"]), "payment_method", lock=True)
            if success:
                method["authenticated_setup"] = True
                return self._setup_succeed(store, setup, method)
            setup.update(
                status="requires_payment_method",
                payment_method=None,
                next_action=None,
                last_setup_error={
                    "code": "setup_intent_authentication_failure",
                    "message": "The cardholder did not complete authentication.",
                },
            )
            store.put(setup)
            store.emit("setup_intent.setup_failed", setup)
            return setup

        params = {"setup_intent": setup_intent_id, "success": success}
        return shapes.setup_from(
            self._run("setup_intent_authenticate", params, idempotency_key, body)
        )

    @provider_call
    def payment_method_retrieve(self, payment_method_id: str) -> CardDetails:
        method = _Store().get(payment_method_id, "payment_method")
        card = method["card"]
        return CardDetails(
            id=method["id"],
            brand=str(card["brand"]),
            last4=str(card["last4"]),
            exp_month=int(card["exp_month"]),
            exp_year=int(card["exp_year"]),
            customer_id=str(method.get("customer") or ""),
        )

    @provider_call
    def payment_method_detach(self, payment_method_id: str, *, idempotency_key: str) -> None:
        def body(store: _Store) -> dict[str, Any]:
            method = store.get(payment_method_id, "payment_method", lock=True)
            method["customer"] = None
            store.put(method)
            store.emit("payment_method.detached", method)
            return method

        self._run("payment_method_detach", {"id": payment_method_id}, idempotency_key, body)

    # --- payment intents, charges and refunds ---------------------------------------------------

    def _intent_result(self, store: _Store, intent: dict[str, Any]) -> dict[str, Any]:
        """The intent with its latest charge and balance transaction expanded, as Stripe's retrieve."""
        expanded = dict(intent)
        if intent.get("latest_charge"):
            charge = store.get(str(intent["latest_charge"]), "charge")
            charge["balance_transaction"] = store.get(
                str(charge["balance_transaction"]), "balance_transaction"
            )
            expanded["latest_charge"] = charge
        return expanded

    def _balance_transaction(
        self, store: _Store, *, kind: str, amount: int, fee: int, currency: str, source: str
    ) -> dict[str, Any]:
        return store.put(
            {
                "id": _new_id("txn"),
                "object": "balance_transaction",
                "type": kind,
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "currency": currency,
                "source": source,
                "created": _now(),
            }
        )

    def _charge(self, store: _Store, intent: dict[str, Any]) -> dict[str, Any]:
        charge_id = _new_id("ch")
        fee = sandbox_fee(int(intent["amount"]))
        transaction_row = self._balance_transaction(
            store,
            kind="charge",
            amount=int(intent["amount"]),
            fee=fee,
            currency=str(intent["currency"]),
            source=charge_id,
        )
        charge = store.put(
            {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_refunded": 0,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "balance_transaction": transaction_row["id"],
                "status": "succeeded",
                "paid": True,
                "refunded": False,
                "created": _now(),
            }
        )
        intent.update(
            status="succeeded", latest_charge=charge_id, last_payment_error=None, next_action=None
        )
        store.put(intent)
        store.emit("charge.succeeded", charge)
        store.emit("payment_intent.succeeded", intent)
        return intent

    def _decline(
        self, store: _Store, intent: dict[str, Any], *, code: str, decline_code: str, message: str
    ) -> None:
        intent.update(
            status="requires_payment_method",
            next_action=None,
            last_payment_error={"code": code, "decline_code": decline_code, "message": message},
        )
        store.put(intent)
        store.emit("payment_intent.payment_failed", intent)
        error_class = (
            AuthenticationRequiredError if code == "authentication_required" else CardDeclinedError
        )
        raise error_class(
            message,
            provider_code=code,
            decline_code=decline_code,
            http_status=402,
            payment_intent_id=str(intent["id"]),
        )

    def _confirm(
        self, store: _Store, intent: dict[str, Any], *, off_session: bool
    ) -> dict[str, Any]:
        method = store.get(str(intent["payment_method"]), "payment_method")
        behaviour = method["behaviour"]
        if behaviour == "succeeds":
            return self._charge(store, intent)
        if behaviour in DECLINES:
            decline_code, message = DECLINES[behaviour]
            self._decline(
                store, intent, code="card_declined", decline_code=decline_code, message=message
            )
        needs_challenge = behaviour == "authenticate_always" or (
            behaviour == "authenticate_on_setup" and not method.get("authenticated_setup")
        )
        if not needs_challenge:
            return self._charge(store, intent)
        if off_session:
            self._decline(
                store,
                intent,
                code="authentication_required",
                decline_code="authentication_required",
                message="This charge needs the cardholder to authenticate.",
            )
        intent.update(status="requires_action", next_action={"type": "sandbox_authenticate"})
        store.put(intent)
        store.emit("payment_intent.requires_action", intent)
        return intent

    @provider_call
    def payment_intent_create(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        off_session: bool,
        confirm: bool,
        description: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentResult:
        def body(store: _Store) -> dict[str, Any]:
            if payment_method_id:
                store.get(payment_method_id, "payment_method")
            intent_id = _new_id("pi")
            intent = store.put(
                {
                    "id": intent_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer_id or None,
                    "payment_method": payment_method_id or None,
                    "status": "requires_confirmation"
                    if payment_method_id
                    else "requires_payment_method",
                    "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                    "latest_charge": None,
                    "last_payment_error": None,
                    "next_action": None,
                    "description": description,
                    "metadata": metadata,
                    "created": _now(),
                }
            )
            store.emit("payment_intent.created", intent)
            if confirm and payment_method_id:
                intent = self._confirm(store, intent, off_session=off_session)
            return self._intent_result(store, intent)

        params = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": off_session,
            "confirm": confirm,
            "description": description,
            "metadata": metadata,
        }
        return shapes.intent_from(self._run("payment_intent_create", params, idempotency_key, body))

    @provider_call
    def payment_intent_confirm_card(
        self,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        number: str = "",
        exp_month: int = 12,
        exp_year: int = 2034,
        payment_method_id: str = "",
    ) -> IntentResult:
        """Sandbox only: the payer confirms on-session with a typed card or a saved one."""

        def body(store: _Store) -> dict[str, Any]:
            intent = store.get(payment_intent_id, "payment_intent", lock=True)
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ProviderInvalidRequestError(
                    f"This PaymentIntent is {intent['status']} and cannot be confirmed.",
                    provider_code="payment_intent_unexpected_state",
                    http_status=400,
                )
            if payment_method_id:
                method = store.get(payment_method_id, "payment_method")
            else:
                method = self._payment_method_new(
                    store, number=number, exp_month=exp_month, exp_year=exp_year, customer_id=None
                )
            intent["payment_method"] = method["id"]
            intent = self._confirm(store, intent, off_session=False)
            return self._intent_result(store, intent)

        params = {
            "payment_intent": payment_intent_id,
            "last4": card_normalised(number)[-4:],
            "payment_method": payment_method_id,
        }
        return shapes.intent_from(
            self._run("payment_intent_confirm", params, idempotency_key, body)
        )

    @provider_call
    def payment_intent_authenticate(
        self, payment_intent_id: str, *, success: bool, idempotency_key: str
    ) -> IntentResult:
        """Sandbox only: the cardholder answers the 3D Secure challenge."""

        def body(store: _Store) -> dict[str, Any]:
            intent = store.get(payment_intent_id, "payment_intent", lock=True)
            if intent["status"] != "requires_action":
                raise ProviderInvalidRequestError(
                    "This PaymentIntent does not require authentication.",
                    provider_code="payment_intent_unexpected_state",
                    http_status=400,
                )
            if success:
                intent = self._charge(store, intent)
            else:
                intent.update(
                    status="requires_payment_method",
                    next_action=None,
                    last_payment_error={
                        "code": "payment_intent_authentication_failure",
                        "message": "The cardholder did not complete authentication.",
                    },
                )
                store.put(intent)
                store.emit("payment_intent.payment_failed", intent)
            return self._intent_result(store, intent)

        params = {"payment_intent": payment_intent_id, "success": success}
        return shapes.intent_from(
            self._run("payment_intent_authenticate", params, idempotency_key, body)
        )

    @provider_call
    def payment_intent_retrieve(self, payment_intent_id: str) -> IntentResult:
        store = _Store()
        return shapes.intent_from(
            self._intent_result(store, store.get(payment_intent_id, "payment_intent"))
        )

    @provider_call
    def payment_intent_cancel(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> IntentResult:
        def body(store: _Store) -> dict[str, Any]:
            intent = store.get(payment_intent_id, "payment_intent", lock=True)
            if intent["status"] in ("succeeded", "canceled"):
                raise ProviderInvalidRequestError(
                    f"This PaymentIntent is {intent['status']} and cannot be canceled.",
                    provider_code="payment_intent_unexpected_state",
                    http_status=400,
                )
            intent.update(status="canceled", next_action=None)
            store.put(intent)
            store.emit("payment_intent.canceled", intent)
            return self._intent_result(store, intent)

        return shapes.intent_from(
            self._run("payment_intent_cancel", {"id": payment_intent_id}, idempotency_key, body)
        )

    @provider_call
    def charge_fee(self, charge_id: str) -> int | None:
        store = _Store()
        charge = store.get(charge_id, "charge")
        return int(store.get(str(charge["balance_transaction"]), "balance_transaction")["fee"])

    @provider_call
    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        reason: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult:
        def body(store: _Store) -> dict[str, Any]:
            intent = store.get(payment_intent_id, "payment_intent")
            if intent["status"] != "succeeded" or not intent.get("latest_charge"):
                raise ProviderInvalidRequestError(
                    "This PaymentIntent has no successful charge to refund.",
                    provider_code="charge_not_refundable",
                    http_status=400,
                )
            charge = store.get(str(intent["latest_charge"]), "charge", lock=True)
            remaining = int(charge["amount"]) - int(charge["amount_refunded"])
            if remaining == 0:
                raise ProviderInvalidRequestError(
                    f"Charge {charge['id']} has already been refunded.",
                    provider_code="charge_already_refunded",
                    http_status=400,
                )
            if amount > remaining:
                raise ProviderInvalidRequestError(
                    f"Refund amount ({amount}) is greater than the unrefunded amount ({remaining}).",
                    provider_code="amount_too_large",
                    http_status=400,
                )
            refund_id = _new_id("re")
            transaction_row = self._balance_transaction(
                store,
                kind="refund",
                amount=-amount,
                fee=0,
                currency=str(charge["currency"]),
                source=refund_id,
            )
            refund = store.put(
                {
                    "id": refund_id,
                    "object": "refund",
                    "amount": amount,
                    "currency": charge["currency"],
                    "charge": charge["id"],
                    "payment_intent": payment_intent_id,
                    "status": "succeeded",
                    "reason": reason,
                    "metadata": metadata,
                    "balance_transaction": transaction_row["id"],
                    "created": _now(),
                }
            )
            charge["amount_refunded"] = int(charge["amount_refunded"]) + amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            store.put(charge)
            store.emit("refund.created", refund)
            store.emit("charge.refunded", charge)
            return refund

        params = {
            "payment_intent": payment_intent_id,
            "amount": amount,
            "reason": reason,
            "metadata": metadata,
        }
        return shapes.refund_from(self._run("refund_create", params, idempotency_key, body))

    @provider_call
    def refund_retrieve(self, refund_id: str) -> RefundResult:
        return shapes.refund_from(_Store().get(refund_id, "refund"))

    @provider_call
    def refunds_of_payment_intent(self, payment_intent_id: str) -> list[RefundResult]:
        return [
            shapes.refund_from(data)
            for data in self._objects("refund")
            if data.get("payment_intent") == payment_intent_id
        ]

    # --- Connect --------------------------------------------------------------------------------

    @provider_call
    def connect_account_create(
        self, *, email: str, country: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountResult:
        def body(store: _Store) -> dict[str, Any]:
            return store.put(
                {
                    "id": _new_id("acct"),
                    "object": "account",
                    "type": "express",
                    "email": email,
                    "country": country,
                    "details_submitted": False,
                    "payouts_enabled": False,
                    "charges_enabled": False,
                    "metadata": metadata,
                    "created": _now(),
                }
            )

        params = {"email": email, "country": country, "metadata": metadata}
        return shapes.account_from(self._run("account_create", params, idempotency_key, body))

    @provider_call
    def connect_account_retrieve(self, account_id: str) -> AccountResult:
        return shapes.account_from(_Store().get(account_id, "account"))

    @provider_call
    def connect_onboarding_link_create(
        self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> OnboardingLink:
        def body(store: _Store) -> dict[str, Any]:
            store.get(account_id, "account")
            token = secrets.token_urlsafe(24)
            path = reverse("payments:sandbox-onboarding", kwargs={"token": token})
            return store.put(
                {
                    "id": f"acctlink_sb_{token}",
                    "object": "account_link",
                    "account": account_id,
                    "url": f"{str(settings.SITE_URL).rstrip('/')}{path}",
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "expires_at": _now() + ONBOARDING_LINK_SECONDS,
                    "is_used": False,
                    "created": _now(),
                }
            )

        params = {"account": account_id, "refresh_url": refresh_url, "return_url": return_url}
        data = self._run("account_link_create", params, idempotency_key, body)
        return OnboardingLink(url=str(data["url"]), expires_at=int(data["expires_at"]))

    @provider_call
    def onboarding_complete(self, token: str) -> str:
        """Sandbox only: what following an onboarding link does. Returns where to go next.

        A link works once and for a few minutes, as on Stripe; afterwards it leads to the
        refresh address, where the platform makes a new link.
        """

        def body(store: _Store) -> dict[str, Any]:
            link = store.get(f"acctlink_sb_{token}", "account_link", lock=True)
            if link["is_used"] or link["expires_at"] < _now():
                return {"redirect": link["refresh_url"]}
            link["is_used"] = True
            store.put(link)
            account = store.get(str(link["account"]), "account", lock=True)
            account.update(details_submitted=True, payouts_enabled=True)
            store.put(account)
            store.emit("account.updated", account)
            return {"redirect": link["return_url"]}

        return str(self._run("onboarding_complete", {"token": token}, None, body)["redirect"])

    @provider_call
    def transfer_create(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str,
        description: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult:
        def body(store: _Store) -> dict[str, Any]:
            account = store.get(destination, "account")
            if not account["payouts_enabled"]:
                raise ProviderInvalidRequestError(
                    "Your destination account needs to have at least one of the following "
                    "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                    provider_code="insufficient_capabilities_for_transfer",
                    http_status=400,
                )
            transfer_id = _new_id("tr")
            transaction_row = self._balance_transaction(
                store,
                kind="transfer",
                amount=-amount,
                fee=0,
                currency=currency.lower(),
                source=transfer_id,
            )
            transfer = store.put(
                {
                    "id": transfer_id,
                    "object": "transfer",
                    "amount": amount,
                    "currency": currency.lower(),
                    "destination": destination,
                    "transfer_group": transfer_group,
                    "description": description,
                    "metadata": metadata,
                    "amount_reversed": 0,
                    "reversed": False,
                    "balance_transaction": transaction_row["id"],
                    "created": _now(),
                }
            )
            store.emit("transfer.created", transfer)
            return transfer

        params = {
            "amount": amount,
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": transfer_group,
            "description": description,
            "metadata": metadata,
        }
        return shapes.transfer_from(self._run("transfer_create", params, idempotency_key, body))

    @provider_call
    def transfer_retrieve(self, transfer_id: str) -> TransferResult:
        return shapes.transfer_from(_Store().get(transfer_id, "transfer"))

    @provider_call
    def transfers_of_group(self, transfer_group: str) -> list[TransferResult]:
        return [
            shapes.transfer_from(data)
            for data in self._objects("transfer")
            if data.get("transfer_group") == transfer_group
        ]

    # --- reconciliation ----------------------------------------------------------------------------

    @staticmethod
    def _objects(kind: str, created_gte: int | None = None) -> Iterator[dict[str, Any]]:
        rows = SandboxObject.objects.filter(kind=kind).order_by("created_at", "object_id")
        for row in rows.iterator(chunk_size=500):
            data = dict(row.data)
            if created_gte is None or int(data.get("created") or 0) >= created_gte:
                yield data

    def payment_intents_list(self, *, created_gte: int | None) -> Iterator[IntentResult]:
        store = _Store()
        for data in self._objects("payment_intent", created_gte):
            yield shapes.intent_from(self._intent_result(store, data))

    def refunds_list(self, *, created_gte: int | None) -> Iterator[RefundResult]:
        for data in self._objects("refund", created_gte):
            yield shapes.refund_from(data)

    def transfers_list(self, *, created_gte: int | None) -> Iterator[TransferResult]:
        for data in self._objects("transfer", created_gte):
            yield shapes.transfer_from(data)

    def balance_net(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for data in self._objects("balance_transaction"):
            currency = str(data["currency"]).upper()
            totals[currency] = totals.get(currency, 0) + int(data["net"])
        return totals
