"""The Stripe test harness: the real stripe SDK against localstripe and its test-only extension.

Runs without Django or a database:

    .venv/bin/python -m pytest -p no:django -p no:cacheprovider \
        tests/payments/test_localstripe_harness.py -q
"""

from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from tests.support.localstripe_fixtures import (
    LocalStripe,
    require_or_skip,
    running_localstripe,
    stripe_module_pointed_at,
)

pytest_plugins = ["tests.support.localstripe_fixtures"]

WEBHOOK_SECRET = "whsec_test_bien_commun"
REFRESH_URL = "http://127.0.0.1:9/connect/refresh"
RETURN_URL = "http://127.0.0.1:9/connect/return"
CHROMIUM = Path("/usr/bin/chromium")

_direct_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- a tiny local HTTP server: webhook receiver and test pages --------------------------


@dataclass(frozen=True)
class Delivery:
    signature: str | None
    body: bytes
    received_at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class LocalHttpServer:
    base_url: str
    pages: dict[str, str]
    _inbox: queue.Queue[Delivery]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return self.base_url + "/stripe/webhook"

    def _drain(self, timeout: float) -> bool:
        try:
            self.deliveries.append(self._inbox.get(timeout=max(timeout, 0)))
        except queue.Empty:
            return False
        return True

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> Delivery:
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for delivery in self.deliveries[checked:]:
                if matches(delivery.event):
                    return delivery
            checked = len(self.deliveries)
            if not self._drain(deadline - time.monotonic()):
                raise AssertionError(f"no matching webhook within {timeout} s")

    def collect_for(self, seconds: float) -> list[Delivery]:
        deadline = time.monotonic() + seconds
        while self._drain(deadline - time.monotonic()):
            pass
        return self.deliveries


@contextmanager
def local_http_server() -> Iterator[LocalHttpServer]:
    inbox: queue.Queue[Delivery] = queue.Queue()
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            inbox.put(Delivery(self.headers.get("Stripe-Signature"), body, time.monotonic()))
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            page = pages.get(self.path)
            if page is None:
                self.send_error(404)
                return
            content = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalHttpServer(f"http://127.0.0.1:{server.server_address[1]}", pages, inbox)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[LocalHttpServer]:
    with local_http_server() as server:
        yield server


# --- helpers ------------------------------------------------------------------------------


def _saved_card(client: stripe.StripeClient, customer_id: str, payment_method: str) -> str:
    setup_intent = client.v1.setup_intents.create({"customer": customer_id})
    setup_intent = client.v1.setup_intents.confirm(
        setup_intent.id, {"payment_method": payment_method}
    )
    assert setup_intent.status == "succeeded"
    return setup_intent.payment_method


def _onboarded_account(client: stripe.StripeClient, localstripe: LocalStripe) -> str:
    account = client.v1.accounts.create(
        {"type": "express", "country": "FR", "capabilities": {"transfers": {"requested": True}}}
    )
    localstripe.complete_onboarding(account.id)
    return account.id


def _follow_without_redirect(url: str) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(url, timeout=5)
    return redirect.value.code, redirect.value.headers["Location"]


# --- the server itself ---------------------------------------------------------------------


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _non_loopback_ipv4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP: picks the outgoing address, sends nothing
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_emulator_listens_on_loopback_only(localstripe: LocalStripe) -> None:
    url = urlsplit(localstripe.url)
    assert url.hostname == "127.0.0.1"
    assert _accepts_connections("127.0.0.1", url.port) is True
    # localstripe on its own listens on "::", which takes ::1 and every interface.
    assert _accepts_connections("::1", url.port) is False
    other_address = _non_loopback_ipv4()
    if other_address is not None:
        assert _accepts_connections(other_address, url.port) is False


def test_each_emulator_starts_empty_and_writes_no_pickle(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    pickle_file = Path("/tmp/localstripe.pickle")  # noqa: S108 (localstripe's own fixed path)
    mtime_before = pickle_file.stat().st_mtime_ns if pickle_file.exists() else None
    stripe_client.v1.customers.create({"email": "first@example.org"})

    with running_localstripe() as other:
        assert other.url != localstripe.url
        assert other.client().v1.customers.list().data == []

    mtime_after = pickle_file.stat().st_mtime_ns if pickle_file.exists() else None
    assert mtime_after == mtime_before


# --- cards ----------------------------------------------------------------------------------


def test_card_saved_with_a_setup_intent_is_charged_off_session(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create({"email": "backer@example.org"})
    setup_intent = stripe_client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method_types": ["card"]}
    )
    assert setup_intent.status == "requires_payment_method"
    assert setup_intent.client_secret.startswith(setup_intent.id + "_secret_")

    setup_intent = stripe_client.v1.setup_intents.confirm(
        setup_intent.id, {"payment_method": "pm_card_visa"}
    )
    assert setup_intent.status == "succeeded"
    payment_method = stripe_client.v1.payment_methods.retrieve(setup_intent.payment_method)
    assert payment_method.customer == customer.id
    assert payment_method.card.last4 == "4242"

    payment_intent = stripe_client.v1.payment_intents.create(
        {
            "amount": 2500,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": payment_method.id,
            "off_session": True,
            "confirm": True,
            "description": "Pledge 17",
            "transfer_group": "campaign_42",
            "metadata": {"pledge_id": "17"},
        }
    )
    assert payment_intent.status == "succeeded"
    assert payment_intent.amount == 2500
    assert payment_intent.metadata.to_dict() == {"pledge_id": "17"}
    assert payment_intent.latest_charge.startswith("ch_")  # an id, as on Stripe

    charge = stripe_client.v1.charges.retrieve(
        payment_intent.latest_charge, {"expand": ["balance_transaction"]}
    )
    assert (charge.status, charge.paid, charge.amount, charge.currency) == (
        "succeeded",
        True,
        2500,
        "eur",
    )
    assert (charge.payment_intent, charge.customer) == (payment_intent.id, customer.id)
    assert (charge.transfer_group, charge.description) == ("campaign_42", "Pledge 17")
    balance_transaction = charge.balance_transaction
    assert (balance_transaction.type, balance_transaction.amount) == ("charge", 2500)
    assert (balance_transaction.fee, balance_transaction.net) == (0, 2500)


def test_confirm_card_setup_request_as_the_fake_stripe_js_sends_it(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})

    # Authenticated by the publishable key and the client secret, as from a browser.
    body = json.dumps(
        {
            "key": localstripe.publishable_key,
            "use_stripe_sdk": True,
            "client_secret": setup_intent.client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": "12",
                    "exp_year": "2030",
                    "cvc": "123",
                },
                "billing_details": {"address": {"postal_code": "75011"}},
            },
        }
    ).encode()
    request = urllib.request.Request(
        f"{localstripe.url}/v1/setup_intents/{setup_intent.id}/confirm", data=body, method="POST"
    )
    with _direct_opener.open(request, timeout=5) as response:
        confirmed = json.loads(response.read())

    assert confirmed["status"] == "succeeded"
    payment_method = stripe_client.v1.payment_methods.retrieve(confirmed["payment_method"])
    assert (payment_method.customer, payment_method.card.last4) == (customer.id, "4242")
    assert payment_method.billing_details.address.postal_code == "75011"


def test_card_0002_is_declined_when_set_up(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})

    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.setup_intents.confirm(
            setup_intent.id, {"payment_method": "pm_card_visa_chargeDeclined"}
        )

    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"
    assert declined.value.user_message == "Your card was declined."
    assert declined.value.error.type == "card_error"
    setup_intent = stripe_client.v1.setup_intents.retrieve(setup_intent.id)
    assert setup_intent.status == "requires_payment_method"
    assert setup_intent.payment_method is None
    assert setup_intent.last_setup_error.code == "card_declined"
    assert setup_intent.last_setup_error.payment_method.card.last4 == "0002"
    assert (
        stripe_client.v1.payment_methods.list({"customer": customer.id, "type": "card"}).data == []
    )


def test_card_0002_is_declined_when_charged(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "eur",
                "payment_method": "pm_card_visa_chargeDeclined",
                "confirm": True,
            }
        )

    assert (declined.value.http_status, declined.value.code) == (402, "card_declined")
    payment_intent = declined.value.error.payment_intent
    assert payment_intent.status == "requires_payment_method"
    assert payment_intent.last_payment_error.code == "card_declined"
    charge = stripe_client.v1.charges.retrieve(declined.value.error.charge)
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "card_declined")
    assert charge.balance_transaction is None


def test_card_0341_is_saved_then_declined_off_session(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({})
    payment_method_id = _saved_card(stripe_client, customer.id, "pm_card_chargeCustomerFail")

    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.create(
            {
                "amount": 1500,
                "currency": "eur",
                "customer": customer.id,
                "payment_method": payment_method_id,
                "off_session": True,
                "confirm": True,
            }
        )

    assert (declined.value.http_status, declined.value.code) == (402, "card_declined")
    assert declined.value.error.payment_intent.status == "requires_payment_method"
    charges = stripe_client.v1.charges.list({"customer": customer.id}).data
    assert [(c.status, c.amount_refunded, c.balance_transaction) for c in charges] == [
        ("failed", 0, None)
    ]


def test_card_3155_setup_requires_action_until_authenticated(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})

    setup_intent = stripe_client.v1.setup_intents.confirm(
        setup_intent.id, {"payment_method": "pm_card_authenticationRequiredOnSetup"}
    )
    assert setup_intent.status == "requires_action"
    assert setup_intent.next_action.to_dict() == {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
    }

    # What the fake Stripe.js does once the backer completes 3D Secure.
    setup_intent = stripe_client.v1.setup_intents.confirm(setup_intent.id)
    assert setup_intent.status == "succeeded"
    payment_method = stripe_client.v1.payment_methods.retrieve(setup_intent.payment_method)
    assert (payment_method.customer, payment_method.card.last4) == (customer.id, "3155")


def test_card_3155_payment_on_session_requires_action_then_authentication(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    payment_intent = stripe_client.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "eur",
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
        }
    )
    assert payment_intent.status == "requires_action"
    assert payment_intent.next_action.type == "use_stripe_sdk"
    assert payment_intent.latest_charge is None

    authenticated = localstripe.authenticate_payment_intent(
        payment_intent.id, payment_intent.client_secret, success=True
    )
    assert authenticated["status"] == "succeeded"
    assert stripe_client.v1.payment_intents.retrieve(payment_intent.id).status == "succeeded"


def test_card_3155_off_session_needs_authentication_unless_set_up(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})
    setup_intent = stripe_client.v1.setup_intents.confirm(
        setup_intent.id, {"payment_method": "pm_card_authenticationRequiredOnSetup"}
    )
    off_session_payment = {
        "amount": 1800,
        "currency": "eur",
        "customer": customer.id,
        "payment_method": setup_intent.payment_method,
        "off_session": True,
        "confirm": True,
    }

    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.create(off_session_payment)
    assert declined.value.http_status == 402
    assert declined.value.code == "authentication_required"
    assert declined.value.error.decline_code == "authentication_required"
    failed_intent = declined.value.error.payment_intent
    assert failed_intent.status == "requires_payment_method"
    assert failed_intent.last_payment_error.code == "authentication_required"
    assert stripe_client.v1.charges.list({"customer": customer.id}).data == []

    stripe_client.v1.setup_intents.confirm(setup_intent.id)  # 3D Secure completed
    payment_intent = stripe_client.v1.payment_intents.create(off_session_payment)
    assert payment_intent.status == "succeeded"


def test_card_3184_off_session_always_needs_authentication(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})
    setup_intent = stripe_client.v1.setup_intents.confirm(
        setup_intent.id, {"payment_method": "pm_card_authenticationRequired"}
    )
    stripe_client.v1.setup_intents.confirm(setup_intent.id)

    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.payment_intents.create(
            {
                "amount": 1800,
                "currency": "eur",
                "customer": customer.id,
                "payment_method": setup_intent.payment_method,
                "off_session": True,
                "confirm": True,
            }
        )
    assert declined.value.code == "authentication_required"


# --- refunds and fees -----------------------------------------------------------------------


def test_partial_then_full_refund(stripe_client: stripe.StripeClient) -> None:
    payment_intent = stripe_client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )

    partial = stripe_client.v1.refunds.create(
        {"payment_intent": payment_intent.id, "amount": 300, "reason": "requested_by_customer"}
    )
    assert (partial.status, partial.amount, partial.reason) == (
        "succeeded",
        300,
        "requested_by_customer",
    )
    assert partial.charge == payment_intent.latest_charge
    # Without an amount, Stripe refunds what is left.
    rest = stripe_client.v1.refunds.create({"payment_intent": payment_intent.id})
    assert (rest.status, rest.amount) == ("succeeded", 700)

    charge = stripe_client.v1.charges.retrieve(payment_intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    refund_transactions = [
        stripe_client.v1.balance_transactions.retrieve(refund.balance_transaction)
        for refund in (partial, rest)
    ]
    assert [(t.type, t.amount, t.fee, t.net) for t in refund_transactions] == [
        ("refund", -300, 0, -300),
        ("refund", -700, 0, -700),
    ]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.refunds.create({"payment_intent": payment_intent.id, "amount": 1})
    assert (refused.value.http_status, refused.value.code) == (400, "charge_already_refunded")
    assert stripe_client.v1.refunds.list({"payment_intent": payment_intent.id}).total_count == 2


def test_refund_above_the_unrefunded_amount_is_refused(stripe_client: stripe.StripeClient) -> None:
    payment_intent = stripe_client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )
    stripe_client.v1.refunds.create({"payment_intent": payment_intent.id, "amount": 600})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.refunds.create({"payment_intent": payment_intent.id, "amount": 401})

    assert (refused.value.http_status, refused.value.param) == (400, "amount")
    charge = stripe_client.v1.charges.retrieve(payment_intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (600, False)


def test_charge_fee_is_zero_unless_configured(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    def charge_transaction() -> Any:
        payment_intent = stripe_client.v1.payment_intents.create(
            {"amount": 2000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
        )
        return stripe_client.v1.payment_intents.retrieve(
            payment_intent.id, {"expand": ["latest_charge.balance_transaction"]}
        ).latest_charge.balance_transaction

    assert (charge_transaction().fee, charge_transaction().fee_details) == (0, [])

    localstripe.set_fees(percent_basis_points=150, fixed=25)  # 1.5 % + 0.25
    try:
        with_fee = charge_transaction()
    finally:
        localstripe.set_fees()
    assert (with_fee.amount, with_fee.fee, with_fee.net) == (2000, 55, 1945)
    assert [(d.type, d.amount) for d in with_fee.fee_details] == [("stripe_fee", 55)]


# --- webhooks ---------------------------------------------------------------------------------


def test_webhook_is_signed_and_sent_once_about_a_second_later(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient, receiver: LocalHttpServer
) -> None:
    with localstripe.webhook(receiver.webhook_url, WEBHOOK_SECRET, events=["customer.created"]):
        created_at = time.monotonic()
        customer = stripe_client.v1.customers.create({"email": "webhook@example.org"})
        delivery = receiver.wait_for(lambda event: event["data"]["object"]["id"] == customer.id)
        later = receiver.collect_for(2.0)

    assert delivery.received_at - created_at >= 1.0
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", delivery.signature or "")
    event = stripe.Webhook.construct_event(delivery.body, delivery.signature, WEBHOOK_SECRET)
    assert event.id.startswith("evt_")
    assert (event.type, event.data.object.id, event.data.object.email) == (
        "customer.created",
        customer.id,
        "webhook@example.org",
    )
    assert [d.event["id"] for d in later].count(event.id) == 1
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body, delivery.signature, "whsec_other")


# --- Connect ----------------------------------------------------------------------------------


def test_connect_account_onboarding_link_and_transfer(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient, receiver: LocalHttpServer
) -> None:
    with localstripe.webhook(
        receiver.webhook_url, WEBHOOK_SECRET, events=["account.updated", "transfer.created"]
    ):
        account = stripe_client.v1.accounts.create(
            {
                "type": "express",
                "country": "FR",
                "email": "lead@example.org",
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"project_id": "7"},
            }
        )
        assert account.id.startswith("acct_")
        assert account.capabilities.to_dict() == {"transfers": "inactive"}
        assert (account.details_submitted, account.payouts_enabled) == (False, False)
        assert account.requirements.disabled_reason == "requirements.past_due"

        link = stripe_client.v1.account_links.create(
            {
                "account": account.id,
                "refresh_url": REFRESH_URL,
                "return_url": RETURN_URL,
                "type": "account_onboarding",
            }
        )
        assert link.object == "account_link"
        assert link.expires_at - link.created == 300
        assert link.url.startswith(localstripe.url + "/_config/connect/onboarding/")
        assert _follow_without_redirect(link.url) == (302, RETURN_URL)
        assert _follow_without_redirect(link.url) == (302, REFRESH_URL)  # links work once

        account = stripe_client.v1.accounts.retrieve(account.id)
        assert account.capabilities.to_dict() == {"transfers": "active"}
        assert (account.details_submitted, account.payouts_enabled) == (True, True)
        assert account.requirements.currently_due == []

        transfer = stripe_client.v1.transfers.create(
            {
                "amount": 9000,
                "currency": "eur",
                "destination": account.id,
                "transfer_group": "campaign_42",
                "metadata": {"disbursement_id": "3"},
            }
        )
        account_event = receiver.wait_for(
            lambda e: e["type"] == "account.updated" and e["data"]["object"]["id"] == account.id
        )
        transfer_event = receiver.wait_for(lambda e: e["data"]["object"]["id"] == transfer.id)

    assert transfer.id.startswith("tr_")
    assert (transfer.amount, transfer.currency, transfer.destination) == (9000, "eur", account.id)
    assert (transfer.amount_reversed, transfer.reversed) == (0, False)
    assert transfer.transfer_group == "campaign_42"
    assert transfer.metadata.to_dict() == {"disbursement_id": "3"}
    assert stripe_client.v1.transfers.retrieve(transfer.id).amount == 9000
    platform_debit = stripe_client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    assert (platform_debit.type, platform_debit.amount, platform_debit.fee) == (
        "transfer",
        -9000,
        0,
    )

    assert account_event.event["account"] == account.id
    assert (
        stripe.Webhook.construct_event(
            transfer_event.body, transfer_event.signature, WEBHOOK_SECRET
        ).type
        == "transfer.created"
    )


def test_transfer_to_an_account_not_onboarded_fails(stripe_client: stripe.StripeClient) -> None:
    account = stripe_client.v1.accounts.create({"type": "express"})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.transfers.create(
            {"amount": 5000, "currency": "eur", "destination": account.id}
        )

    assert refused.value.http_status == 400
    assert refused.value.code == "insufficient_capabilities_for_transfer"
    assert stripe_client.v1.transfers.list({"destination": account.id}).data == []


def test_transfer_beyond_the_platform_balance_fails(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    account_id = _onboarded_account(stripe_client, localstripe)
    localstripe.set_platform_balance({"eur": 4000})
    try:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe_client.v1.transfers.create(
                {"amount": 4001, "currency": "eur", "destination": account_id}
            )
        balance_after_refusal = localstripe._request("GET", "/_config/connect/platform_balance")
        stripe_client.v1.transfers.create(
            {"amount": 4000, "currency": "eur", "destination": account_id}
        )
        balance_after_transfer = localstripe._request("GET", "/_config/connect/platform_balance")
    finally:
        localstripe.set_platform_balance(None)

    assert (refused.value.http_status, refused.value.code) == (400, "balance_insufficient")
    assert balance_after_refusal == {"available": {"eur": 4000}}
    assert balance_after_transfer == {"available": {"eur": 0}}
    amounts = [t.amount for t in stripe_client.v1.transfers.list({"destination": account_id}).data]
    assert amounts == [4000]


def test_transfer_partial_then_full_reversal(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    account_id = _onboarded_account(stripe_client, localstripe)
    transfer = stripe_client.v1.transfers.create(
        {"amount": 3000, "currency": "eur", "destination": account_id}
    )

    first = stripe_client.v1.transfers.reversals.create(transfer.id, {"amount": 1000})
    rest = stripe_client.v1.transfers.reversals.create(transfer.id)

    assert (first.object, first.amount, first.transfer) == ("transfer_reversal", 1000, transfer.id)
    assert rest.amount == 2000
    transfer = stripe_client.v1.transfers.retrieve(transfer.id)
    assert (transfer.amount_reversed, transfer.reversed) == (3000, True)
    assert [r.id for r in transfer.reversals.data] == [rest.id, first.id]
    credit = stripe_client.v1.balance_transactions.retrieve(first.balance_transaction)
    assert (credit.type, credit.amount) == ("transfer_refund", 1000)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.reversals.create(transfer.id, {"amount": 1})


# --- idempotency --------------------------------------------------------------------------------


def test_same_idempotency_key_replays_the_first_response(
    stripe_client: stripe.StripeClient,
) -> None:
    params = {
        "amount": 2500,
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "metadata": {"pledge_id": "99"},
    }
    first = stripe_client.v1.payment_intents.create(params, {"idempotency_key": "pledge-99"})
    again = stripe_client.v1.payment_intents.create(params, {"idempotency_key": "pledge-99"})

    assert again.id == first.id
    assert again.latest_charge == first.latest_charge
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    intents = stripe_client.v1.payment_intents.list({"limit": 100}).data
    assert [i.id for i in intents].count(first.id) == 1
    assert [i.metadata.to_dict().get("pledge_id") for i in intents].count("99") == 1


def test_same_idempotency_key_with_other_parameters_is_an_error(
    stripe_client: stripe.StripeClient,
) -> None:
    stripe_client.v1.customers.create({"email": "a@example.org"}, {"idempotency_key": "backer-5"})

    with pytest.raises(stripe.IdempotencyError) as reused:
        stripe_client.v1.customers.create(
            {"email": "b@example.org"}, {"idempotency_key": "backer-5"}
        )

    assert reused.value.http_status == 400
    assert reused.value.error.type == "idempotency_error"
    assert reused.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'backer-5' if you meant to execute a "
        "different request."
    )
    emails = [c.email for c in stripe_client.v1.customers.list({"limit": 100}).data]
    assert emails.count("b@example.org") == 0


def test_idempotency_replays_card_errors_and_covers_connect(
    localstripe: LocalStripe, stripe_client: stripe.StripeClient
) -> None:
    declined = {
        "amount": 700,
        "currency": "eur",
        "payment_method": "pm_card_visa_chargeDeclined",
        "confirm": True,
    }
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as card_error:
            stripe_client.v1.payment_intents.create(
                declined, {"idempotency_key": "pledge-declined"}
            )
        errors.append(card_error.value)
    assert errors[0].error.payment_intent.id == errors[1].error.payment_intent.id
    assert errors[1].headers["Idempotent-Replayed"] == "true"

    account_id = _onboarded_account(stripe_client, localstripe)
    transfer = {"amount": 100, "currency": "eur", "destination": account_id}
    first = stripe_client.v1.transfers.create(transfer, {"idempotency_key": "disbursement-1"})
    again = stripe_client.v1.transfers.create(transfer, {"idempotency_key": "disbursement-1"})
    assert again.id == first.id
    assert len(stripe_client.v1.transfers.list({"destination": account_id}).data) == 1


def test_idempotency_keys_belong_to_one_api_key(localstripe: LocalStripe) -> None:
    platform = localstripe.client()
    other = stripe.StripeClient(
        "sk_test_other_platform", base_addresses={"api": localstripe.url}, max_network_retries=0
    )

    mine = platform.v1.customers.create({}, {"idempotency_key": "shared-key"})
    theirs = other.v1.customers.create({}, {"idempotency_key": "shared-key"})

    assert theirs.id != mine.id


# --- the module-level SDK -------------------------------------------------------------------------


def test_module_level_sdk_is_pointed_at_the_emulator_then_restored(
    localstripe: LocalStripe,
) -> None:
    api_base, api_key = stripe.api_base, stripe.api_key

    with stripe_module_pointed_at(localstripe):
        customer = stripe.Customer.create(email="module@example.org")
        account = stripe.Account.create(type="express")
        link = stripe.AccountLink.create(
            account=account.id,
            refresh_url=REFRESH_URL,
            return_url=RETURN_URL,
            type="account_onboarding",
        )
        localstripe.complete_onboarding(account.id)
        transfer = stripe.Transfer.create(amount=100, currency="eur", destination=account.id)
        assert stripe.Customer.retrieve(customer.id).email == "module@example.org"
        assert link.url.startswith(localstripe.url)
        assert stripe.Transfer.retrieve(transfer.id).destination == account.id

    assert (stripe.api_base, stripe.api_key) == (api_base, api_key)


# --- the fake Stripe.js in Chromium -----------------------------------------------------------------

CARD_PAGE = """<!doctype html>
<html><body>
<form id="payment-form"><div id="card-element"></div></form>
<script src="{js_url}"></script>
<script>
  window.stripe = Stripe("{publishable_key}");
  window.card = window.stripe.elements().create("card");
  window.card.mount("#card-element");
</script>
</body></html>
"""

CONFIRM_CARD_SETUP = """
(clientSecret) => {
  window.setupResult = undefined;
  window.stripe.confirmCardSetup(clientSecret, {
    payment_method: {card: window.card, billing_details: {name: "Camille Martin"}},
  }).then((result) => { window.setupResult = result; });
}
"""


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("Playwright is not installed")
    if not CHROMIUM.exists():
        require_or_skip(f"Chromium is not at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("card_number", "needs_3d_secure"),
    [("4242424242424242", False), ("4000002500003155", True)],
)
def test_fake_stripe_js_confirms_a_setup_intent_in_chromium(
    localstripe: LocalStripe,
    stripe_client: stripe.StripeClient,
    chromium_page: Any,
    card_number: str,
    needs_3d_secure: bool,
) -> None:
    customer = stripe_client.v1.customers.create({})
    setup_intent = stripe_client.v1.setup_intents.create({"customer": customer.id})
    page = chromium_page
    with local_http_server() as site:
        site.pages["/save-card"] = CARD_PAGE.format(
            js_url=localstripe.js_url, publishable_key=localstripe.publishable_key
        )
        page.goto(site.base_url + "/save-card")
        for placeholder, value in (
            ("number", card_number),
            ("exp_month", "12"),
            ("exp_year", "30"),
            ("cvc", "123"),
            ("postal_code", "75011"),
        ):
            page.fill(f'#card-element input[placeholder="{placeholder}"]', value)

        page.evaluate(CONFIRM_CARD_SETUP, setup_intent.client_secret)
        if needs_3d_secure:
            page.get_by_role("button", name="Complete authentication").click()
        page.wait_for_function("window.setupResult !== undefined", timeout=10_000)
        result = page.evaluate(
            "({error: window.setupResult.error, status: window.setupResult.setupIntent"
            " && window.setupResult.setupIntent.status})"
        )

    assert result == {"error": None, "status": "succeeded"}
    setup_intent = stripe_client.v1.setup_intents.retrieve(setup_intent.id)
    payment_method = stripe_client.v1.payment_methods.retrieve(setup_intent.payment_method)
    assert (payment_method.customer, payment_method.card.last4) == (customer.id, card_number[-4:])
    assert payment_method.billing_details.to_dict() == {
        "address": {"postal_code": "75011"},
        "name": "Camille Martin",
    }
    # A card set up this way is charged off-session without a new challenge, 3155 included.
    payment_intent = stripe_client.v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": payment_method.id,
            "off_session": True,
            "confirm": True,
        }
    )
    assert payment_intent.status == "succeeded"
