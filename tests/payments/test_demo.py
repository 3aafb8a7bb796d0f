import random

import pytest

from payments.demo import seed
from payments.models import PayeeAccount, Payment, SavedPaymentMethod
from tests.factories import UserFactory

from .books import books_balance, stripe_cash


@pytest.mark.django_db
def test_demo_payments_go_through_the_sandbox(sandbox):
    people = [UserFactory() for _ in range(6)]
    leads = [UserFactory() for _ in range(3)]
    demo = UserFactory()
    seed(context={"rng": random.Random(1), "people": people, "leads": leads, "demo": demo})
    statuses = sorted(Payment.objects.values_list("status", flat=True))
    assert statuses == ["failed", "succeeded", "succeeded"]
    assert stripe_cash() > 0
    assert books_balance() == {}
    assert SavedPaymentMethod.objects.filter(user=demo).count() == 1
    assert PayeeAccount.objects.filter(payouts_enabled=True).count() == 2
