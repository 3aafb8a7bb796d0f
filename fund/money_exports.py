"""The fund's money in a person's data export (GDPR): savings, redemptions, remuneration,
donations and tax receipts. Money records stay when an account is deleted (pseudonymised)."""

from typing import Any

from .models import Donation, DonationReceipt, Redemption, Remuneration, SavingsAccount


def money_section(*, user: Any) -> dict[str, Any]:
    return {
        "fund_money": {
            "savings_accounts": [
                {
                    "currency": a.currency,
                    "interest_share_basis_points": a.interest_share,
                    "opened_at": a.opened_at.isoformat(),
                }
                for a in SavingsAccount.objects.filter(user=user).order_by("currency")
            ],
            "redemptions": [
                {
                    "id": r.pk,
                    "amount": r.amount,
                    "currency": r.currency,
                    "status": r.status,
                    "requested_at": r.requested_at.isoformat(),
                }
                for r in Redemption.objects.filter(user=user).order_by("id")
            ],
            "remunerations": [
                {
                    "year": r.year,
                    "currency": r.currency,
                    "amount": r.amount,
                    "shared": r.shared,
                    "credited": r.credited,
                    "rate_basis_points": r.rate,
                }
                for r in Remuneration.objects.filter(user=user).order_by("year")
            ],
            "donations": [
                {
                    "id": d.pk,
                    "amount": d.amount,
                    "currency": d.currency,
                    "target": d.target,
                    "campaign": d.campaign_id,
                    "status": d.status,
                    "created_at": d.created_at.isoformat(),
                }
                for d in Donation.objects.filter(donor=user).order_by("id")
            ],
            "receipts": [
                {
                    "number": r.number,
                    "kind": r.kind,
                    "amount": r.amount,
                    "currency": r.currency,
                    "tax_rate_basis_points": r.tax_rate,
                    "beneficiary": r.beneficiary,
                    "issued_at": r.issued_at.isoformat(),
                    "voided_at": r.voided_at.isoformat() if r.voided_at else None,
                }
                for r in DonationReceipt.objects.filter(donor=user).order_by("year", "sequence")
            ],
        }
    }
