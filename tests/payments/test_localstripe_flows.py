"""The Stripe provider, through the seam, with the real SDK against the localstripe emulator."""

import contextlib

import pytest
import stripe

from ledger.models import JournalEntry
from payments import gateway
from payments.enums import OnboardingStatus, PaymentStatus, RefundStatus, SetupStatus
from payments.exceptions import ProviderIdempotencyError
from payments.models import SavedPaymentMethod
from payments.providers import get_provider
from payments.providers.base import provider_key
from payments.services import (
    payee_account_connect_start,
    payee_account_sync,
    payment_create,
    payment_method_detach,
    payment_method_setup_complete,
    payment_method_setup_start,
    payment_refund,
    payment_sync,
)
from tests.factories import UserFactory

from .books import grants_pool, processor_fees, stripe_cash

pytest_plugins = ["tests.support.localstripe_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_provider", "purpose_handlers")]


def _saved(user, test_method="pm_card_visa"):
    start = payment_method_setup_start(user=user)
    assert start.provider == "stripe"
    assert start.client_secret.startswith(start.setup_intent_id)
    assert start.publishable_key == "pk_test_localstripe"
    # What Stripe.js does in the browser with the card the person typed.
    gateway.client().v1.setup_intents.confirm(
        start.setup_intent_id, params={"payment_method": test_method}
    )
    return payment_method_setup_complete(user=user, setup_intent_id=start.setup_intent_id)


def _browser_pays(payment, test_method):
    """Stripe.js confirming a PaymentIntent with the card typed in the page."""
    api = gateway.client().v1.payment_intents
    api.update(payment.provider_payment_intent_id, params={"payment_method": test_method})
    with contextlib.suppress(stripe.CardError):
        api.confirm(payment.provider_payment_intent_id)


def test_a_card_saved_with_4242_is_charged_off_session():
    user = UserFactory()
    setup = _saved(user)
    assert setup.status == SetupStatus.SUCCEEDED
    method = setup.saved_method
    assert (method.brand, method.last4) == ("visa", "4242")
    payment = payment_create(
        purpose="donation",
        payer=user,
        amount=4000,
        currency="EUR",
        idempotency_key="off-session",
        payment_method=method,
        off_session=True,
    )
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.provider_charge_id.startswith("ch_")
    assert payment.fee_amount == 85  # 60 + 25
    assert (stripe_cash(), processor_fees(), grants_pool()) == (3915, 85, 4000)
    intent = gateway.client().v1.payment_intents.retrieve(payment.provider_payment_intent_id)
    assert intent.metadata["bien_commun_payment_id"] == str(payment.pk)
    assert intent.customer == payment.provider_customer_id


def test_0002_is_declined_and_books_nothing():
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=1500, currency="EUR", idempotency_key="d"
    )
    assert payment.status == PaymentStatus.CREATED
    _browser_pays(payment, "pm_card_visa_chargeDeclined")
    payment = payment_sync(payment=payment)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert JournalEntry.objects.count() == 0


def test_a_card_declined_when_saved_is_not_saved():
    user = UserFactory()
    start = payment_method_setup_start(user=user)
    with pytest.raises(stripe.CardError):
        gateway.client().v1.setup_intents.confirm(
            start.setup_intent_id, params={"payment_method": "pm_card_visa_chargeDeclined"}
        )
    setup = payment_method_setup_complete(user=user, setup_intent_id=start.setup_intent_id)
    assert setup.status == SetupStatus.FAILED
    assert setup.failure_code == "card_declined"
    assert not SavedPaymentMethod.objects.filter(user=user).exists()


def test_3155_requires_action_then_succeeds_once_authenticated(localstripe):
    payment = payment_create(
        purpose="donation", payer=UserFactory(), amount=2000, currency="EUR", idempotency_key="3ds"
    )
    _browser_pays(payment, "pm_card_authenticationRequiredOnSetup")
    payment = payment_sync(payment=payment)
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert JournalEntry.objects.count() == 0
    localstripe.authenticate_payment_intent(
        payment.provider_payment_intent_id, payment.client_secret, success=True
    )
    payment = payment_sync(payment=payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert stripe_cash() == 2000 - 55


def test_an_off_session_charge_needing_authentication_fails():
    user = UserFactory()
    method = SavedPaymentMethod.objects.create(
        user=user,
        provider="stripe",
        provider_payment_method_id=gateway.client()
        .v1.payment_methods.retrieve("pm_card_authenticationRequired")
        .id,
        brand="visa",
        last4="3184",
    )
    payment = payment_create(
        purpose="donation",
        payer=user,
        amount=2000,
        currency="EUR",
        idempotency_key="needs-auth",
        payment_method=method,
        off_session=True,
    )
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "authentication_required"
    assert payment.provider_payment_intent_id
    assert JournalEntry.objects.count() == 0


def test_refunds_partial_and_full_match_the_provider():
    donor, backer = UserFactory(), UserFactory()
    payment_create(  # other money at Stripe: the fee Stripe keeps is the platform's cost
        purpose="pledge",
        payer=backer,
        amount=10000,
        currency="EUR",
        reference=("campaign", 4),
        idempotency_key="cover",
        payment_method=_saved(backer).saved_method,
        off_session=True,
    )
    payment = payment_create(
        purpose="donation",
        payer=donor,
        amount=3000,
        currency="EUR",
        idempotency_key="to-refund",
        payment_method=_saved(donor).saved_method,
        off_session=True,
    )
    first = payment_refund(payment=payment, amount=1000, idempotency_key="r1")
    assert first.status == RefundStatus.SUCCEEDED
    assert first.provider_refund_id.startswith("re_")
    # Asking again with the same key refunds nothing more.
    assert payment_refund(payment=payment, amount=1000, idempotency_key="r1").pk == first.pk
    rest = payment_refund(payment=payment, idempotency_key="r2")
    assert rest.amount == 2000
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 3000)
    charge = gateway.client().v1.charges.retrieve(payment.provider_charge_id)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    refunds = gateway.client().v1.refunds.list(
        params={"payment_intent": payment.provider_payment_intent_id}
    )
    assert sorted(r.amount for r in refunds.data) == [1000, 2000]
    assert grants_pool() == 0


def test_connect_account_onboarding_link_and_transfer(localstripe):
    lead = UserFactory()
    payee, link = payee_account_connect_start(
        owner_type="person",
        owner_id=lead.pk,
        user=lead,
        return_url="http://127.0.0.1:8000/payouts/done",
        refresh_url="http://127.0.0.1:8000/payouts/again",
    )
    assert payee.connect_account_id.startswith("acct_")
    assert payee.onboarding_status == OnboardingStatus.PENDING
    assert "/_config/connect/onboarding/" in link.url
    assert payee_account_sync(payee=payee).payouts_enabled is False
    localstripe.complete_onboarding(payee.connect_account_id)
    payee = payee_account_sync(payee=payee)
    assert (payee.payouts_enabled, payee.onboarding_status) == (True, OnboardingStatus.COMPLETE)
    # A second start reuses the account and gives a fresh link.
    again, second_link = payee_account_connect_start(
        owner_type="person",
        owner_id=lead.pk,
        user=lead,
        return_url="http://127.0.0.1:8000/payouts/done",
        refresh_url="http://127.0.0.1:8000/payouts/again",
    )
    assert again.connect_account_id == payee.connect_account_id
    assert second_link.url != link.url


def test_a_transfer_sent_again_with_its_key_is_the_same_transfer(localstripe):
    provider = get_provider()
    account = provider.connect_account_create(
        email="lead@example.org", country="FR", metadata={}, idempotency_key=provider_key("acct")
    )
    localstripe.complete_onboarding(account.id)
    key = provider_key("disbursement", 77)
    send = {
        "amount": 1200,
        "currency": "EUR",
        "destination": account.id,
        "transfer_group": key,
        "description": "",
        "metadata": {"bien_commun_disbursement_id": "77"},
        "idempotency_key": key,
    }
    first = provider.transfer_create(**send)
    again = provider.transfer_create(**send)
    assert again.id == first.id
    assert [t.id for t in provider.transfers_of_group(key)] == [first.id]
    with pytest.raises(ProviderIdempotencyError):
        provider.transfer_create(**{**send, "amount": 1300})
    assert [t.id for t in provider.transfers_of_group(key)] == [first.id]


def test_a_detached_card_is_forgotten_here_and_at_stripe():
    user = UserFactory()
    method = _saved(user).saved_method
    payment_method_detach(user=user, method=method)
    method.refresh_from_db()
    assert method.detached_at is not None
    assert (
        gateway.client().v1.payment_methods.retrieve(method.provider_payment_method_id).customer
        is None
    )
