"""Authorization rows for every campaigns operation (collected by tests/test_authorization_table.py).

Lead operations act on a project whose team holds the person only when their role is "lead":
other people get 404 (a project that is not theirs is not shown to them), anonymous people 401.
"""

import datetime as dt

from django.utils import timezone

from campaigns.enums import CampaignStatus
from campaigns.models import (
    CampaignUpdate,
    Pledge,
    ProjectCriterion,
    ProjectLead,
    WebhookDelivery,
    WebhookEndpoint,
)
from members.models import RoleGrant
from tests.authz import ANON, SIGNED_IN, Row, everyone, only, signed_in
from tests.factories import UserFactory

from .factories import (
    BudgetLineFactory,
    CampaignFactory,
    MilestoneFactory,
    ProjectFactory,
    TierFactory,
    criteria_declare,
    default_theme,
    live_campaign,
)


def lead_only(status: int, others: int = 404) -> dict[str, int]:
    return only(["lead"], status, others=others)


def _is_lead(user) -> bool:
    return user is not None and RoleGrant.objects.filter(user=user, role="lead").exists()


def _project(user):
    return ProjectFactory(lead=user if _is_lead(user) else UserFactory())


def _project_ctx(user):
    return {"project_id": _project(user).pk}


def _campaign(user, **kwargs):
    return CampaignFactory(project=_project(user), **kwargs)


def _campaign_ctx(user, **kwargs):
    return {"campaign_id": _campaign(user, **kwargs).pk}


def _public_campaign(_user):
    campaign = live_campaign()
    TierFactory(campaign=campaign)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign)
    CampaignUpdate.objects.create(campaign=campaign, title="Nouvelles", body="Tout va bien")
    return {"campaign_id": campaign.pk}


def _submittable(user):
    campaign = _campaign(user, deadline=timezone.now() + dt.timedelta(days=20))
    criteria_declare(campaign.project)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign, amount=1_000)
    return {"campaign_id": campaign.pk}


def _team_of_two(user):
    project = _project(user)
    second = UserFactory()
    ProjectLead.objects.create(project=project, user=second)
    return {"project_id": project.pk, "user_id": second.pk}


def _tier(user):
    return {"tier_id": TierFactory(campaign=_campaign(user)).pk}


def _line(user):
    return {"line_id": BudgetLineFactory(campaign=_campaign(user)).pk}


def _milestone(user):
    return {"milestone_id": MilestoneFactory(campaign=_campaign(user)).pk}


def _endpoint(user):
    endpoint = WebhookEndpoint.objects.create(
        project=_project(user), url="http://127.0.0.1:9/hook", secret="whsec_test"
    )
    return {"endpoint_id": endpoint.pk, "project_id": endpoint.project_id}


def _delivery(user):
    ctx = _endpoint(user)
    delivery = WebhookDelivery.objects.create(
        endpoint_id=ctx["endpoint_id"], event_id="evt_test", event_type="ping", body="{}"
    )
    return {"delivery_id": delivery.pk}


def _own_pledge(user):
    campaign = live_campaign()
    pledge = Pledge.objects.create(
        campaign=campaign, backer=user or UserFactory(), amount=1_000, currency="EUR"
    )
    return {"pledge_id": pledge.pk}


def _own_pledge_and_card(user):
    ctx = _own_pledge(user)
    if user is None:
        return {**ctx, "payment_method": 1}
    from tests.campaigns.conftest import saved_card

    return {**ctx, "payment_method": saved_card(user).pk}


def _criterion(_user):
    project = ProjectFactory()
    row = ProjectCriterion.objects.create(
        project=project, criterion="social_purpose", statement="x"
    )
    return {"criterion_id": row.pk}


def _in_review(_user):
    return {"campaign_id": CampaignFactory(status=CampaignStatus.IN_REVIEW).pk}


def _live_for_moderation(_user):
    return {"campaign_id": live_campaign().pk}


def _live_led(user):
    campaign = live_campaign(project=_project(user))
    return {"campaign_id": campaign.pk}


def _draft_body(ctx):
    return {
        "project": ctx["project_id"],
        "title": "Nouvelle campagne",
        "goal": 50_000,
        "deadline": (timezone.now() + dt.timedelta(days=30)).isoformat(),
    }


PUBLIC = "/api/v1/campaigns/{campaign_id}"

ROWS = [
    # public
    Row("GET", "/api/v1/themes", everyone(200)),
    Row("GET", "/api/v1/campaigns", everyone(200)),
    Row("GET", PUBLIC, everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/progress", everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/tiers", everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/budget-lines", everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/milestones", everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/updates", everyone(200), setup=_public_campaign),
    Row("GET", PUBLIC + "/backers", everyone(200), setup=_public_campaign),
    # backers
    Row("GET", "/api/v1/pledges", signed_in(200)),
    Row(
        "POST",
        "/api/v1/pledges",
        signed_in(201),
        setup=_live_for_moderation,
        body=lambda c: {"campaign": c["campaign_id"], "amount": 2_000},
    ),
    Row("GET", "/api/v1/pledges/{pledge_id}", signed_in(200), setup=_own_pledge),
    Row("POST", "/api/v1/pledges/{pledge_id}/cancel", signed_in(200), setup=_own_pledge),
    Row(
        "POST",
        "/api/v1/pledges/{pledge_id}/card",
        signed_in(200),
        setup=_own_pledge_and_card,
        body=lambda c: {"payment_method": c["payment_method"]},
    ),
    Row("GET", "/api/v1/pledges/{pledge_id}/receipt", signed_in(200), setup=_own_pledge),
    # leads: projects
    Row("GET", "/api/v1/lead/projects", signed_in(200)),
    Row(
        "POST",
        "/api/v1/lead/projects",
        signed_in(201),
        setup=lambda _u: {"theme": default_theme().slug},
        body=lambda c: {"title": "Tiers-lieu numérique", "summary": "Un lieu", "theme": c["theme"]},
    ),
    Row("GET", "/api/v1/lead/projects/{project_id}", lead_only(200), setup=_project_ctx),
    Row(
        "PATCH",
        "/api/v1/lead/projects/{project_id}",
        lead_only(200),
        setup=_project_ctx,
        body={"summary": "Un lieu ouvert"},
    ),
    Row(
        "POST",
        "/api/v1/lead/projects/{project_id}/leads",
        lead_only(201),
        setup=lambda u: {**_project_ctx(u), "email": UserFactory().email},
        body=lambda c: {"email": c["email"]},
    ),
    Row(
        "DELETE",
        "/api/v1/lead/projects/{project_id}/leads/{user_id}",
        lead_only(204),
        setup=_team_of_two,
    ),
    Row(
        "PUT",
        "/api/v1/lead/projects/{project_id}/criteria/{criterion}",
        lead_only(200),
        setup=lambda u: {**_project_ctx(u), "criterion": "social_purpose"},
        body={"statement": "Inclusion numérique des seniors"},
    ),
    # leads: campaigns
    Row("GET", "/api/v1/lead/campaigns", signed_in(200)),
    Row("POST", "/api/v1/lead/campaigns", lead_only(201), setup=_project_ctx, body=_draft_body),
    Row("GET", "/api/v1/lead/campaigns/{campaign_id}", lead_only(200), setup=_campaign_ctx),
    Row(
        "PATCH",
        "/api/v1/lead/campaigns/{campaign_id}",
        lead_only(200),
        setup=_campaign_ctx,
        body={"title": "Nouveau titre"},
    ),
    Row("POST", "/api/v1/lead/campaigns/{campaign_id}/submit", lead_only(200), setup=_submittable),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/launch",
        lead_only(200),
        setup=lambda u: _campaign_ctx(u, status=CampaignStatus.APPROVED),
    ),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/cancel",
        lead_only(200),
        setup=_campaign_ctx,
        body={"reason": "Abandon"},
    ),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/tiers",
        lead_only(201),
        setup=_campaign_ctx,
        body={"title": "Merci", "amount": 1_000, "limit": 10},
    ),
    Row(
        "PATCH",
        "/api/v1/lead/tiers/{tier_id}",
        lead_only(200),
        setup=_tier,
        body={"title": "Merci !"},
    ),
    Row("DELETE", "/api/v1/lead/tiers/{tier_id}", lead_only(204), setup=_tier),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/budget-lines",
        lead_only(201),
        setup=_campaign_ctx,
        body={"label": "Matériel", "amount": 20_000},
    ),
    Row(
        "PATCH",
        "/api/v1/lead/budget-lines/{line_id}",
        lead_only(200),
        setup=_line,
        body={"amount": 30_000},
    ),
    Row("DELETE", "/api/v1/lead/budget-lines/{line_id}", lead_only(204), setup=_line),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/milestones",
        lead_only(201),
        setup=_campaign_ctx,
        body={"title": "Prototype", "amount": 20_000},
    ),
    Row(
        "PATCH",
        "/api/v1/lead/milestones/{milestone_id}",
        lead_only(200),
        setup=_milestone,
        body={"title": "Bêta"},
    ),
    Row("DELETE", "/api/v1/lead/milestones/{milestone_id}", lead_only(204), setup=_milestone),
    # A draft's tranche cannot be paid yet: the lead passes authorization and gets the rule's 409.
    Row(
        "POST",
        "/api/v1/lead/milestones/{milestone_id}/request",
        lead_only(409),
        setup=_milestone,
        body={},
    ),
    Row("GET", "/api/v1/lead/campaigns/{campaign_id}/pledges", lead_only(200), setup=_campaign_ctx),
    Row("GET", "/api/v1/lead/campaigns/{campaign_id}/backers", lead_only(200), setup=_campaign_ctx),
    Row("GET", "/api/v1/lead/campaigns/{campaign_id}/funds", lead_only(200), setup=_campaign_ctx),
    Row(
        "POST",
        "/api/v1/lead/campaigns/{campaign_id}/updates",
        lead_only(201),
        setup=_live_led,
        body={"title": "Nouvelles", "body": "Le prototype **avance**."},
    ),
    Row("GET", "/api/v1/lead/ledger-lines", signed_in(200)),
    Row("GET", "/api/v1/lead/disbursements", signed_in(200)),
    # leads: outgoing webhooks
    Row("GET", "/api/v1/lead/webhooks", signed_in(200)),
    Row(
        "POST",
        "/api/v1/lead/webhooks",
        lead_only(201),
        setup=_project_ctx,
        body=lambda c: {"project": c["project_id"], "url": "http://127.0.0.1:9/hook"},
    ),
    Row("GET", "/api/v1/lead/webhooks/{endpoint_id}", lead_only(200), setup=_endpoint),
    Row(
        "PATCH",
        "/api/v1/lead/webhooks/{endpoint_id}",
        lead_only(200),
        setup=_endpoint,
        body={"is_active": False},
    ),
    Row("DELETE", "/api/v1/lead/webhooks/{endpoint_id}", lead_only(204), setup=_endpoint),
    Row("POST", "/api/v1/lead/webhooks/{endpoint_id}/ping", lead_only(202), setup=_endpoint),
    Row("GET", "/api/v1/lead/webhooks/{endpoint_id}/deliveries", lead_only(200), setup=_endpoint),
    Row("GET", "/api/v1/lead/webhook-deliveries/{delivery_id}", lead_only(200), setup=_delivery),
    Row(
        "POST",
        "/api/v1/lead/webhook-deliveries/{delivery_id}/replay",
        lead_only(202),
        setup=_delivery,
    ),
    # moderation
    Row("GET", "/api/v1/moderation/campaigns", only(["moderator"], 200)),
    Row(
        "POST",
        "/api/v1/moderation/campaigns/{campaign_id}/review",
        only(["moderator"], 200),
        setup=_in_review,
        body={"decision": "approve"},
    ),
    Row(
        "POST",
        "/api/v1/moderation/campaigns/{campaign_id}/cancel",
        only(["moderator"], 200),
        setup=_live_for_moderation,
        body={"reason": "Promesse non tenue"},
    ),
    Row(
        "POST",
        "/api/v1/moderation/criteria/{criterion_id}/check",
        only(["moderator"], 200),
        setup=_criterion,
        body={"verified": True},
    ),
]

__all__ = ["ANON", "ROWS", "SIGNED_IN"]
