"""The campaigns part of a person's data export (GDPR): their pledges and the projects they lead."""

from typing import Any

from members.models import User

from .models import Pledge, ProjectLead


def pledges_section(*, user: User) -> dict[str, Any]:
    pledges = Pledge.objects.filter(backer=user).select_related("campaign", "tier").order_by("id")
    return {
        "pledges": [
            {
                "id": p.pk,
                "campaign": p.campaign.title,
                "campaign_id": p.campaign_id,
                "tier": p.tier.title if p.tier else None,
                "amount": p.amount,
                "refunded_amount": p.refunded_amount,
                "currency": p.currency,
                "status": p.status,
                "is_anonymous": p.is_anonymous,
                "public_message": p.public_message,
                "created_at": p.created_at.isoformat(),
                "collected_at": p.collected_at.isoformat() if p.collected_at else None,
                "ledger_entry_id": p.charge_entry_id,
            }
            for p in pledges
        ],
        "projects_led": [
            {"project": lead.project.title, "since": lead.added_at.isoformat()}
            for lead in ProjectLead.objects.filter(user=user).select_related("project")
        ],
    }
