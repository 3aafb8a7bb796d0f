"""Reconciliation compares the books with the provider, reports differences, changes nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import JournalEntry
from ledger.services import credit, debit, ledger_entry_post, platform_account
from payments import gateway
from payments.models import ReconciliationReport, SandboxObject
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
    payments_reconcile,
)
from payments.services.sandbox import sandbox_onboarding_complete, sandbox_payment_confirm
from tests.factories import RoleGrantFactory, UserFactory
from tests.support.localstripe_fixtures import running_localstripe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("purpose_handlers")]


def _sandbox_activity():
    donors = [UserFactory() for _ in range(3)]
    payments = []
    for i, donor in enumerate(donors):
        payment = payment_create(
            purpose="pledge",
            payer=donor,
            amount=10_000 + i,
            currency="EUR",
            reference=("campaign", 5),
            idempotency_key=f"rec-{i}",
        )
        payments.append(sandbox_payment_confirm(payment=payment, number="4242424242424242"))
    payment_refund(payment=payments[0], amount=2_000, idempotency_key="rec-refund")
    lead, treasurer = UserFactory(), RoleGrantFactory(role="treasurer").user
    payee, link = payee_account_connect_start(
        owner_type="project",
        owner_id=5,
        user=lead,
        return_url="http://127.0.0.1:8000/a",
        refresh_url="http://127.0.0.1:8000/b",
    )
    sandbox_onboarding_complete(token=link.url.rsplit("/", 1)[1])
    payee_account_sync(payee=payee)
    from ledger.services import campaign_escrow_account

    disbursement = disbursement_request(
        payee=payee,
        amount=15_000,
        currency="EUR",
        source_account=campaign_escrow_account(5, "EUR"),
        purpose="milestone_tranche",
        requested_by=lead,
        idempotency_key="rec-tranche",
    )
    disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement_send(disbursement_id=disbursement.pk)
    return payments


def test_matching_books_give_a_clean_report(sandbox):
    _sandbox_activity()
    entries = JournalEntry.objects.count()
    out = io.StringIO()
    call_command("payments_reconcile", "--all", stdout=out, stderr=io.StringIO())
    report = ReconciliationReport.objects.get()
    assert report.is_clean, report.differences
    assert (report.payments_checked, report.refunds_checked, report.transfers_checked) == (3, 1, 1)
    # 3 charges net of fees, less a refund of 20.00 and a transfer of 150.00
    expected_cash = sum(10_000 + i - ((10_000 + i) * 150 + 5000) // 10000 - 25 for i in range(3))
    expected_cash -= 2_000 + 15_000
    assert report.ledger_cash == report.provider_cash == {"EUR": expected_cash}
    assert "No differences." in out.getvalue()
    assert JournalEntry.objects.count() == entries


def test_differences_are_reported_and_the_books_stay_as_they_are(sandbox):
    payments = _sandbox_activity()
    # At the provider, one fee differs from what was booked; here, cash moved without a payment.
    charge = SandboxObject.objects.get(object_id=payments[1].provider_charge_id)
    transaction_row = SandboxObject.objects.get(object_id=charge.data["balance_transaction"])
    transaction_row.data = {
        **transaction_row.data,
        "fee": 300,
        "net": transaction_row.data["amount"] - 300,
    }
    transaction_row.save()
    ledger_entry_post(
        kind=EntryKind.ADJUSTMENT,
        legs=[
            debit(platform_account(AccountPurpose.STRIPE_CASH, "EUR"), 1),
            credit(platform_account(AccountPurpose.SUSPENSE, "EUR"), 1),
        ],
        idempotency_key="stray",
    )
    entries = JournalEntry.objects.count()
    with pytest.raises(CommandError, match="difference"):
        call_command(
            "payments_reconcile", "--days", "3", stdout=io.StringIO(), stderr=io.StringIO()
        )
    report = ReconciliationReport.objects.get()
    assert not report.is_clean
    kinds = sorted(d["kind"] for d in report.differences)
    assert kinds == ["cash", "payment_fee"]
    fee = next(d for d in report.differences if d["kind"] == "payment_fee")
    assert (fee["payment"], fee["ours"], fee["provider"]) == (payments[1].pk, 175, 300)
    cash = next(d for d in report.differences if d["kind"] == "cash")
    assert cash["difference"] == 1 + 300 - 175
    assert JournalEntry.objects.count() == entries


def test_the_daily_task_stores_a_report(sandbox):
    from payments.tasks import payments_reconcile as task

    _sandbox_activity()
    assert task.delay().get() == 0
    assert ReconciliationReport.objects.get().is_clean


def test_reconciliation_against_the_stripe_emulator_is_clean(settings):
    with running_localstripe() as server:  # its own emulator: nothing from other tests in it
        settings.PAYMENTS_PROVIDER = "stripe"
        settings.STRIPE_SECRET_KEY = server.api_key
        settings.STRIPE_API_BASE = server.url
        server.set_fees(percent_basis_points=150, fixed=25)
        donor = UserFactory()
        start = payment_method_setup_start(user=donor)
        gateway.client().v1.setup_intents.confirm(
            start.setup_intent_id, params={"payment_method": "pm_card_visa"}
        )
        method = payment_method_setup_complete(
            user=donor, setup_intent_id=start.setup_intent_id
        ).saved_method
        payment = payment_create(
            purpose="donation",
            payer=donor,
            amount=8_000,
            currency="EUR",
            idempotency_key="ls-rec",
            payment_method=method,
            off_session=True,
        )
        payment_refund(payment=payment, amount=1_000, idempotency_key="ls-rec-refund")
        report = payments_reconcile(everything=True)
        assert report.is_clean, report.differences
        assert report.ledger_cash == report.provider_cash == {"EUR": 8_000 - 145 - 1_000}
        # A charge made at Stripe directly, outside the platform, is reported.
        gateway.client().v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "eur",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "outside"},
        )
        report = payments_reconcile(everything=True)
        assert sorted(d["kind"] for d in report.differences) == ["cash", "payment_unknown_here"]
