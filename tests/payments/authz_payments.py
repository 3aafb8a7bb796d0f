"""Who may call each payments operation (and the membership share operations)."""

from ledger.enums import AccountPurpose
from ledger.services import fund_account
from members.payment_handlers import membership_shares_purchase
from payments.services import disbursement_approve, disbursement_request, payment_method_setup_start
from payments.services.disbursements import payee_account_connect_start
from payments.services.sandbox import sandbox_payment_confirm, sandbox_setup_confirm
from tests.authz import Row, everyone, only, signed_in
from tests.payments.books import grants_pool_given

FINANCE = ["treasurer", "auditor"]
VISA, AUTHENTICATE = "4242424242424242", "4000002500003155"


def _someone(user):
    if user is not None:
        return user
    from tests.factories import UserFactory

    return UserFactory()


def _payment(user):
    return {"payment_id": membership_shares_purchase(user=_someone(user), shares=1).pk}


def _payment_needing_authentication(user):
    payment = membership_shares_purchase(user=_someone(user), shares=1)
    sandbox_payment_confirm(payment=payment, number=AUTHENTICATE)
    return {"payment_id": payment.pk}


def _settled_payment(user):
    from tests.factories import UserFactory

    payment = membership_shares_purchase(user=UserFactory(), shares=2)
    sandbox_payment_confirm(payment=payment, number=VISA)
    return {"payment_id": payment.pk}


def _setup(user, card=None):
    user = _someone(user)
    start = payment_method_setup_start(user=user)
    if card:
        sandbox_setup_confirm(
            user=user,
            setup_intent_id=start.setup_intent_id,
            number=card,
            exp_month=12,
            exp_year=2034,
        )
    return {"setup_intent_id": start.setup_intent_id}


def _saved_method(user):
    from payments.models import SavedPaymentMethod

    user = _someone(user)
    _setup(user, VISA)
    return {"method_id": SavedPaymentMethod.objects.get(user=user).pk}


def _onboarding_link(user):
    from tests.factories import UserFactory

    lead = UserFactory()
    _payee, link = payee_account_connect_start(
        owner_type="person",
        owner_id=lead.pk,
        user=lead,
        return_url="http://127.0.0.1:8000/done",
        refresh_url="http://127.0.0.1:8000/again",
    )
    return {"token": link.url.rsplit("/", 1)[1]}


def _disbursement(user, *, approved=False):
    from tests.factories import RoleGrantFactory, UserFactory
    from tests.payments.factories import PayeeAccountFactory

    grants_pool_given(amount=5000)
    disbursement = disbursement_request(
        payee=PayeeAccountFactory(),
        amount=3000,
        currency="EUR",
        source_account=fund_account(AccountPurpose.GRANTS_POOL, "EUR"),
        purpose="grant",
        requested_by=UserFactory(),
        idempotency_key="authz-grant",
    )
    if approved:
        disbursement_approve(
            disbursement=disbursement, actor=RoleGrantFactory(role="treasurer").user
        )
    return {"disbursement_id": disbursement.pk}


def _stripe_cash(user):
    grants_pool_given(AccountPurpose.STRIPE_CASH, amount=5000)
    return {}


ROWS = [
    # the payer
    Row("GET", "/api/v1/payments/mine", signed_in(200)),
    Row("GET", "/api/v1/payments/mine/{payment_id}", signed_in(200), setup=_payment),
    Row("POST", "/api/v1/payments/mine/{payment_id}/sync", signed_in(200), setup=_payment),
    Row("GET", "/api/v1/payments/methods", signed_in(200)),
    Row("DELETE", "/api/v1/payments/methods/{method_id}", signed_in(204), setup=_saved_method),
    Row("POST", "/api/v1/payments/methods/setup", signed_in(201)),
    Row(
        "POST",
        "/api/v1/payments/methods/setup/{setup_intent_id}/complete",
        signed_in(200),
        setup=_setup,
    ),
    # the sandbox
    Row(
        "POST",
        "/api/v1/payments/sandbox/setups/{setup_intent_id}/confirm",
        signed_in(200),
        setup=_setup,
        body={"number": VISA},
    ),
    Row(
        "POST",
        "/api/v1/payments/sandbox/setups/{setup_intent_id}/authenticate",
        signed_in(200),
        setup=lambda user: _setup(user, AUTHENTICATE),
        body={"success": True},
    ),
    Row(
        "POST",
        "/api/v1/payments/sandbox/payments/{payment_id}/confirm",
        signed_in(200),
        setup=_payment,
        body={"number": VISA},
    ),
    Row(
        "POST",
        "/api/v1/payments/sandbox/payments/{payment_id}/authenticate",
        signed_in(200),
        setup=_payment_needing_authentication,
        body={"success": True},
    ),
    Row(
        "GET", "/api/v1/payments/sandbox/onboarding/{token}", everyone(302), setup=_onboarding_link
    ),
    # payouts
    Row("GET", "/api/v1/payments/payees/mine", signed_in(200)),
    Row("POST", "/api/v1/payments/payees/mine/connect", signed_in(201), body={}),
    Row(
        "POST",
        "/api/v1/payments/payees/mine/bank",
        signed_in(200),
        body={"holder_name": "Camille Martin", "iban": "FR7630006000011234567890189"},
    ),
    Row("GET", "/api/v1/payments/disbursements/mine", signed_in(200)),
    # the treasurer and auditors
    Row("GET", "/api/v1/payments", only(FINANCE, 200)),
    Row("GET", "/api/v1/payments/refunds", only(FINANCE, 200)),
    Row(
        "POST",
        "/api/v1/payments/{payment_id}/refunds",
        only(["treasurer"], 201),
        setup=_settled_payment,
        body={"amount": 5000, "idempotency_key": "authz-refund"},
    ),
    Row("GET", "/api/v1/payments/disbursements", only(FINANCE, 200)),
    Row(
        "POST",
        "/api/v1/payments/disbursements/{disbursement_id}/approve",
        only(["treasurer"], 200),
        setup=_disbursement,
    ),
    Row(
        "POST",
        "/api/v1/payments/disbursements/{disbursement_id}/reject",
        only(["treasurer"], 200),
        setup=_disbursement,
        body={"reason": "Not this milestone yet."},
    ),
    Row(
        "POST",
        "/api/v1/payments/disbursements/{disbursement_id}/mark-paid",
        only(["treasurer"], 200),
        setup=lambda user: _disbursement(user, approved=True),
        body={"bank_reference": "VIR-1"},
    ),
    Row(
        "POST",
        "/api/v1/payments/disbursements/{disbursement_id}/mark-failed",
        only(["treasurer"], 200),
        setup=lambda user: _disbursement(user, approved=True),
        body={"reason": "Returned by the bank."},
    ),
    Row(
        "POST",
        "/api/v1/payments/cash-transfers",
        only(["treasurer"], 201),
        body={"direction": "to_bank", "amount": 3000, "reference": "po_authz"},
        setup=_stripe_cash,
    ),
    Row("GET", "/api/v1/payments/webhook-events", only(FINANCE, 200)),
    Row("GET", "/api/v1/payments/reconciliation-reports", only(FINANCE, 200)),
    # webhooks in: a signature decides, not a role
    Row("POST", "/api/v1/payments/webhooks/stripe", everyone(400), body={"id": "evt_unsigned"}),
    # cooperative shares
    Row("POST", "/api/v1/membership/shares", signed_in(201), body={"shares": 1}),
    Row("POST", "/api/v1/membership/end", only(["member"], 200, others=404)),
]
