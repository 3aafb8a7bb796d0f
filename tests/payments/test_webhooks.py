"""The webhook pipeline: verify, store once, process in a task, in any order."""

import io
import json
import random
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ledger.models import JournalEntry
from payments import tasks
from payments.enums import PaymentStatus, RefundStatus, WebhookEventStatus
from payments.exceptions import ProviderUnavailableError
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import sandbox as sandbox_module
from payments.providers import sandbox_provider
from payments.providers.sandbox import sandbox_webhook_secret, sign
from payments.services import payment_create, webhook_event_handle
from payments.services.sandbox import sandbox_payment_confirm
from tests.factories import UserFactory

from .books import entries, grants_pool, processor_fees, stripe_cash

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox", "purpose_handlers")]

URL = "/api/v1/payments/webhooks/stripe"


def _event(event_type="customer.created", obj=None, event_id=None):
    return {
        "id": event_id or f"evt_test_{random.randrange(10**12)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj or {"id": "cus_test", "object": "customer"}},
    }


def _post(client, body: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", **headers)


def _signed(event, secret=None, timestamp=None):
    body = json.dumps(event).encode()
    return body, sign(body, secret or sandbox_webhook_secret(), timestamp)


@pytest.fixture
def captured(monkeypatch):
    """The sandbox's events, kept instead of delivered, to deliver them in any order."""
    kept: list[tuple[str, dict]] = []
    monkeypatch.setattr(sandbox_module, "_deliver", kept.extend)
    return kept


def _deliver(client, events, django_capture_on_commit_callbacks):
    """Deliver sandbox events, signed, as the provider would; their tasks run in process."""
    for event_type, obj in events:
        body, signature = _signed(_event(event_type, obj))
        with django_capture_on_commit_callbacks(execute=True):
            assert _post(client, body, signature).status_code == 200


@pytest.mark.parametrize(
    "forgery", ["wrong secret", "tampered body", "no header", "stale timestamp", "not json"]
)
def test_a_forged_event_gets_400_and_writes_nothing(client, forgery):
    event = _event()
    body, signature = _signed(event)
    if forgery == "wrong secret":
        body, signature = _signed(event, secret="whsec_someone_else")
    elif forgery == "tampered body":
        body = body.replace(b"customer.created", b"customer.deleted")
    elif forgery == "no header":
        signature = None
    elif forgery == "stale timestamp":
        body, signature = _signed(event, timestamp=int(time.time()) - 600)
    elif forgery == "not json":
        body = b"not json at all"
        signature = sign(body, sandbox_webhook_secret())
    response = _post(client, body, signature)
    assert response.status_code == 400
    expected = "malformed_event" if forgery == "not json" else "invalid_signature"
    assert response.json()["error"]["code"] == expected
    assert not WebhookEvent.objects.exists()


def test_a_duplicate_answers_200_and_does_nothing_else(client, django_capture_on_commit_callbacks):
    body, signature = _signed(_event(event_id="evt_once"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = _post(client, body, signature)
    assert first.status_code == 200
    assert first.json() == {"received": True, "duplicate": False}
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = _post(client, body, signature)
    assert again.json() == {"received": True, "duplicate": True}
    assert callbacks == []  # nothing scheduled
    event = WebhookEvent.objects.get()
    assert (event.provider_event_id, event.status, event.attempts) == (
        "evt_once",
        WebhookEventStatus.PROCESSED,
        1,
    )
    assert event.outcome == "ignored"


def test_any_delivery_order_settles_a_payment_once(
    client, captured, django_capture_on_commit_callbacks
):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=2000, currency="EUR", idempotency_key="p"
    )
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_provider().payment_intent_confirm_card(
            payment.provider_payment_intent_id,
            number="4242424242424242",
            idempotency_key="browser-confirm",
        )
    # The browser confirmed; this server learns it from the events only.
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    types = [event_type for event_type, _obj in captured]
    assert types == ["charge.succeeded", "payment_intent.succeeded"]
    _deliver(client, list(reversed(captured)), django_capture_on_commit_callbacks)
    _deliver(client, captured, django_capture_on_commit_callbacks)  # new ids: not duplicates
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert [kind for kind, _rev, _legs in entries("payment", payment.pk)] == [
        "donation",
        "processor_fee",
    ]
    assert (stripe_cash(), processor_fees(), grants_pool()) == (1945, 55, 2000)
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.PROCESSED).count() == 4


def test_a_refund_made_at_the_provider_is_booked_whichever_event_comes_first(
    client, captured, django_capture_on_commit_callbacks
):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=2000, currency="EUR", idempotency_key="p"
    )
    payment = sandbox_payment_confirm(payment=payment, number="4242424242424242")
    payment_create(  # other money at Stripe, so the fee Stripe keeps is covered
        purpose="pledge",
        payer=UserFactory(),
        amount=5000,
        currency="EUR",
        idempotency_key="other",
        reference=("campaign", 3),
    )
    captured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # Made at the provider (its dashboard), not through this platform.
        sandbox_provider().refund_create(
            payment_intent_id=payment.provider_payment_intent_id,
            amount=700,
            reason="requested_by_customer",
            metadata={},
            idempotency_key="dashboard-refund",
        )
    assert [event_type for event_type, _obj in captured] == ["refund.created", "charge.refunded"]
    _deliver(client, list(reversed(captured)), django_capture_on_commit_callbacks)
    _deliver(client, captured, django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.is_external) == (700, RefundStatus.SUCCEEDED, True)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 700)
    assert [kind for kind, _rev, _legs in entries("payment", payment.pk)] == [
        "donation",
        "processor_fee",
        "refund",
    ]
    assert grants_pool() == 1300


def test_an_event_for_a_payment_not_known_here_is_parked_then_replayed(
    client, django_capture_on_commit_callbacks
):
    obj = {
        "id": "pi_sb_unknown",
        "object": "payment_intent",
        "metadata": {"bien_commun_payment_id": "987654"},
    }
    body, signature = _signed(_event("payment_intent.succeeded", obj, event_id="evt_parked"))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, body, signature).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.FAILED
    assert event.last_error.startswith("PaymentNotYetKnownError")
    assert JournalEntry.objects.count() == 0
    with pytest.raises(CommandError, match="Some events failed"):
        call_command("payments_webhook_replay", "evt_parked", stdout=io.StringIO())
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEventStatus.FAILED, 2)


def test_an_event_for_a_payment_of_another_platform_is_ignored(
    client, django_capture_on_commit_callbacks
):
    intent = sandbox_provider().payment_intent_create(
        amount=900,
        currency="EUR",
        customer_id="",
        payment_method_id="",
        off_session=False,
        confirm=False,
        description="",
        metadata={},
        idempotency_key="foreign",
    )
    obj = {"id": intent.id, "object": "payment_intent", "metadata": {}}
    body, signature = _signed(_event("payment_intent.succeeded", obj))
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, body, signature)
    event = WebhookEvent.objects.get()
    assert (event.status, event.outcome) == (
        WebhookEventStatus.PROCESSED,
        "ignored: not a payment of this platform",
    )


def test_replaying_a_processed_event_moves_no_money(
    client, captured, django_capture_on_commit_callbacks
):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=2000, currency="EUR", idempotency_key="p"
    )
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_payment_confirm(payment=payment, number="4242424242424242")
    _deliver(client, captured, django_capture_on_commit_callbacks)
    before = JournalEntry.objects.count()
    ids = list(WebhookEvent.objects.values_list("provider_event_id", flat=True))
    out = io.StringIO()
    call_command("payments_webhook_replay", *ids, stdout=out)
    assert out.getvalue().count(": payment ") == len(ids)
    assert JournalEntry.objects.count() == before == 2
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {2}


def test_a_worker_that_died_mid_event_leaves_it_to_another_after_the_lease(client):
    event = WebhookEvent.objects.create(
        provider="sandbox",
        provider_event_id="evt_stuck",
        type="customer.created",
        payload=_event(),
        is_signature_verified=True,
        status=WebhookEventStatus.PROCESSING,
        processing_started_at=timezone.now(),
    )
    assert webhook_event_handle(event_id=event.pk) == "skipped"  # the lease is still alive
    WebhookEvent.objects.filter(pk=event.pk).update(
        processing_started_at=timezone.now() - timedelta(minutes=6)
    )
    assert webhook_event_handle(event_id=event.pk) == "ignored"
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.PROCESSED


def test_a_provider_outage_fails_the_event_with_its_error_and_is_retried(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=2000, currency="EUR", idempotency_key="p"
    )

    def unreachable(self, intent_id):
        raise ProviderUnavailableError("Stripe could not be reached: timed out")

    monkeypatch.setattr(type(sandbox_provider()), "payment_intent_retrieve", unreachable)
    obj = {"id": payment.provider_payment_intent_id, "object": "payment_intent", "metadata": {}}
    body, signature = _signed(_event("payment_intent.succeeded", obj))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, body, signature).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.FAILED
    assert event.last_error == "ProviderUnavailableError: Stripe could not be reached: timed out"

    # Outside eager mode, the task asks Celery for a bounded, growing retry.
    retries = []
    fake = SimpleNamespace(
        name="payments.tasks.webhook_event_process",
        request=SimpleNamespace(is_eager=False, retries=3),
        retry=lambda **kwargs: retries.append(kwargs) or RuntimeError("retry"),
    )
    with pytest.raises(RuntimeError):
        tasks._retry(fake, ProviderUnavailableError("down"))
    assert retries[0]["max_retries"] == 8
    assert 80 <= retries[0]["countdown"] <= 90  # 10 s × 2³, plus up to 10 s of jitter
