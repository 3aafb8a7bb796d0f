"""Outgoing webhooks: signed, retried with bounded backoff, logged, replayable, and never sent to
private or loopback addresses (unless allowed, as in tests)."""

import hashlib
import hmac
import ipaddress
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from campaigns import services
from campaigns.enums import FundingModel
from campaigns.exceptions import WebhookEndpointError
from campaigns.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from campaigns.webhooks import (
    AddressRefusedError,
    address_resolve,
    ip_is_public,
    retry_delay,
    signature_verify,
    webhook_deliver,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_ping,
)

from .conftest import launched_campaign, person, saved_card
from .factories import ProjectFactory

pytestmark = pytest.mark.django_db


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # status codes to give, in order; then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def endpoint_for(project, url, **kwargs):
    return webhook_endpoint_create(project=project, actor=None, url=url, **kwargs)


def test_a_collected_pledge_is_sent_signed_and_verifiable(receiver, run_on_commit):
    lead = person("lead")
    campaign = launched_campaign(lead=lead, funding_model=FundingModel.KEEP_IT_ALL)
    endpoint = endpoint_for(campaign.project, receiver.url, event_types=["pledge.collected"])
    backer = person(display_name="Camille Martin", public_identity="name")
    run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=2_500,
        payment_method_id=saved_card(backer).pk,
        is_anonymous=True,
    )
    ((headers, body),) = receiver.received
    event = json.loads(body)
    assert event["type"] == "pledge.collected"
    assert set(event) == {"id", "type", "created", "data"}
    pledge = event["data"]["pledge"]
    assert (pledge["amount"], pledge["status"], pledge["backer"]) == (
        2_500,
        "collected",
        "Anonymous",
    )
    assert backer.email not in body.decode()
    # What a receiver does, with nothing but the standard library:
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["BienCommun-Signature"].split(",")
    )
    expected = hmac.new(
        endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, signature)
    assert signature_verify(endpoint.secret, body, headers["BienCommun-Signature"])
    assert not signature_verify(
        endpoint.secret, body.replace(b"2500", b"9999"), headers["BienCommun-Signature"]
    )
    assert not signature_verify("whsec_other", body, headers["BienCommun-Signature"])
    assert headers["BienCommun-Event-Id"] == event["id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_stale_signature_is_refused():
    body = '{"id":"evt_1"}'
    from campaigns.webhooks import signature_header

    header = signature_header("whsec_x", body, 1_000_000)
    assert signature_verify("whsec_x", body, header, now=1_000_100)
    assert not signature_verify("whsec_x", body, header, now=1_000_000 + 301)
    assert not signature_verify("whsec_x", body, "garbage")


def test_failed_attempts_are_retried_and_logged(receiver, run_on_commit):
    project = ProjectFactory()
    endpoint = endpoint_for(project, receiver.url)
    receiver.answers = [500, 503]
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list(
            "number", "status_code", "error"
        )
    ) == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, ""),
    ]
    assert len({json.loads(body)["id"] for _h, body in receiver.received}) == 1


def test_retries_are_bounded(receiver, run_on_commit, settings):
    settings.OUTGOING_WEBHOOKS_MAX_ATTEMPTS = 3
    endpoint = endpoint_for(ProjectFactory(), receiver.url)
    receiver.answers = [500] * 10
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.received) == 3
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert retry_delay(40) == timedelta(hours=6)


def test_a_delivery_is_replayed_with_the_same_event(receiver, run_on_commit):
    endpoint = endpoint_for(ProjectFactory(), receiver.url)
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    replay = run_on_commit(webhook_delivery_replay, delivery=delivery)
    replay.refresh_from_db()
    assert (replay.event_id, replay.body, replay.replay_of_id, replay.status) == (
        delivery.event_id,
        delivery.body,
        delivery.pk,
        "delivered",
    )
    first, second = (json.loads(body)["id"] for _h, body in receiver.received)
    assert first == second == delivery.event_id


def test_a_connection_error_is_logged_and_retried(run_on_commit, settings):
    settings.OUTGOING_WEBHOOKS_MAX_ATTEMPTS = 2
    endpoint = endpoint_for(ProjectFactory(), "http://127.0.0.1:9/closed")
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 2, None)
    assert "ConnectError" in delivery.last_error


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "100.64.0.1",
     "224.0.0.1", "0.0.0.0", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1"],  # noqa: S104
)  # fmt: skip
def test_private_loopback_link_local_multicast_and_reserved_addresses_are_not_public(address):
    assert ip_is_public(ipaddress.ip_address(address)) is False


def test_public_addresses_are_public():
    assert ip_is_public(ipaddress.ip_address("93.184.216.34")) is True
    assert ip_is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")) is True


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook",
     "https://169.254.169.254/latest/meta-data", "http://93.184.216.34/hook",
     "https://user:pw@93.184.216.34/hook", "ftp://example.org/hook"],
)  # fmt: skip
def test_private_or_plain_http_endpoints_are_refused_when_not_allowed(url, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(WebhookEndpointError):
        endpoint_for(ProjectFactory(), url)
    assert WebhookEndpoint.objects.count() == 0


def test_a_public_https_endpoint_is_accepted(settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    endpoint = endpoint_for(ProjectFactory(), "https://93.184.216.34/hook")
    assert endpoint.url == "https://93.184.216.34/hook"
    with pytest.raises(AddressRefusedError):
        address_resolve("127.0.0.1", 443)


def test_an_address_that_turned_private_is_refused_at_delivery(receiver, run_on_commit, settings):
    """DNS is resolved again at delivery: an endpoint that now points inside is never called."""
    endpoint = endpoint_for(ProjectFactory(), receiver.url.replace("127.0.0.1", "localhost"))
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("refused: localhost resolves to a non-public address")
    assert receiver.received == []


def test_a_delivery_already_done_is_not_sent_again(receiver, run_on_commit):
    endpoint = endpoint_for(ProjectFactory(), receiver.url)
    delivery = run_on_commit(webhook_endpoint_ping, endpoint=endpoint)
    webhook_deliver(delivery_id=delivery.pk)  # a duplicate task
    assert len(receiver.received) == 1
