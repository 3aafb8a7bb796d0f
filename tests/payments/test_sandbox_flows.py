"""The sandbox runs Stripe's flows with Stripe's test cards, with no keys and no network."""

import pytest
from django.db import transaction

from ledger.models import JournalEntry
from members.models import Membership
from payments.enums import PaymentStatus, SetupStatus
from payments.exceptions import ProviderCallInTransactionError
from payments.models import Payment, PaymentMethodSetup, SandboxObject, SavedPaymentMethod
from payments.providers import sandbox_provider
from payments.services import payment_create
from tests.factories import UserFactory

from .books import books_balance, entries, grants_pool, member_shares, processor_fees, stripe_cash

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox", "purpose_handlers")]

VISA = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
AUTHENTICATE = "4000 0025 0000 3155"
AUTHENTICATE_ALWAYS = "4000 0027 6000 3184"
CHARGE_DECLINED = "4000 0000 0000 0341"


def _buy_shares(client, shares=2):
    response = client.post("/api/v1/membership/shares", {"shares": shares}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _confirm(client, payment_id, **body):
    return client.post(
        f"/api/v1/payments/sandbox/payments/{payment_id}/confirm", body, format="json"
    )


def test_buying_two_shares_with_4242_books_the_charge_and_its_fee(client_as):
    client, user = client_as("supporter")
    payment = _buy_shares(client, shares=2)
    assert payment["amount"] == 10000
    assert payment["status"] == "created"
    assert payment["next_action"] == "confirm"
    assert payment["provider"] == "sandbox"
    assert payment["client_secret"].startswith("pi_sb_")
    assert JournalEntry.objects.count() == 0

    response = _confirm(client, payment["id"], number=VISA)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["fee_amount"] == 175  # 1.5% of 10000 + 25
    assert body["next_action"] is None

    stored = Payment.objects.get(pk=payment["id"])
    cash = "platform:stripe_cash:EUR"
    assert entries("payment", stored.pk) == [
        (
            "share_purchase",
            None,
            sorted(
                [(cash, "debit", 10000), (f"member:{user.pk}:member_shares:EUR", "credit", 10000)]
            ),
        ),
        (
            "processor_fee",
            None,
            sorted([("platform:processor_fees:EUR", "debit", 175), (cash, "credit", 175)]),
        ),
    ]
    assert stripe_cash() == 9825
    assert processor_fees() == 175
    assert member_shares(user) == 10000
    assert books_balance() == {}
    membership = Membership.objects.get(user=user, status="active")
    assert membership.shares == 2
    assert membership.share_price == 5000


def test_a_declined_card_fails_the_payment_and_books_nothing(client_as):
    client, user = client_as("supporter")
    payment = _buy_shares(client)
    body = _confirm(client, payment["id"], number=DECLINED).json()
    assert body["status"] == "failed"
    assert body["failure_code"] == "card_declined"
    assert body["next_action"] == "confirm"  # another card may still complete it
    assert JournalEntry.objects.count() == 0
    assert not Membership.objects.filter(user=user).exists()
    assert stripe_cash() == 0

    # The same payment then succeeds with another card, once.
    assert _confirm(client, payment["id"], number=VISA).json()["status"] == "succeeded"
    assert JournalEntry.objects.count() == 2
    assert stripe_cash() == 9825


def test_3155_requires_authentication_then_succeeds_or_fails(client_as):
    client, _user = client_as("supporter")
    first = _buy_shares(client, shares=1)
    body = _confirm(client, first["id"], number=AUTHENTICATE).json()
    assert body["status"] == "requires_action"
    assert body["next_action"] == "authenticate"
    assert JournalEntry.objects.count() == 0

    response = client.post(
        f"/api/v1/payments/sandbox/payments/{first['id']}/authenticate",
        {"success": True},
        format="json",
    )
    assert response.json()["status"] == "succeeded"
    assert stripe_cash() == 5000 - 100  # fee: 75 + 25

    second = _buy_shares(client, shares=1)
    _confirm(client, second["id"], number=AUTHENTICATE)
    response = client.post(
        f"/api/v1/payments/sandbox/payments/{second['id']}/authenticate",
        {"success": False},
        format="json",
    )
    body = response.json()
    assert body["status"] == "failed"
    assert body["failure_code"] == "payment_intent_authentication_failure"
    assert JournalEntry.objects.filter(reference_id=second["id"]).count() == 0


def test_a_saved_card_is_charged_off_session(client_as):
    client, user = client_as("supporter")
    start = client.post("/api/v1/payments/methods/setup", format="json").json()
    assert start["provider"] == "sandbox"
    assert start["publishable_key"] == "pk_sandbox"
    response = client.post(
        f"/api/v1/payments/sandbox/setups/{start['setup_intent_id']}/confirm",
        {"number": VISA, "exp_month": 12, "exp_year": 2034},
        format="json",
    )
    assert response.status_code == 200, response.content
    setup = response.json()
    assert setup["status"] == "succeeded"
    assert setup["saved_method"]["brand"] == "visa"
    assert setup["saved_method"]["last4"] == "4242"
    methods = client.get("/api/v1/payments/methods").json()["results"]
    assert [m["last4"] for m in methods] == ["4242"]

    method = SavedPaymentMethod.objects.get(user=user)
    payment = payment_create(
        purpose="donation",
        payer=user,
        amount=2000,
        currency="EUR",
        idempotency_key="donation-1",
        payment_method=method,
        off_session=True,
    )
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.fee_amount == 55  # 30 + 25
    assert stripe_cash() == 1945
    assert grants_pool() == 2000
    assert processor_fees() == 55


def test_a_declined_card_is_not_saved(client_as):
    client, user = client_as("supporter")
    start = client.post("/api/v1/payments/methods/setup", format="json").json()
    response = client.post(
        f"/api/v1/payments/sandbox/setups/{start['setup_intent_id']}/confirm",
        {"number": DECLINED},
        format="json",
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "card_declined"
    assert not SavedPaymentMethod.objects.filter(user=user).exists()
    assert PaymentMethodSetup.objects.get(user=user).status == SetupStatus.FAILED


def test_a_card_set_up_with_authentication_is_charged_off_session_without_a_challenge(client_as):
    client, user = client_as("supporter")
    start = client.post("/api/v1/payments/methods/setup", format="json").json()
    url = f"/api/v1/payments/sandbox/setups/{start['setup_intent_id']}"
    assert (
        client.post(f"{url}/confirm", {"number": AUTHENTICATE}, format="json").json()["status"]
        == "requires_action"
    )
    assert not SavedPaymentMethod.objects.filter(user=user).exists()
    assert (
        client.post(f"{url}/authenticate", {"success": True}, format="json").json()["status"]
        == "succeeded"
    )
    payment = payment_create(
        purpose="donation",
        payer=user,
        amount=1000,
        currency="EUR",
        idempotency_key="off-session-3155",
        payment_method=SavedPaymentMethod.objects.get(user=user),
        off_session=True,
    )
    assert payment.status == PaymentStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("card", "code"),
    [(AUTHENTICATE_ALWAYS, "authentication_required"), (CHARGE_DECLINED, "card_declined")],
)
def test_off_session_charges_that_fail_book_nothing(client_as, purpose_handlers, card, code):
    client, user = client_as("supporter")
    start = client.post("/api/v1/payments/methods/setup", format="json").json()
    url = f"/api/v1/payments/sandbox/setups/{start['setup_intent_id']}"
    client.post(f"{url}/confirm", {"number": card}, format="json")
    if card == AUTHENTICATE_ALWAYS:
        client.post(f"{url}/authenticate", {"success": True}, format="json")
    payment = payment_create(
        purpose="donation",
        payer=user,
        amount=1000,
        currency="EUR",
        idempotency_key=f"off-session-{card}",
        payment_method=SavedPaymentMethod.objects.get(user=user),
        off_session=True,
    )
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == code
    assert payment.provider_payment_intent_id.startswith("pi_sb_")
    assert JournalEntry.objects.count() == 0
    assert purpose_handlers == [("failed", payment.pk)]


def test_the_same_idempotency_key_gives_the_same_payment_and_one_intent():
    user = UserFactory()
    first = payment_create(
        purpose="donation", payer=user, amount=1500, currency="EUR", idempotency_key="k"
    )
    again = payment_create(
        purpose="donation", payer=user, amount=1500, currency="EUR", idempotency_key="k"
    )
    assert again.pk == first.pk
    assert SandboxObject.objects.filter(kind="payment_intent").count() == 1


def test_the_same_key_for_another_amount_is_refused_and_writes_nothing(client_as):
    user = UserFactory()
    payment_create(purpose="donation", payer=user, amount=1500, currency="EUR", idempotency_key="k")
    from payments.exceptions import PaymentIdempotencyError

    with pytest.raises(PaymentIdempotencyError):
        payment_create(
            purpose="donation", payer=user, amount=1600, currency="EUR", idempotency_key="k"
        )
    assert Payment.objects.count() == 1


def test_only_test_cards_are_accepted(client_as):
    client, _user = client_as("supporter")
    payment = _buy_shares(client, shares=1)
    response = _confirm(client, payment["id"], number="4970 1000 0000 0000")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sandbox_test_cards_only"
    assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.CREATED


def test_the_sandbox_endpoints_do_not_exist_with_stripe(client_as, settings):
    client, _user = client_as("supporter")
    payment = _buy_shares(client, shares=1)
    settings.PAYMENTS_PROVIDER = "stripe"
    response = _confirm(client, payment["id"], number=VISA)
    assert response.status_code == 404
    assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.CREATED


def test_no_provider_call_runs_inside_a_transaction():
    provider = sandbox_provider()
    with transaction.atomic(), pytest.raises(ProviderCallInTransactionError):
        provider.customer_create(email="a@example.org", name="A", metadata={}, idempotency_key="c")
    assert not SandboxObject.objects.exists()


def test_someone_elses_payment_cannot_be_confirmed(client_as):
    client, _owner = client_as("supporter")
    payment = _buy_shares(client, shares=1)
    other, _user = client_as("supporter")
    response = _confirm(other, payment["id"], number=VISA)
    assert response.status_code == 404
    assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.CREATED
