"""Disbursements: four eyes, the manual bank path, failures and their reversals, the API."""

import pytest

from ledger.enums import AccountPurpose
from ledger.models import JournalEntry
from ledger.services import fund_account
from members.models import Membership
from members.payment_handlers import membership_end_with_payback, membership_shares_purchase
from payments.enums import DisbursementStatus, PayoutMethod
from payments.exceptions import FourEyesError, PayeeNotReadyError
from payments.models import Disbursement, DisbursementEvent, PayeeAccount
from payments.services import disbursement_approve, disbursement_request
from payments.services.disbursements import disbursement_send, iban_is_valid
from payments.services.sandbox import sandbox_payment_confirm
from tests.factories import MembershipFactory, RoleGrantFactory, UserFactory

from .books import bank_cash, entries, grants_pool, grants_pool_given, member_shares, stripe_cash
from .factories import PayeeAccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox", "purpose_handlers")]

IBAN = "FR7630006000011234567890189"


def _grant(payee, requested_by, amount=12_000, key="g1"):
    return disbursement_request(
        payee=payee,
        amount=amount,
        currency="EUR",
        source_account=fund_account(AccountPurpose.GRANTS_POOL, "EUR"),
        purpose="grant",
        requested_by=requested_by,
        idempotency_key=key,
        reference=("grant", 3),
    )


def test_whoever_asked_cannot_approve_and_nothing_is_written():
    grants_pool_given()
    treasurer = RoleGrantFactory(role="treasurer").user
    disbursement = _grant(PayeeAccountFactory(), requested_by=treasurer)
    with pytest.raises(FourEyesError):
        disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement.refresh_from_db()
    assert disbursement.status == DisbursementStatus.REQUESTED
    assert disbursement.approved_by is None
    assert list(disbursement.events.values_list("kind", flat=True)) == ["requested"]


def test_no_one_approves_a_payout_to_themselves():
    grants_pool_given()
    treasurer = RoleGrantFactory(role="treasurer").user
    payee = PayeeAccountFactory(user=treasurer)
    with pytest.raises(FourEyesError):
        disbursement_approve(disbursement=_grant(payee, UserFactory()), actor=treasurer)


def test_the_database_refuses_an_approval_by_the_requester():
    from django.db import IntegrityError, transaction

    grants_pool_given()
    lead = UserFactory()
    disbursement = _grant(PayeeAccountFactory(), lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.filter(pk=disbursement.pk).update(approved_by=lead)


def test_the_manual_bank_path_submits_then_is_marked_paid(
    client_as, django_capture_on_commit_callbacks
):
    grants_pool_given()
    lead = UserFactory()
    payee = PayeeAccountFactory(user=lead)
    disbursement = _grant(payee, lead)
    client, _treasurer = client_as("treasurer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/payments/disbursements/{disbursement.pk}/approve")
    assert response.status_code == 200, response.content
    disbursement.refresh_from_db()
    # The send task has submitted it: the money leaves the pool for the bank transfer.
    assert disbursement.status == DisbursementStatus.SUBMITTED
    assert (grants_pool(), bank_cash()) == (38_000, 38_000)
    response = client.post(
        f"/api/v1/payments/disbursements/{disbursement.pk}/mark-paid",
        {"bank_reference": "VIR-2026-0042"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["bank_reference"]) == ("paid", "VIR-2026-0042")
    assert entries("disbursement", disbursement.pk) == [
        (
            "grant",
            None,
            [
                ("fund:grants_pool:EUR", "debit", 12_000),
                ("platform:bank_cash:EUR", "credit", 12_000),
            ],
        )
    ]


def test_a_bounced_bank_transfer_is_reversed(client_as):
    grants_pool_given()
    lead = UserFactory()
    disbursement = _grant(PayeeAccountFactory(user=lead), lead)
    client, _treasurer = client_as("treasurer")
    client.post(f"/api/v1/payments/disbursements/{disbursement.pk}/approve")
    disbursement_send(disbursement_id=disbursement.pk)
    response = client.post(
        f"/api/v1/payments/disbursements/{disbursement.pk}/mark-failed",
        {"reason": "Account closed"},
        format="json",
    )
    assert response.json()["status"] == "failed"
    assert (grants_pool(), bank_cash()) == (50_000, 50_000)
    kinds = [kind for kind, _rev, _legs in entries("disbursement", disbursement.pk)]
    assert kinds == ["grant", "reversal"]


def test_a_source_that_cannot_cover_it_is_refused_at_approval():
    grants_pool_given(amount=5_000)
    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    disbursement = _grant(PayeeAccountFactory(user=lead), lead, amount=12_000)
    from ledger.exceptions import InsufficientFundsError

    with pytest.raises(InsufficientFundsError):
        disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement.refresh_from_db()
    assert disbursement.status == DisbursementStatus.REQUESTED
    assert JournalEntry.objects.count() == 1  # the funding only


def test_a_connect_payee_must_have_an_account_before_approval():
    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    grants_pool_given(AccountPurpose.STRIPE_CASH)
    payee = PayeeAccountFactory(
        user=lead, method=PayoutMethod.STRIPE_CONNECT, payouts_enabled=False
    )
    with pytest.raises(PayeeNotReadyError):
        disbursement_approve(disbursement=_grant(payee, lead), actor=treasurer)


def test_illegal_moves_get_409_and_write_nothing(client_as):
    grants_pool_given()
    lead = UserFactory()
    disbursement = _grant(PayeeAccountFactory(user=lead), lead)
    client, _treasurer = client_as("treasurer")
    response = client.post(
        f"/api/v1/payments/disbursements/{disbursement.pk}/mark-paid",
        {"bank_reference": "too early"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    client.post(
        f"/api/v1/payments/disbursements/{disbursement.pk}/reject", {"reason": "No"}, format="json"
    )
    events = DisbursementEvent.objects.count()
    response = client.post(f"/api/v1/payments/disbursements/{disbursement.pk}/approve")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    assert DisbursementEvent.objects.count() == events
    assert JournalEntry.objects.count() == 1
    assert Disbursement.objects.get(pk=disbursement.pk).status == DisbursementStatus.REJECTED


def test_bad_input_gets_400_and_writes_nothing(client_as):
    grants_pool_given()
    lead = UserFactory()
    disbursement = _grant(PayeeAccountFactory(user=lead), lead)
    client, _treasurer = client_as("treasurer")
    for body in ({}, {"bank_reference": 42}, {"bank_reference": "x", "extra": 1}):
        response = client.post(
            f"/api/v1/payments/disbursements/{disbursement.pk}/mark-paid", body, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
    assert Disbursement.objects.get(pk=disbursement.pk).status == DisbursementStatus.REQUESTED
    client, user = client_as("supporter")
    response = client.post(
        "/api/v1/payments/payees/mine/bank",
        {"holder_name": "A", "iban": "FR76 0000"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_iban"
    assert not PayeeAccount.objects.filter(owner_id=user.pk).exists()


def test_the_treasurer_lists_and_filters_disbursements(client_as):
    grants_pool_given()
    lead = UserFactory()
    payee = PayeeAccountFactory(user=lead)
    first, second = _grant(payee, lead, key="a"), _grant(payee, lead, amount=500, key="b")
    client, _treasurer = client_as("treasurer")
    client.post(
        f"/api/v1/payments/disbursements/{second.pk}/reject", {"reason": "No"}, format="json"
    )
    listed = client.get("/api/v1/payments/disbursements?status=requested").json()["results"]
    assert [d["id"] for d in listed] == [first.pk]
    assert listed[0]["source_account"] == "fund:grants_pool:EUR"
    mine = client_as("supporter")[0]
    mine.force_authenticate(user=lead)
    assert {d["id"] for d in mine.get("/api/v1/payments/disbursements/mine").json()["results"]} == {
        first.pk,
        second.pk,
    }


def test_a_bank_account_is_kept_masked(client_as):
    assert iban_is_valid(IBAN)
    client, user = client_as("lead")
    response = client.post(
        "/api/v1/payments/payees/mine/bank",
        {"holder_name": "Camille Martin", "iban": "FR76 3000 6000 0112 3456 7890 189"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["bank_iban_masked"] == "FR76 •••• 0189"
    assert IBAN not in str(PayeeAccount.objects.filter(owner_id=user.pk).values())


def test_ending_a_membership_asks_for_the_shares_to_be_paid_back(
    client_as, django_capture_on_commit_callbacks
):
    member = UserFactory()
    payment = membership_shares_purchase(user=member, shares=2, idempotency_key="join")
    sandbox_payment_confirm(payment=payment, number="4242424242424242")
    assert member_shares(member) == 10_000
    with pytest.raises(PayeeNotReadyError):
        membership_end_with_payback(user=member)
    assert Membership.objects.get(user=member).status == "active"

    PayeeAccountFactory(user=member, owner_id=member.pk)  # a bank account
    client = client_as("anonymous")[0]
    client.force_authenticate(user=member)
    response = client.post("/api/v1/membership/end")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["membership"]["status"] == "ended"
    assert body["membership"]["votes"] == 0
    assert (body["disbursement"]["amount"], body["disbursement"]["status"]) == (10_000, "requested")
    assert body["disbursement"]["purpose"] == "share_redemption"

    # The treasurer approves; the money leaves the member's shares account for the bank.
    grants_pool_given(AccountPurpose.BANK_CASH, amount=10_000)
    treasurer = RoleGrantFactory(role="treasurer").user
    disbursement = Disbursement.objects.get(pk=body["disbursement"]["id"])
    disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement_send(disbursement_id=disbursement.pk)
    assert member_shares(member) == 0
    assert stripe_cash() == 9_825  # the purchase stays at Stripe; the payback went by bank
    assert entries("disbursement", disbursement.pk)[0][0] == "share_redemption"


def test_a_member_without_paid_shares_leaves_without_a_payout(client_as):
    client, member = client_as("member")
    response = client.post("/api/v1/membership/end")
    assert response.status_code == 200
    assert response.json()["disbursement"] is None
    assert not Membership.objects.filter(user=member, status="active").exists()
    assert client.post("/api/v1/membership/end").status_code == 404


def test_membership_shares_api_refuses_bad_input_and_writes_nothing(client_as):
    from payments.models import Payment

    client, _user = client_as("supporter")
    for body in ({"shares": 0}, {"shares": "2"}, {"shares": 101}, {"shares": 2, "price": 1}, {}):
        response = client.post("/api/v1/membership/shares", body, format="json")
        assert response.status_code == 400, body
    assert not Payment.objects.exists()
    assert MembershipFactory._meta.model.objects.count() == 0
