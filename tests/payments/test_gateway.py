"""The seam: the only importer of `stripe`; its errors classified; retries only on network errors
and 5xx, with the same idempotency key every time.

A small local server answers as Stripe does when it fails, so the real SDK meets real HTTP.
"""

import contextlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from payments.exceptions import (
    AuthenticationRequiredError,
    CardDeclinedError,
    ProviderIdempotencyError,
    ProviderInvalidRequestError,
    ProviderUnavailableError,
)
from payments.providers.stripe_provider import StripeProvider

REPO = Path(__file__).resolve().parents[2]

INTENT = {
    "id": "pi_123",
    "object": "payment_intent",
    "amount": 1000,
    "currency": "eur",
    "status": "requires_payment_method",
    "client_secret": "pi_123_secret_x",
    "metadata": {},
}


def _error(kind, code, message="", **extra):
    return {"error": {"type": kind, "code": code, "message": message or code, **extra}}


@contextlib.contextmanager
def fake_stripe(answers):
    """Answer each request with the next (status, body); record the requests."""
    requests: list[dict] = []
    pending = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append({"path": self.path, "key": self.headers.get("Idempotency-Key")})
            status, body = pending.pop(0)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stripe_at(settings):
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.PAYMENTS_PROVIDER_ATTEMPTS = 3
    settings.PAYMENTS_PROVIDER_RETRY_BASE = 0.01

    def point(url):
        settings.STRIPE_API_BASE = url

    return point


def _create():
    return StripeProvider().payment_intent_create(
        amount=1000,
        currency="EUR",
        customer_id="",
        payment_method_id="",
        off_session=False,
        confirm=False,
        description="",
        metadata={},
        idempotency_key="payment:1",
    )


def test_5xx_is_retried_with_the_same_key_and_the_sdk_does_not_retry_by_itself(stripe_at):
    answers = [(503, _error("api_error", "")), (500, _error("api_error", "")), (200, INTENT)]
    with fake_stripe(answers) as (url, requests):
        stripe_at(url)
        assert _create().id == "pi_123"
    assert [r["key"] for r in requests] == ["payment:1"] * 3
    assert [r["path"] for r in requests] == ["/v1/payment_intents"] * 3


def test_5xx_every_time_gives_up_after_the_bounded_attempts(stripe_at):
    with fake_stripe([(502, _error("api_error", ""))] * 3) as (url, requests):
        stripe_at(url)
        with pytest.raises(ProviderUnavailableError) as caught:
            _create()
    assert len(requests) == 3
    assert caught.value.retryable is True
    assert caught.value.status_code == 503


def test_a_network_error_is_retryable(stripe_at):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stripe_at(f"http://127.0.0.1:{port}")  # nothing listens there
    with pytest.raises(ProviderUnavailableError):
        _create()


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            402,
            _error(
                "card_error", "card_declined", decline_code="generic_decline", payment_intent=INTENT
            ),
            CardDeclinedError,
            "card_declined",
        ),
        (
            402,
            _error("card_error", "authentication_required", payment_intent=INTENT),
            AuthenticationRequiredError,
            "authentication_required",
        ),
        (
            400,
            _error("invalid_request_error", "parameter_missing"),
            ProviderInvalidRequestError,
            "provider_invalid_request",
        ),
        (
            404,
            _error("invalid_request_error", "resource_missing"),
            ProviderInvalidRequestError,
            "provider_invalid_request",
        ),
        (
            400,
            {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests"}},
            ProviderIdempotencyError,
            "provider_idempotency_conflict",
        ),
        (
            429,
            _error("invalid_request_error", "rate_limit"),
            ProviderInvalidRequestError,
            "provider_invalid_request",
        ),
    ],
)
def test_4xx_are_classified_and_never_retried(stripe_at, status, body, error, code):
    with fake_stripe([(status, body)]) as (url, requests):
        stripe_at(url)
        with pytest.raises(error) as caught:
            _create()
    assert len(requests) == 1
    assert caught.value.code == code
    assert caught.value.retryable is False
    if status == 402:
        assert caught.value.payment_intent_id == "pi_123"
        assert caught.value.http_status == 402


def test_every_post_carries_an_idempotency_key():
    from payments import gateway

    with pytest.raises(ValueError, match="idempotency key"):
        gateway._post_options("")


def test_stripe_is_imported_by_the_seam_only():
    importers = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {".venv", "tests", "node_modules", "bench"}:
            continue
        if re.search(r"^\s*(import stripe|from stripe\b)", path.read_text(), re.MULTILINE):
            importers.append(str(relative))
    assert importers == ["payments/gateway.py"]
