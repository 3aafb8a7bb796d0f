"""Demo payments, made through the sandbox like real ones: share purchases (one declined), a
saved card, and a lead's payout account."""

from typing import Any

from members.payment_handlers import membership_shares_purchase

from .providers import is_sandbox
from .services import payee_account_connect_start, payee_account_sync, payment_method_setup_start
from .services.sandbox import (
    sandbox_onboarding_complete,
    sandbox_payment_confirm,
    sandbox_setup_confirm,
)

VISA, DECLINED = "4242424242424242", "4000000000000002"


def seed(*, context: dict[str, Any]) -> None:
    if not is_sandbox():
        return  # demo money never goes through a real provider
    rng = context["rng"]
    people = list(context.get("people") or [])
    buyers = people[len(people) // 2 :][:8]
    for index, person in enumerate(buyers):
        payment = membership_shares_purchase(
            user=person, shares=rng.randint(1, 3), idempotency_key="demo-shares"
        )
        if payment.status == "created":  # seeding again leaves earlier payments as they are
            card = DECLINED if index == len(buyers) - 1 else VISA
            sandbox_payment_confirm(payment=payment, number=card)
    demo = context.get("demo")
    if demo is not None and not demo.saved_payment_methods.exists():
        start = payment_method_setup_start(user=demo)
        sandbox_setup_confirm(
            user=demo,
            setup_intent_id=start.setup_intent_id,
            number=VISA,
            exp_month=12,
            exp_year=2034,
        )
    for lead in list(context.get("leads") or [])[:2]:
        payee, link = payee_account_connect_start(
            owner_type="person",
            owner_id=lead.pk,
            user=lead,
            return_url="http://127.0.0.1:8000/",
            refresh_url="http://127.0.0.1:8000/",
        )
        sandbox_onboarding_complete(token=link.url.rstrip("/").rsplit("/", 1)[1])
        payee_account_sync(payee=payee)
