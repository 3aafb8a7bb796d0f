"""Stripe, through the seam (`payments.gateway`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings

from .. import gateway
from ..enums import ProviderName
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

# Balance transactions that move money between Stripe and the bank, not in or out of the platform.
PAYOUT_TYPES = frozenset({"payout", "payout_cancel", "payout_failure"})


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _str_dict(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def intent_from(data: dict[str, Any]) -> IntentResult:
    charge = data.get("latest_charge")
    fee: int | None = None
    refunded = 0
    if isinstance(charge, dict):
        refunded = int(charge.get("amount_refunded") or 0)
        balance_transaction = charge.get("balance_transaction")
        if isinstance(balance_transaction, dict) and balance_transaction.get("fee") is not None:
            fee = int(balance_transaction["fee"])
    error = data.get("last_payment_error") or {}
    return IntentResult(
        id=str(data["id"]),
        status=str(data["status"]),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=str(data.get("client_secret") or ""),
        customer_id=_id(data.get("customer")),
        payment_method_id=_id(data.get("payment_method")),
        charge_id=_id(charge),
        fee_amount=fee,
        amount_refunded=refunded,
        failure_code=str(error.get("code") or ""),
        failure_message=str(error.get("message") or "")[:300],
        metadata=_str_dict(data.get("metadata")),
        created=int(data.get("created") or 0),
    )


def setup_from(data: dict[str, Any]) -> SetupIntentResult:
    error = data.get("last_setup_error") or {}
    return SetupIntentResult(
        id=str(data["id"]),
        status=str(data["status"]),
        client_secret=str(data.get("client_secret") or ""),
        customer_id=_id(data.get("customer")),
        payment_method_id=_id(data.get("payment_method")),
        failure_code=str(error.get("code") or ""),
        failure_message=str(error.get("message") or "")[:300],
    )


def refund_from(data: dict[str, Any]) -> RefundResult:
    return RefundResult(
        id=str(data["id"]),
        status=str(data.get("status") or "pending"),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        charge_id=_id(data.get("charge")),
        payment_intent_id=_id(data.get("payment_intent")),
        metadata=_str_dict(data.get("metadata")),
        failure_reason=str(data.get("failure_reason") or ""),
        created=int(data.get("created") or 0),
    )


def account_from(data: dict[str, Any]) -> AccountResult:
    return AccountResult(
        id=str(data["id"]),
        details_submitted=bool(data.get("details_submitted")),
        payouts_enabled=bool(data.get("payouts_enabled")),
        email=str(data.get("email") or ""),
    )


def transfer_from(data: dict[str, Any]) -> TransferResult:
    return TransferResult(
        id=str(data["id"]),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        destination=_id(data.get("destination")),
        transfer_group=str(data.get("transfer_group") or ""),
        amount_reversed=int(data.get("amount_reversed") or 0),
        metadata=_str_dict(data.get("metadata")),
        created=int(data.get("created") or 0),
    )


def _since(items: Iterator[dict[str, Any]], created_gte: int | None) -> Iterator[dict[str, Any]]:
    for item in items:
        if created_gte is None or int(item.get("created") or 0) >= created_gte:
            yield item


class StripeProvider:
    name = ProviderName.STRIPE.value

    def publishable_key(self) -> str:
        return str(settings.STRIPE_PUBLISHABLE_KEY)

    def js_url(self) -> str:
        return str(settings.STRIPE_JS_URL)

    def webhook_event_verify(self, *, payload: bytes, signature: str | None) -> dict[str, Any]:
        return gateway.webhook_event_construct(
            payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET
        )

    @provider_call
    def customer_create(
        self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        data = gateway.customer_create(
            params={"email": email, "name": name, "metadata": metadata},
            idempotency_key=idempotency_key,
        )
        return str(data["id"])

    @provider_call
    def setup_intent_create(
        self, *, customer_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> SetupIntentResult:
        data = gateway.setup_intent_create(
            params={
                "customer": customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
                "metadata": metadata,
            },
            idempotency_key=idempotency_key,
        )
        return setup_from(data)

    @provider_call
    def setup_intent_retrieve(self, setup_intent_id: str) -> SetupIntentResult:
        return setup_from(gateway.setup_intent_retrieve(setup_intent_id))

    @provider_call
    def payment_method_retrieve(self, payment_method_id: str) -> CardDetails:
        data = gateway.payment_method_retrieve(payment_method_id)
        card = data.get("card") or {}
        return CardDetails(
            id=str(data["id"]),
            brand=str(card.get("brand") or ""),
            last4=str(card.get("last4") or ""),
            exp_month=int(card["exp_month"]) if card.get("exp_month") else None,
            exp_year=int(card["exp_year"]) if card.get("exp_year") else None,
            customer_id=_id(data.get("customer")),
        )

    @provider_call
    def payment_method_detach(self, payment_method_id: str, *, idempotency_key: str) -> None:
        gateway.payment_method_detach(payment_method_id, idempotency_key=idempotency_key)

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
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        if customer_id:
            params["customer"] = customer_id
        if description:
            params["description"] = description
        if payment_method_id:
            params["payment_method"] = payment_method_id
        if confirm:
            params["confirm"] = True
            if off_session:
                params["off_session"] = True
        data = gateway.payment_intent_create(params=params, idempotency_key=idempotency_key)
        if data.get("status") == "succeeded":
            # The creation answer names the charge; its fee comes with the expanded retrieve.
            data = gateway.payment_intent_retrieve(str(data["id"]))
        return intent_from(data)

    @provider_call
    def payment_intent_retrieve(self, payment_intent_id: str) -> IntentResult:
        return intent_from(gateway.payment_intent_retrieve(payment_intent_id))

    @provider_call
    def payment_intent_cancel(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> IntentResult:
        return intent_from(
            gateway.payment_intent_cancel(payment_intent_id, idempotency_key=idempotency_key)
        )

    @provider_call
    def charge_fee(self, charge_id: str) -> int | None:
        balance_transaction = gateway.charge_retrieve(charge_id).get("balance_transaction")
        if isinstance(balance_transaction, dict) and balance_transaction.get("fee") is not None:
            return int(balance_transaction["fee"])
        return None

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
        data = gateway.refund_create(
            params={
                "payment_intent": payment_intent_id,
                "amount": amount,
                "reason": reason,
                "metadata": metadata,
            },
            idempotency_key=idempotency_key,
        )
        return refund_from(data)

    @provider_call
    def refund_retrieve(self, refund_id: str) -> RefundResult:
        return refund_from(gateway.refund_retrieve(refund_id))

    @provider_call
    def refunds_of_payment_intent(self, payment_intent_id: str) -> list[RefundResult]:
        return [
            refund_from(item)
            for item in gateway.refund_list(params={"payment_intent": payment_intent_id})
        ]

    @provider_call
    def connect_account_create(
        self, *, email: str, country: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountResult:
        params: dict[str, Any] = {
            "type": "express",
            "country": country,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": metadata,
        }
        if email:
            params["email"] = email
        return account_from(gateway.account_create(params=params, idempotency_key=idempotency_key))

    @provider_call
    def connect_account_retrieve(self, account_id: str) -> AccountResult:
        return account_from(gateway.account_retrieve(account_id))

    @provider_call
    def connect_onboarding_link_create(
        self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> OnboardingLink:
        data = gateway.account_link_create(
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            idempotency_key=idempotency_key,
        )
        return OnboardingLink(url=str(data["url"]), expires_at=int(data.get("expires_at") or 0))

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
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": transfer_group,
            "metadata": metadata,
        }
        if description:
            params["description"] = description
        return transfer_from(
            gateway.transfer_create(params=params, idempotency_key=idempotency_key)
        )

    @provider_call
    def transfer_retrieve(self, transfer_id: str) -> TransferResult:
        return transfer_from(gateway.transfer_retrieve(transfer_id))

    @provider_call
    def transfers_of_group(self, transfer_group: str) -> list[TransferResult]:
        return [
            transfer_from(item)
            for item in gateway.transfer_list(params={"transfer_group": transfer_group})
        ]

    def payment_intents_list(self, *, created_gte: int | None) -> Iterator[IntentResult]:
        for item in _since(gateway.payment_intent_list(params={}), created_gte):
            yield intent_from(item)

    def refunds_list(self, *, created_gte: int | None) -> Iterator[RefundResult]:
        for item in _since(gateway.refund_list(params={}), created_gte):
            yield refund_from(item)

    def transfers_list(self, *, created_gte: int | None) -> Iterator[TransferResult]:
        for item in _since(gateway.transfer_list(params={}), created_gte):
            yield transfer_from(item)

    @provider_call
    def balance_net(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in gateway.balance_transaction_list(params={}):
            if item.get("type") in PAYOUT_TYPES:
                continue
            currency = str(item["currency"]).upper()
            totals[currency] = totals.get(currency, 0) + int(item["net"])
        return totals
