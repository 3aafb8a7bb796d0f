"""The state machines: the allowed moves, and illegal ones refused (409) with nothing written."""

import itertools

import pytest
from django.db import IntegrityError, transaction

from common.errors import IllegalTransitionError
from payments.enums import (
    DisbursementStatus,
    PaymentStatus,
    RefundStatus,
    SetupStatus,
    WebhookEventStatus,
)
from payments.machines import (
    disbursement_machine,
    payment_machine,
    refund_machine,
    setup_machine,
    webhook_machine,
)
from payments.models import Payment, PaymentEvent
from payments.services.payments import payment_cancel

from .factories import PaymentFactory

P, D = PaymentStatus, DisbursementStatus

PAYMENT_MOVES = {
    (P.CREATED, P.REQUIRES_ACTION),
    (P.CREATED, P.PROCESSING),
    (P.CREATED, P.SUCCEEDED),
    (P.CREATED, P.FAILED),
    (P.CREATED, P.CANCELED),
    (P.REQUIRES_ACTION, P.PROCESSING),
    (P.REQUIRES_ACTION, P.SUCCEEDED),
    (P.REQUIRES_ACTION, P.FAILED),
    (P.REQUIRES_ACTION, P.CANCELED),
    (P.PROCESSING, P.SUCCEEDED),
    (P.PROCESSING, P.FAILED),
    (P.PROCESSING, P.CANCELED),
    (P.FAILED, P.REQUIRES_ACTION),
    (P.FAILED, P.PROCESSING),
    (P.FAILED, P.SUCCEEDED),
    (P.FAILED, P.CANCELED),
    (P.SUCCEEDED, P.PARTIALLY_REFUNDED),
    (P.SUCCEEDED, P.REFUNDED),
    (P.PARTIALLY_REFUNDED, P.PARTIALLY_REFUNDED),
    (P.PARTIALLY_REFUNDED, P.REFUNDED),
}
DISBURSEMENT_MOVES = {
    (D.REQUESTED, D.APPROVED),
    (D.REQUESTED, D.REJECTED),
    (D.APPROVED, D.SUBMITTED),
    (D.APPROVED, D.FAILED),
    (D.SUBMITTED, D.PAID),
    (D.SUBMITTED, D.FAILED),
}


@pytest.mark.parametrize(
    ("machine", "statuses", "allowed"),
    [
        (payment_machine, PaymentStatus, PAYMENT_MOVES),
        (disbursement_machine, DisbursementStatus, DISBURSEMENT_MOVES),
        (refund_machine, RefundStatus, {("pending", "succeeded"), ("pending", "failed")}),
    ],
    ids=["payment", "disbursement", "refund"],
)
def test_exactly_the_listed_moves_are_allowed(machine, statuses, allowed):
    for source, target in itertools.product(statuses.values, repeat=2):
        assert machine.can(source, target) == ((source, target) in allowed), (source, target)


def test_terminal_states_go_nowhere():
    for terminal in (P.CANCELED, P.REFUNDED):
        assert not any(payment_machine.can(terminal, t) for t in PaymentStatus.values)
    for terminal in (D.PAID, D.FAILED, D.REJECTED):
        assert not any(disbursement_machine.can(terminal, t) for t in DisbursementStatus.values)
    assert not any(setup_machine.can(SetupStatus.SUCCEEDED, t) for t in SetupStatus.values)
    assert webhook_machine.can(WebhookEventStatus.PROCESSED, WebhookEventStatus.PROCESSING)


@pytest.mark.django_db
def test_an_illegal_move_is_refused_with_409_and_writes_nothing():
    payment = PaymentFactory()
    with pytest.raises(IllegalTransitionError) as caught:
        payment_machine.compare_and_set(
            Payment.objects.all(), pk=payment.pk, source=P.CREATED, target=P.REFUNDED
        )
    assert (caught.value.status_code, caught.value.code) == (409, "illegal_transition")
    payment.refresh_from_db()
    assert payment.status == P.CREATED


@pytest.mark.django_db
def test_a_move_from_a_stale_state_is_refused():
    payment = PaymentFactory()
    payment_cancel(payment=payment)
    with pytest.raises(IllegalTransitionError):
        payment_machine.compare_and_set(
            Payment.objects.all(), pk=payment.pk, source=P.CREATED, target=P.FAILED
        )
    assert Payment.objects.get(pk=payment.pk).status == P.CANCELED
    assert list(PaymentEvent.objects.filter(payment=payment).values_list("kind", flat=True)) == [
        "canceled"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"status": "lost"},
        {"amount": 0},
        {"amount_refunded": 2001},
        {"status": P.SUCCEEDED},  # booked without a charge entry
        {"fee_amount": -1},
        {"idempotency_key": ""},
    ],
)
def test_the_database_keeps_payments_consistent(changes):
    payment = PaymentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(**changes)


@pytest.mark.django_db
def test_event_logs_are_append_only():
    from payments.models import AppendOnlyError

    payment = PaymentFactory()
    payment_cancel(payment=payment)
    event = PaymentEvent.objects.get(payment=payment)
    event.kind = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
