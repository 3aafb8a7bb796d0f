"""The payments API: each person sees their own; the treasurer and auditors see everything."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members.payment_handlers import membership_shares_purchase
from payments.models import Payment, Refund, WebhookEvent
from payments.services.sandbox import sandbox_payment_confirm
from payments.tasks import payments_sweep
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def test_a_payer_sees_their_own_payments_only(client_as):
    client, user = client_as("supporter")
    mine = membership_shares_purchase(user=user, shares=1, idempotency_key="mine")
    sandbox_payment_confirm(payment=mine, number="4242424242424242")
    theirs = membership_shares_purchase(user=UserFactory(), shares=1, idempotency_key="theirs")
    listed = client.get("/api/v1/payments/mine").json()["results"]
    assert [p["id"] for p in listed] == [mine.pk]
    assert listed[0]["status"] == "succeeded"
    assert "client_secret" not in listed[0]
    assert client.get("/api/v1/payments/mine?status=failed").json()["results"] == []
    assert client.get(f"/api/v1/payments/mine/{theirs.pk}").status_code == 404
    detail = client.get(f"/api/v1/payments/mine/{mine.pk}").json()
    assert detail["client_secret"] == mine.client_secret
    assert client.get("/api/v1/payments/mine?status=lost").status_code == 400
    assert client.get("/api/v1/payments/mine?page_size=zero").status_code == 400


def test_the_same_purchase_key_gives_the_same_payment(client_as):
    client, _user = client_as("supporter")
    body = {"shares": 2, "idempotency_key": "my-first-shares"}
    first = client.post("/api/v1/membership/shares", body, format="json").json()
    again = client.post("/api/v1/membership/shares", body, format="json").json()
    assert again["id"] == first["id"]
    conflict = client.post("/api/v1/membership/shares", {**body, "shares": 3}, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert Payment.objects.count() == 1


def test_a_token_needs_the_right_scope(token_client):
    client, _user, _raw = token_client(["read:profile"])
    assert client.get("/api/v1/payments/mine").status_code == 403
    client, _user, _raw = token_client(["read:funds"])
    assert client.get("/api/v1/payments/mine").status_code == 200
    assert client.post("/api/v1/payments/methods/setup").status_code == 403


def test_the_treasurer_refunds_and_auditors_read(client_as):
    payment = membership_shares_purchase(user=UserFactory(), shares=2, idempotency_key="s")
    payment = sandbox_payment_confirm(payment=payment, number="4242424242424242")
    treasurer, _t = client_as("treasurer")
    response = treasurer.post(
        f"/api/v1/payments/{payment.pk}/refunds",
        {"amount": 5000, "idempotency_key": "one-share", "memo": "Bought twice by mistake"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["amount"], response.json()["status"]) == (5000, "succeeded")
    too_much = treasurer.post(
        f"/api/v1/payments/{payment.pk}/refunds",
        {"amount": 5001, "idempotency_key": "too-much"},
        format="json",
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_not_allowed"
    assert Refund.objects.count() == 1

    auditor, _a = client_as("auditor")
    payments = auditor.get("/api/v1/payments").json()["results"]
    assert [(p["id"], p["status"], p["amount_refunded"]) for p in payments] == [
        (payment.pk, "partially_refunded", 5000)
    ]
    assert payments[0]["idempotency_key"] == payment.idempotency_key
    assert [r["amount"] for r in auditor.get("/api/v1/payments/refunds").json()["results"]] == [
        5000
    ]
    assert (
        auditor.post(
            f"/api/v1/payments/{payment.pk}/refunds", {"idempotency_key": "x"}, format="json"
        ).status_code
        == 403
    )


def test_the_sweeper_publishes_stalled_work_again(django_capture_on_commit_callbacks):
    event = WebhookEvent.objects.create(
        provider="sandbox",
        provider_event_id="evt_stalled",
        type="customer.created",
        payload={"id": "evt_stalled", "type": "customer.created", "data": {"object": {}}},
        is_signature_verified=True,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=3)
    )
    result = payments_sweep.delay().get()
    assert result == {"events": 1, "disbursements": 0, "refunds": 0}
    event.refresh_from_db()
    assert (event.status, event.outcome) == ("processed", "ignored")


def test_my_data_export_has_my_payments_and_cards_but_no_card_number(client_as):
    client, user = client_as("supporter")
    payment = membership_shares_purchase(user=user, shares=1, idempotency_key="export")
    sandbox_payment_confirm(payment=payment, number="4242424242424242")
    response = client.get("/api/v1/me/export")
    assert response.status_code == 200
    data = response.json()
    assert [(p["id"], p["amount"], p["status"]) for p in data["payments"]] == [
        (payment.pk, 5000, "succeeded")
    ]
    assert "4242424242424242" not in response.content.decode()
