"""The seam: the one module of the platform that imports the Stripe SDK.

Every call goes through a `stripe.StripeClient` built from settings, with the SDK's own retries
off (`max_network_retries=0`: the callers retry, with the idempotency key they stored). Every POST
carries an idempotency key. Errors leave this module classified as `payments.exceptions`:
card declined, authentication required, invalid request (no retry), or unavailable (network
error or 5xx: retry with the same key). Results are plain dicts.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from .exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    ProviderError,
    ProviderIdempotencyError,
    ProviderInvalidRequestError,
    ProviderUnavailableError,
    WebhookPayloadError,
    WebhookSignatureError,
)

T = TypeVar("T")

PAYMENT_INTENT_EXPAND = ["latest_charge.balance_transaction"]
REQUEST_TIMEOUT_SECONDS = 30


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    http_client: stripe.HTTPClient | None = None
    if api_base and _is_loopback(api_base):
        # An emulator on this machine: never route it through a proxy from the environment.
        import requests

        session = requests.Session()
        session.trust_env = False
        http_client = stripe.RequestsClient(session=session, timeout=REQUEST_TIMEOUT_SECONDS)
    base_addresses: Any = (
        {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
    )
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=0,
        http_client=http_client,
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise ProviderInvalidRequestError(
            "Stripe is not configured (STRIPE_SECRET_KEY is empty).", code="provider_not_configured"
        )
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _error_field(error: stripe.StripeError, name: str) -> Any:
    body = getattr(error, "json_body", None) or {}
    return (body.get("error") or {}).get(name)


def _object_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(getattr(value, "id", "") or "")


def classify(error: stripe.StripeError) -> ProviderError:
    """Map an SDK error to the platform's: what may be retried, and what may not."""
    status = error.http_status
    code = str(error.code or "")
    message = str(error.user_message or _error_field(error, "message") or error)
    common: dict[str, Any] = {
        "provider_code": code,
        "http_status": status,
        "payment_intent_id": _object_id(_error_field(error, "payment_intent")),
        "setup_intent_id": _object_id(_error_field(error, "setup_intent")),
        "decline_code": str(_error_field(error, "decline_code") or ""),
    }
    if isinstance(error, stripe.APIConnectionError):
        return ProviderUnavailableError(f"Stripe could not be reached: {message}", **common)
    if status is None or status >= 500:
        return ProviderUnavailableError(f"Stripe failed: {message}", **common)
    if isinstance(error, stripe.CardError):
        if code == "authentication_required":
            return AuthenticationRequiredError(message, **common)
        return CardDeclinedError(message, **common)
    if isinstance(error, stripe.IdempotencyError):
        return ProviderIdempotencyError(message, **common)
    return ProviderInvalidRequestError(message, **common)


def _call(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except stripe.StripeError as error:
        raise classify(error) from error


def _as_dict(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict())


def _post_options(idempotency_key: str) -> Any:
    if not idempotency_key:
        raise ValueError("Every POST to Stripe carries an idempotency key.")
    return {"idempotency_key": idempotency_key}


def _post(
    fn: Callable[..., Any], *args: Any, params: dict[str, Any], idempotency_key: str
) -> dict[str, Any]:
    options = _post_options(idempotency_key)
    return _as_dict(_call(lambda: fn(*args, params=params, options=options)))


def _get(
    fn: Callable[..., Any], *args: Any, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _as_dict(_call(lambda: fn(*args, params=params or {})))


def _list(fn: Callable[..., Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    query: dict[str, Any] = {"limit": 100, **params}
    while True:
        page = _call(functools.partial(fn, params=dict(query)))
        for item in page.data:
            yield _as_dict(item)
        if not page.has_more or not page.data:
            return
        query["starting_after"] = page.data[-1].id


# --- customers and cards ---------------------------------------------------------------


def customer_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.customers.create, params=params, idempotency_key=idempotency_key)


def setup_intent_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.setup_intents.create, params=params, idempotency_key=idempotency_key)


def setup_intent_retrieve(setup_intent_id: str) -> dict[str, Any]:
    return _get(client().v1.setup_intents.retrieve, setup_intent_id)


def payment_method_retrieve(payment_method_id: str) -> dict[str, Any]:
    return _get(client().v1.payment_methods.retrieve, payment_method_id)


def payment_method_detach(payment_method_id: str, *, idempotency_key: str) -> dict[str, Any]:
    return _post(
        client().v1.payment_methods.detach,
        payment_method_id,
        params={},
        idempotency_key=idempotency_key,
    )


# --- payment intents, charges, refunds -------------------------------------------------


def payment_intent_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.payment_intents.create, params=params, idempotency_key=idempotency_key)


def payment_intent_retrieve(payment_intent_id: str) -> dict[str, Any]:
    return _get(
        client().v1.payment_intents.retrieve,
        payment_intent_id,
        params={"expand": PAYMENT_INTENT_EXPAND},
    )


def payment_intent_cancel(payment_intent_id: str, *, idempotency_key: str) -> dict[str, Any]:
    return _post(
        client().v1.payment_intents.cancel,
        payment_intent_id,
        params={},
        idempotency_key=idempotency_key,
    )


def payment_intent_list(*, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return _list(client().v1.payment_intents.list, params)


def charge_retrieve(charge_id: str) -> dict[str, Any]:
    return _get(client().v1.charges.retrieve, charge_id, params={"expand": ["balance_transaction"]})


def refund_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.refunds.create, params=params, idempotency_key=idempotency_key)


def refund_retrieve(refund_id: str) -> dict[str, Any]:
    return _get(client().v1.refunds.retrieve, refund_id)


def refund_list(*, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return _list(client().v1.refunds.list, params)


def balance_transaction_list(*, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return _list(client().v1.balance_transactions.list, params)


# --- Connect: accounts, onboarding links, transfers ------------------------------------


def account_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.accounts.create, params=params, idempotency_key=idempotency_key)


def account_retrieve(account_id: str) -> dict[str, Any]:
    return _get(client().v1.accounts.retrieve, account_id)


def account_link_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.account_links.create, params=params, idempotency_key=idempotency_key)


def transfer_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _post(client().v1.transfers.create, params=params, idempotency_key=idempotency_key)


def transfer_retrieve(transfer_id: str) -> dict[str, Any]:
    return _get(client().v1.transfers.retrieve, transfer_id)


def transfer_list(*, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return _list(client().v1.transfers.list, params)


# --- webhooks ----------------------------------------------------------------------------


def webhook_event_construct(
    *, payload: bytes, signature: str | None, secret: str, tolerance: int = 300
) -> dict[str, Any]:
    """Verify a webhook's signature (Stripe's scheme) and return the event as a dict."""
    if not signature:
        raise WebhookSignatureError("The Stripe-Signature header is missing.")
    if not secret:
        raise WebhookSignatureError("No webhook secret is configured.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(f"The webhook signature is not valid: {error}") from error
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        raise WebhookPayloadError() from error
    data = _as_dict(event)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise WebhookPayloadError("The event has no id or type.")
    return data
