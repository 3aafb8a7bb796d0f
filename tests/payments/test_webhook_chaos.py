"""Webhook chaos: every event the emulator sends, delivered 1 to 3 times in shuffled order and
mixed with forgeries. Each payment is applied exactly once; forgeries get a 400 and write nothing.

The payers confirm at the provider, as Stripe.js does in a browser, so this server learns the
outcome from the webhooks alone.
"""

import contextlib
import hashlib
import hmac
import json
import random
import time

import pytest
import stripe
from django.test import Client

from ledger.models import JournalEntry
from payments import gateway
from payments.enums import PaymentStatus, WebhookEventStatus
from payments.models import Customer, Payment, WebhookEvent
from payments.services import payment_create
from tests.factories import UserFactory

from .books import books_balance, entries, grants_pool, processor_fees, stripe_cash
from .conftest import WEBHOOK_SECRET
from .receiver import Delivery, webhook_receiver

pytest_plugins = ["tests.support.localstripe_fixtures"]

URL = "/api/v1/payments/webhooks/stripe"
CASH, FEES, POOL = "platform:stripe_cash:EUR", "platform:processor_fees:EUR", "fund:grants_pool:EUR"


def _fee(amount):
    return (amount * 150 + 5000) // 10000 + 25


def _signature(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _forgeries(genuine: list[Delivery], rng: random.Random) -> list[Delivery]:
    forged = []
    for delivery in rng.sample(genuine, k=min(len(genuine), 6)):
        now = int(time.time())
        # Another event id under the genuine signature.
        tampered = delivery.body.replace(delivery.event["id"].encode(), b"evt_" + b"9" * 14, 1)
        forged += [
            Delivery(_signature(delivery.body, "whsec_not_ours", now), delivery.body),
            Delivery(delivery.signature, tampered),
            Delivery(None, delivery.body),
            Delivery(_signature(delivery.body, WEBHOOK_SECRET, now - 900), delivery.body),
        ]
    # An invented success for a payment that was declined, under a guessed secret.
    invented = json.dumps(
        {
            "id": "evt_invented",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_invented", "object": "payment_intent"}},
        }
    ).encode()
    forged.append(Delivery(_signature(invented, "whsec_guess", int(time.time())), invented))
    return forged


@pytest.mark.django_db(transaction=True)
def test_webhook_chaos_applies_each_payment_exactly_once(stripe_provider, purpose_handlers):
    rng = random.Random(4242)
    cards = ["pm_card_visa"] * 7 + ["pm_card_visa_chargeDeclined"] * 3
    rng.shuffle(cards)
    with webhook_receiver() as receiver, stripe_provider.webhook(receiver.url, WEBHOOK_SECRET):
        payments = []
        for i, card in enumerate(cards):
            payment = payment_create(
                purpose="donation",
                payer=UserFactory(),
                amount=1000 + 137 * i,
                currency="EUR",
                idempotency_key=f"chaos-{i}",
            )
            # The browser confirms with Stripe.js.
            api = gateway.client().v1.payment_intents
            api.update(payment.provider_payment_intent_id, params={"payment_method": card})
            with contextlib.suppress(stripe.CardError):
                api.confirm(payment.provider_payment_intent_id)
            payments.append((payment, card))
        intents = {payment.provider_payment_intent_id for payment, _card in payments}
        customers = set(
            Customer.objects.filter(user__payments__in=[p for p, _card in payments]).values_list(
                "provider_customer_id", flat=True
            )
        )

        def ours(event):
            return event["data"]["object"].get("id") in intents | customers

        genuine = receiver.wait_for(ours, count=len(intents) + len(customers))
    assert {d.event["type"] for d in genuine} == {
        "customer.created",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
    }
    assert all(Payment.objects.get(pk=p.pk).status == PaymentStatus.CREATED for p, _ in payments)
    assert JournalEntry.objects.count() == 0

    deliveries = [(d, 200) for d in genuine for _copy in range(rng.randint(1, 3))]
    deliveries += [(d, 400) for d in _forgeries(genuine, rng)]
    rng.shuffle(deliveries)
    client = Client()
    for delivery, expected in deliveries:
        headers = {"HTTP_STRIPE_SIGNATURE": delivery.signature} if delivery.signature else {}
        response = client.post(URL, data=delivery.body, content_type="application/json", **headers)
        assert response.status_code == expected, response.content
        if expected == 400:
            assert response.json()["error"]["code"] in {"invalid_signature", "malformed_event"}

    assert WebhookEvent.objects.count() == len(genuine)
    assert set(WebhookEvent.objects.values_list("provider_event_id", flat=True)) == {
        d.event["id"] for d in genuine
    }
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {
        WebhookEventStatus.PROCESSED
    }
    cash = fees = pool = 0
    for payment, card in payments:
        payment.refresh_from_db()
        if card == "pm_card_visa":
            fee = _fee(payment.amount)
            assert payment.status == PaymentStatus.SUCCEEDED
            assert payment.fee_amount == fee
            assert entries("payment", payment.pk) == [
                (
                    "donation",
                    None,
                    [(POOL, "credit", payment.amount), (CASH, "debit", payment.amount)],
                ),
                ("processor_fee", None, [(FEES, "debit", fee), (CASH, "credit", fee)]),
            ]
            cash, fees, pool = cash + payment.amount - fee, fees + fee, pool + payment.amount
        else:
            assert payment.status == PaymentStatus.FAILED
            assert payment.failure_code == "card_declined"
            assert entries("payment", payment.pk) == []
    assert (stripe_cash(), processor_fees(), grants_pool()) == (cash, fees, pool)
    assert JournalEntry.objects.count() == 2 * cards.count("pm_card_visa")
    assert books_balance() == {}
    declined = sorted(p.pk for p, card in payments if card != "pm_card_visa")
    assert sorted(pk for call, pk in purpose_handlers if call == "failed") == declined
