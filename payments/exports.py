"""The payments part of a person's data export (GDPR): their payments, refunds, cards and
payouts. Card numbers are never held here; only a card's brand, last four digits and expiry."""

from typing import Any

from .models import Payment, Refund, SavedPaymentMethod
from .selectors import disbursement_list_for_user, payee_account_list_for_user


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def payments_section(*, user: Any) -> dict[str, Any]:
    return {
        "payments": [
            {
                "id": p.pk,
                "purpose": p.purpose,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "amount_refunded": p.amount_refunded,
                "fee_amount": p.fee_amount,
                "provider": p.provider,
                "created_at": _iso(p.created_at),
                "settled_at": _iso(p.settled_at),
            }
            for p in Payment.objects.filter(payer=user).order_by("id")
        ],
        "refunds": [
            {
                "payment": r.payment_id,
                "amount": r.amount,
                "currency": r.currency,
                "status": r.status,
                "created_at": _iso(r.created_at),
            }
            for r in Refund.objects.filter(payment__payer=user).order_by("id")
        ],
        "saved_cards": [
            {
                "brand": m.brand,
                "last4": m.last4,
                "exp_month": m.exp_month,
                "exp_year": m.exp_year,
                "created_at": _iso(m.created_at),
                "detached_at": _iso(m.detached_at),
            }
            for m in SavedPaymentMethod.objects.filter(user=user).order_by("id")
        ],
        "payout_accounts": [
            {
                "method": a.method,
                "onboarding_status": a.onboarding_status,
                "bank_holder_name": a.bank_holder_name,
                "bank_iban_masked": a.bank_iban_masked,
            }
            for a in payee_account_list_for_user(user=user)
        ],
        "disbursements": [
            {
                "id": d.pk,
                "amount": d.amount,
                "currency": d.currency,
                "purpose": d.purpose,
                "status": d.status,
                "created_at": _iso(d.created_at),
                "paid_at": _iso(d.paid_at),
            }
            for d in disbursement_list_for_user(user=user)
        ],
    }
