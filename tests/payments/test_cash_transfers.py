"""The platform's cash between Stripe and the bank: a manual payout leaves from the bank, and the
bank is filled by Stripe's payouts, recorded from their webhook or by the treasurer."""

import json
import random
import time

import pytest

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import JournalEntry
from ledger.services import fund_account
from payments.enums import DisbursementStatus
from payments.models import WebhookEvent
from payments.providers.sandbox import sandbox_webhook_secret, sign
from payments.services import disbursement_request, payment_create, payments_reconcile
from payments.services.sandbox import sandbox_payment_confirm
from tests.factories import UserFactory

from .books import bank_cash, books_balance, grants_pool, grants_pool_given, stripe_cash
from .factories import PayeeAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox", "purpose_handlers")]

URL = "/api/v1/payments/cash-transfers"


def _cash_legs(entry):
    return sorted(
        (p.account.code, p.side, p.amount) for p in entry.postings.select_related("account")
    )


def test_a_bank_payout_waits_for_the_stripe_payout_that_fills_the_bank(
    client_as, django_capture_on_commit_callbacks
):
    grants_pool_given(AccountPurpose.STRIPE_CASH)
    lead = UserFactory()
    disbursement = disbursement_request(
        payee=PayeeAccountFactory(user=lead),  # a bank account: paid by manual transfer
        amount=12_000,
        currency="EUR",
        source_account=fund_account(AccountPurpose.GRANTS_POOL, "EUR"),
        purpose="grant",
        requested_by=lead,
        idempotency_key="grant-1",
    )
    client, _treasurer = client_as("treasurer")
    approve = f"/api/v1/payments/disbursements/{disbursement.pk}/approve"

    # All the money is still at Stripe: approving now would send a transfer the bank cannot make.
    response = client.post(approve)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "bank_cash_short"
    disbursement.refresh_from_db()
    assert disbursement.status == DisbursementStatus.REQUESTED
    assert JournalEntry.objects.count() == 1

    # Stripe pays 20,000 out to the bank; the treasurer records it.
    response = client.post(
        URL,
        {"direction": "to_bank", "amount": 20_000, "reference": "po_1QxYz"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["stripe_cash"], body["bank_cash"]) == (30_000, 20_000)
    entry = JournalEntry.objects.get(pk=body["entry"])
    assert entry.kind == EntryKind.TRANSFER
    assert _cash_legs(entry) == [
        ("platform:bank_cash:EUR", "debit", 20_000),
        ("platform:stripe_cash:EUR", "credit", 20_000),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(approve).status_code == 200
    response = client.post(
        f"/api/v1/payments/disbursements/{disbursement.pk}/mark-paid",
        {"bank_reference": "VIR-2026-0107"},
        format="json",
    )
    assert response.json()["status"] == "paid"
    assert (grants_pool(), stripe_cash(), bank_cash()) == (38_000, 30_000, 8_000)
    assert books_balance() == {}


def test_a_recorded_transfer_is_booked_once_and_bad_ones_write_nothing(client_as):
    grants_pool_given(AccountPurpose.STRIPE_CASH, 10_000)
    client, _treasurer = client_as("treasurer")
    move = {"direction": "to_bank", "amount": 4_000, "reference": "po_once"}
    first = client.post(URL, move, format="json")
    again = client.post(URL, move, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert (stripe_cash(), bank_cash()) == (6_000, 4_000)
    entries = JournalEntry.objects.count()

    refused = [
        ({**move, "amount": 5_000}, 409, "idempotency_conflict"),  # same reference, other sum
        ({**move, "reference": "po_big", "amount": 6_001}, 409, "insufficient_funds"),
        ({**move, "reference": "po_x", "direction": "sideways"}, 400, "validation_error"),
        ({**move, "reference": "po_x", "amount": -5}, 400, "validation_error"),
        ({**move, "reference": "po_x", "amount": "100"}, 400, "validation_error"),
        ({**move, "reference": "po_x", "currency": "XXX"}, 400, "validation_error"),
        ({**move, "reference": "po_x", "bank": "mine"}, 400, "validation_error"),
        ({**move, "reference": "   "}, 400, "validation_error"),
    ]
    for body, status, code in refused:
        response = client.post(URL, body, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert JournalEntry.objects.count() == entries
    assert (stripe_cash(), bank_cash()) == (6_000, 4_000)

    # The way back: the bank tops the Stripe balance up.
    response = client.post(
        URL, {"direction": "to_stripe", "amount": 1_500, "reference": "top-1"}, format="json"
    )
    assert response.status_code == 201
    assert (stripe_cash(), bank_cash()) == (7_500, 2_500)


def _payout_event(event_type, payout_id, amount, **extra):
    event = {
        "id": f"evt_{random.randrange(10**12)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": payout_id,
                "object": "payout",
                "amount": amount,
                "currency": "eur",
                "status": event_type.split(".")[1],
            }
        },
        **extra,
    }
    body = json.dumps(event).encode()
    return body, sign(body, sandbox_webhook_secret())


def _deliver(client, event, django_capture_on_commit_callbacks):
    body, signature = event
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/payments/webhooks/stripe",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
    assert response.status_code == 200


def test_stripe_payouts_to_the_bank_are_booked_from_their_webhook_once(
    client, client_as, django_capture_on_commit_callbacks
):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=10_000, currency="EUR", idempotency_key="p"
    )
    sandbox_payment_confirm(payment=payment, number="4242424242424242")
    assert stripe_cash() == 9_825  # the fee is 1.5 % + 25
    paid = _payout_event("payout.paid", "po_paid", 7_000)
    _deliver(client, paid, django_capture_on_commit_callbacks)
    _deliver(client, paid, django_capture_on_commit_callbacks)  # delivered twice
    assert (stripe_cash(), bank_cash()) == (2_825, 7_000)

    # The treasurer records the same payout from the bank statement: nothing more is booked.
    treasurer_client, _treasurer = client_as("treasurer")
    response = treasurer_client.post(
        URL, {"direction": "to_bank", "amount": 7_000, "reference": "po_paid"}, format="json"
    )
    assert response.status_code == 200
    assert (stripe_cash(), bank_cash()) == (2_825, 7_000)

    # A payout to a connected account is the payee's money, not the platform's.
    _deliver(
        client,
        _payout_event("payout.paid", "po_theirs", 2_000, account="acct_123"),
        django_capture_on_commit_callbacks,
    )
    assert (stripe_cash(), bank_cash()) == (2_825, 7_000)
    outcomes = set(WebhookEvent.objects.values_list("outcome", flat=True))
    assert "ignored: a connected account's payout" in outcomes
    assert any(outcome.startswith("payout po_paid booked as entry") for outcome in outcomes)

    # The daily reconciliation sets the provider's balance, payouts excepted, against the books'
    # cash at Stripe with the payouts they booked added back.
    report = payments_reconcile(everything=True)
    assert report.differences == []
    assert report.ledger_cash == {"EUR": 9_825}


@pytest.mark.parametrize("order", ["paid first", "failed first"])
def test_a_failed_stripe_payout_nets_to_zero_whichever_event_comes_first(
    client, django_capture_on_commit_callbacks, order
):
    grants_pool_given(AccountPurpose.STRIPE_CASH, 10_000)
    events = [
        _payout_event("payout.paid", "po_bounce", 2_500),
        _payout_event("payout.failed", "po_bounce", 2_500),
    ]
    if order == "failed first":
        events.reverse()
    for event in events:
        _deliver(client, event, django_capture_on_commit_callbacks)
    assert (stripe_cash(), bank_cash()) == (10_000, 0)
    kinds = list(
        JournalEntry.objects.filter(kind__in=[EntryKind.TRANSFER, EntryKind.REVERSAL])
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [EntryKind.TRANSFER, EntryKind.REVERSAL]
    assert books_balance() == {}
