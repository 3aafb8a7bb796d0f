"""Worked examples, checked entry by entry with exact balances (the figures of docs/payments.md).

Fees are 1.5% (rounded half up) + 25 cents, in the sandbox and in the emulator alike. Each
example runs with the sandbox; the ones that involve Stripe Connect or refunds also run against
the localstripe emulator with the real SDK.
"""

import pytest

from ledger.services import campaign_escrow_account
from members.models import Membership
from members.payment_handlers import membership_shares_purchase
from payments.enums import DisbursementStatus, PaymentStatus, RefundStatus
from payments.models import Payment, SavedPaymentMethod
from payments.providers import get_provider
from payments.services import (
    disbursement_approve,
    disbursement_request,
    disbursement_send,
    payee_account_connect_start,
    payee_account_sync,
    payment_create,
    payment_method_setup_complete,
    payment_method_setup_start,
    payment_refund,
    payment_sync,
)
from payments.services.disbursements import transfer_group
from payments.services.sandbox import sandbox_onboarding_complete, sandbox_payment_confirm
from tests.factories import RoleGrantFactory, UserFactory

from .books import (
    books_balance,
    entries,
    escrow,
    grants_pool,
    member_shares,
    processor_fees,
    stripe_cash,
)

pytest_plugins = ["tests.support.localstripe_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("purpose_handlers")]

CASH = "platform:stripe_cash:EUR"
FEES = "platform:processor_fees:EUR"
POOL = "fund:grants_pool:EUR"
CAMPAIGN = 7


@pytest.fixture(params=["sandbox", "localstripe"])
def provider(request):
    if request.param == "sandbox":
        request.getfixturevalue("sandbox")
    else:
        request.getfixturevalue("stripe_provider")
    return request.param


def _saved_card(user, provider):
    """A card saved through a SetupIntent: 4242, confirmed as Stripe.js would."""
    start = payment_method_setup_start(user=user)
    if provider == "sandbox":
        from payments.services.sandbox import sandbox_setup_confirm

        sandbox_setup_confirm(
            user=user,
            setup_intent_id=start.setup_intent_id,
            number="4242424242424242",
            exp_month=12,
            exp_year=2034,
        )
    else:
        from payments import gateway

        gateway.client().v1.setup_intents.confirm(
            start.setup_intent_id, params={"payment_method": "pm_card_visa"}
        )
        payment_method_setup_complete(user=user, setup_intent_id=start.setup_intent_id)
    return SavedPaymentMethod.objects.get(user=user, detached_at=None)


def _charge(user, provider, *, purpose, amount, key, reference=None):
    return payment_create(
        purpose=purpose,
        payer=user,
        amount=amount,
        currency="EUR",
        reference=reference,
        idempotency_key=key,
        payment_method=_saved_card(user, provider),
        off_session=True,
    )


def test_example_1_a_share_purchase(provider):
    """2 shares × 50.00 = 100.00; fee 1.50 + 0.25 = 1.75. The payer confirms in the browser."""
    member = UserFactory()
    payment = membership_shares_purchase(user=member, shares=2, idempotency_key="ex1")
    assert (payment.amount, payment.status) == (10000, PaymentStatus.CREATED)
    if provider == "sandbox":
        payment = sandbox_payment_confirm(payment=payment, number="4242424242424242")
    else:  # Stripe.js confirms with the card typed in the page; the server reads it back
        from payments import gateway

        intents = gateway.client().v1.payment_intents
        intents.update(
            payment.provider_payment_intent_id, params={"payment_method": "pm_card_visa"}
        )
        intents.confirm(payment.provider_payment_intent_id)
        payment = payment_sync(payment=payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    shares = f"member:{member.pk}:member_shares:EUR"
    assert entries("payment", payment.pk) == [
        ("share_purchase", None, [(shares, "credit", 10000), (CASH, "debit", 10000)]),
        ("processor_fee", None, [(FEES, "debit", 175), (CASH, "credit", 175)]),
    ]
    assert (stripe_cash(), processor_fees(), member_shares(member)) == (9825, 175, 10000)
    assert Membership.objects.get(user=member, status="active").shares == 2
    assert books_balance() == {}


def test_example_2_a_charge_with_its_fee(provider):
    """A donation of 20.00 charged to a saved card: fee 0.30 + 0.25 = 0.55."""
    donor = UserFactory()
    payment = _charge(donor, provider, purpose="donation", amount=2000, key="ex2")
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.fee_amount == 55
    assert entries("payment", payment.pk) == [
        ("donation", None, [(POOL, "credit", 2000), (CASH, "debit", 2000)]),
        ("processor_fee", None, [(FEES, "debit", 55), (CASH, "credit", 55)]),
    ]
    assert (stripe_cash(), processor_fees(), grants_pool()) == (1945, 55, 2000)
    assert books_balance() == {}


def test_example_3_a_partial_refund_then_the_rest(provider):
    """A pledge of 100.00 is already at Stripe (9825 net); a donation of 20.00 (1945 net) is
    refunded 5.00, then the other 15.00. Stripe keeps its fee, so the platform bears the 0.55."""
    backer, donor = UserFactory(), UserFactory()
    _charge(
        backer,
        provider,
        purpose="pledge",
        amount=10000,
        key="ex3-pledge",
        reference=("campaign", 9),
    )
    payment = _charge(donor, provider, purpose="donation", amount=2000, key="ex3")
    assert (stripe_cash(), processor_fees(), grants_pool()) == (9825 + 1945, 175 + 55, 2000)
    charge_entry = payment.charge_entry_id

    first = payment_refund(payment=payment, amount=500, idempotency_key="ex3-r1")
    assert first.status == RefundStatus.SUCCEEDED
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 500)
    assert (stripe_cash(), grants_pool(), processor_fees()) == (11270, 1500, 230)

    second = payment_refund(payment=payment, idempotency_key="ex3-r2")  # the rest
    assert (second.status, second.amount) == (RefundStatus.SUCCEEDED, 1500)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 2000)
    assert entries("payment", payment.pk) == [
        ("donation", None, [(POOL, "credit", 2000), (CASH, "debit", 2000)]),
        ("processor_fee", None, [(FEES, "debit", 55), (CASH, "credit", 55)]),
        ("refund", charge_entry, [(POOL, "debit", 500), (CASH, "credit", 500)]),
        ("refund", charge_entry, [(POOL, "debit", 1500), (CASH, "credit", 1500)]),
    ]
    assert (stripe_cash(), grants_pool(), processor_fees(), escrow(9)) == (9770, 0, 230, 10000)
    assert books_balance() == {}

    # Nothing more can be refunded, and asking writes nothing.
    from payments.exceptions import RefundNotAllowedError

    with pytest.raises(RefundNotAllowedError):
        payment_refund(payment=payment, amount=1, idempotency_key="ex3-r3")
    assert len(entries("payment", payment.pk)) == 4


def _onboarded_payee(lead, provider, server=None):
    payee, link = payee_account_connect_start(
        owner_type="person",
        owner_id=lead.pk,
        user=lead,
        return_url="http://127.0.0.1:8000/payouts/done",
        refresh_url="http://127.0.0.1:8000/payouts/again",
    )
    if provider == "sandbox":
        token = link.url.rstrip("/").rsplit("/", 1)[1]
        assert sandbox_onboarding_complete(token=token) == "http://127.0.0.1:8000/payouts/done"
    else:
        server.complete_onboarding(payee.connect_account_id)
    return payee_account_sync(payee=payee)


def _pledged_campaign(provider):
    backer = UserFactory()
    payment = _charge(
        backer,
        provider,
        purpose="pledge",
        amount=30000,
        key="ex4-pledge",
        reference=("campaign", CAMPAIGN),
    )
    assert payment.fee_amount == 475  # 450 + 25
    assert (stripe_cash(), escrow(CAMPAIGN)) == (29525, 30000)
    return payment


def test_example_4_a_disbursement(provider, request):
    """A campaign collected 300.00 (fee 4.75); a milestone tranche of 200.00 goes to its lead."""
    server = request.getfixturevalue("localstripe") if provider == "localstripe" else None
    _pledged_campaign(provider)
    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    payee = _onboarded_payee(lead, provider, server)
    assert payee.payouts_enabled is True
    disbursement = disbursement_request(
        payee=payee,
        amount=20000,
        currency="EUR",
        source_account=campaign_escrow_account(CAMPAIGN, "EUR"),
        purpose="milestone_tranche",
        requested_by=lead,
        idempotency_key="ex4",
        reference=("milestone", 1),
    )
    disbursement = disbursement_approve(disbursement=disbursement, actor=treasurer)
    assert disbursement.status == DisbursementStatus.APPROVED
    disbursement = disbursement_send(disbursement_id=disbursement.pk)
    assert disbursement.status == DisbursementStatus.PAID
    assert disbursement.provider_transfer_id
    escrow_code = f"campaign:{CAMPAIGN}:campaign_escrow:EUR"
    assert entries("disbursement", disbursement.pk) == [
        ("disbursement", None, [(escrow_code, "debit", 20000), (CASH, "credit", 20000)]),
    ]
    assert (stripe_cash(), escrow(CAMPAIGN), processor_fees()) == (9525, 10000, 475)
    assert books_balance() == {}
    transfer = get_provider().transfer_retrieve(disbursement.provider_transfer_id)
    assert (transfer.amount, transfer.destination) == (20000, payee.connect_account_id)

    # Sending again (a redelivered task) changes nothing and makes no second transfer.
    assert disbursement_send(disbursement_id=disbursement.pk).status == DisbursementStatus.PAID
    assert len(get_provider().transfers_of_group(transfer_group(disbursement.pk))) == 1
    assert len(entries("disbursement", disbursement.pk)) == 1


def test_example_5_a_failed_disbursement(provider):
    """The payee never finished onboarding: the transfer is refused and the entry reversed."""
    _pledged_campaign(provider)
    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    payee, _link = payee_account_connect_start(
        owner_type="person",
        owner_id=lead.pk,
        user=lead,
        return_url="http://127.0.0.1:8000/payouts/done",
        refresh_url="http://127.0.0.1:8000/payouts/again",
    )
    disbursement = disbursement_request(
        payee=payee,
        amount=20000,
        currency="EUR",
        source_account=campaign_escrow_account(CAMPAIGN, "EUR"),
        purpose="milestone_tranche",
        requested_by=lead,
        idempotency_key="ex5",
    )
    disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement = disbursement_send(disbursement_id=disbursement.pk)
    assert disbursement.status == DisbursementStatus.FAILED
    assert disbursement.failure_reason.startswith("insufficient_capabilities_for_transfer")
    escrow_code = f"campaign:{CAMPAIGN}:campaign_escrow:EUR"
    submitted = disbursement.submitted_entry_id
    assert entries("disbursement", disbursement.pk) == [
        ("disbursement", None, [(escrow_code, "debit", 20000), (CASH, "credit", 20000)]),
        ("reversal", submitted, [(escrow_code, "credit", 20000), (CASH, "debit", 20000)]),
    ]
    # Exactly as before the payout was submitted.
    assert (stripe_cash(), escrow(CAMPAIGN), processor_fees()) == (29525, 30000, 475)
    assert books_balance() == {}
    assert disbursement.provider_transfer_id is None
    assert get_provider().transfers_of_group(transfer_group(disbursement.pk)) == []
    assert [e.kind for e in disbursement.events.order_by("id")] == [
        "requested",
        "approved",
        "submitted",
        "failed",
    ]


def test_the_share_purchase_refund_takes_the_shares_back(sandbox):
    member = UserFactory()
    payment = membership_shares_purchase(user=member, shares=3, idempotency_key="refund-shares")
    payment = sandbox_payment_confirm(payment=payment, number="4242424242424242")
    # Other money at Stripe covers the fee that Stripe keeps.
    other = membership_shares_purchase(user=UserFactory(), shares=1, idempotency_key="other")
    sandbox_payment_confirm(payment=other, number="4242424242424242")
    from members.exceptions import MembershipError

    with pytest.raises(MembershipError):
        payment_refund(payment=payment, amount=2500, idempotency_key="half-a-share")
    payment_refund(payment=payment, amount=5000, idempotency_key="one-share")
    assert Membership.objects.get(user=member, status="active").shares == 2
    assert member_shares(member) == 10000
    payment_refund(payment=payment, idempotency_key="the-rest")
    assert not Membership.objects.filter(user=member, status="active").exists()
    assert member_shares(member) == 0
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED
    assert books_balance() == {}
