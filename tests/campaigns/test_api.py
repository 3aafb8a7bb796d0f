"""The campaigns API: the lead's aggregates and identity rules, money from the ledger, strict
input that writes nothing when refused, and token scopes."""

import pytest
from rest_framework.test import APIClient

from campaigns import services
from campaigns.apis import PledgeOutputSerializer, pledge_payload
from campaigns.enums import FundingModel
from campaigns.models import Campaign, Pledge, WebhookEndpoint
from members.enums import PublicIdentity
from members.services import api_token_create

from .conftest import launched_campaign, person, saved_card
from .factories import TierFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def backed(django_capture_on_commit_callbacks):
    """A keep-it-all campaign with three backers who chose three ways to appear."""
    lead = person("lead")
    campaign = launched_campaign(lead=lead, goal=10_000, funding_model=FundingModel.KEEP_IT_ALL)
    tier = TierFactory(campaign=campaign, title="Affiche", amount=2_000, limit=50)
    named = person(display_name="Camille Martin", public_identity=PublicIdentity.NAME)
    pseudo = person(display_name="Hugo Petit", public_identity=PublicIdentity.PSEUDONYM)
    hidden = person(display_name="Léa Diallo", public_identity=PublicIdentity.NAME)
    with django_capture_on_commit_callbacks(execute=True):
        for backer, amount, kwargs in [
            (named, 2_000, {"tier": tier, "public_message": "Courage !"}),
            (pseudo, 3_000, {}),
            (hidden, 2_500, {"is_anonymous": True, "tier": tier}),
        ]:
            services.pledge_create(
                backer=backer,
                campaign=campaign,
                amount=amount,
                payment_method_id=saved_card(backer).pk,
                **kwargs,
            )
    return {
        "lead": lead,
        "campaign": campaign,
        "tier": tier,
        "named": named,
        "pseudo": pseudo,
        "hidden": hidden,
    }


def test_the_lead_sees_backers_only_as_each_chose(backed):
    campaign = backed["campaign"]
    response = client_for(backed["lead"]).get(f"/api/v1/lead/campaigns/{campaign.pk}/backers")
    assert response.status_code == 200
    rows = sorted(response.json()["results"], key=lambda r: r["amount"])
    assert [(r["name"], r["amount"], r["status"]) for r in rows] == [
        ("Camille Martin", 2_000, "collected"),
        ("Anonymous", 2_500, "collected"),
        (backed["pseudo"].pseudonym, 3_000, "collected"),
    ]
    text = response.content.decode()
    for who in ("named", "pseudo", "hidden"):
        assert backed[who].email not in text
    assert "Léa Diallo" not in text
    assert "Hugo Petit" not in text


def test_the_public_backer_list_follows_the_same_rules(backed):
    response = APIClient().get(f"/api/v1/campaigns/{backed['campaign'].pk}/backers")
    names = sorted(r["name"] for r in response.json()["results"])
    assert names == sorted(["Camille Martin", "Anonymous", backed["pseudo"].pseudonym])
    assert "amount" not in response.json()["results"][0]


def test_pledges_are_aggregated_per_tier_day_and_status(backed):
    campaign = backed["campaign"]
    body = client_for(backed["lead"]).get(f"/api/v1/lead/campaigns/{campaign.pk}/pledges").json()
    assert body["per_tier"] == [
        {"tier_id": backed["tier"].pk, "title": "Affiche", "count": 2, "amount": 4_500},
        {"tier_id": None, "title": "", "count": 1, "amount": 3_000},
    ]
    assert [(d["count"], d["amount"], d["cumulative"]) for d in body["per_day"]] == [
        (3, 7_500, 7_500)
    ]
    assert body["per_status"] == [{"status": "collected", "count": 3, "amount": 7_500}]
    assert (
        body["progress"]["raised"],
        body["progress"]["backers"],
        body["progress"]["percentage"],
    ) == (
        7_500,
        3,
        75,
    )


def test_money_collected_and_in_escrow_comes_from_the_ledger(backed):
    campaign = backed["campaign"]
    funds = client_for(backed["lead"]).get(f"/api/v1/lead/campaigns/{campaign.pk}/funds").json()
    assert funds == {
        "currency": "EUR",
        "collected": 7_500,
        "refunded": 0,
        "raised": 7_500,
        "in_escrow": 7_500,
        "disbursed": 0,
        "pending_disbursement": 0,
        "reserved": 0,
        "escrow_account": f"campaign:{campaign.pk}:campaign_escrow:EUR",
    }
    lines = client_for(backed["lead"]).get("/api/v1/lead/ledger-lines").json()["results"]
    assert sorted((line["kind"], line["side"], line["amount"]) for line in lines) == [
        ("pledge_charge", "credit", 2_000),
        ("pledge_charge", "credit", 2_500),
        ("pledge_charge", "credit", 3_000),
    ]
    assert {line["campaign_id"] for line in lines} == {campaign.pk}


def test_ledger_lines_are_only_my_campaigns(backed):
    other_lead = person("lead")
    assert client_for(other_lead).get("/api/v1/lead/ledger-lines").json()["results"] == []
    assert (
        client_for(other_lead)
        .get(f"/api/v1/lead/campaigns/{backed['campaign'].pk}/funds")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 2_000},
        {"campaign": 1, "amount": 20.5},
        {"campaign": 1, "amount": "2000"},
        {"campaign": 1, "amount": 0},
        {"campaign": 1, "amount": 2_000, "surprise": True},
        {"campaign": 1, "amount": 2_000, "is_anonymous": "yes"},
    ],
)
def test_bad_pledge_input_is_refused_and_writes_nothing(body):
    campaign = launched_campaign(lead=person("lead"))
    body = {**body, "campaign": campaign.pk} if "campaign" in body else body
    response = client_for(person()).post("/api/v1/pledges", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert Pledge.objects.count() == 0


def test_a_tier_of_another_campaign_is_refused():
    campaign = launched_campaign(lead=person("lead"))
    other = launched_campaign(lead=person("lead"))
    tier = TierFactory(campaign=other)
    response = client_for(person()).post(
        "/api/v1/pledges",
        {"campaign": campaign.pk, "amount": 5_000, "tier": tier.pk},
        format="json",
    )
    assert (response.status_code, response.json()["error"]["fields"]) == (
        400,
        {"tier": ["Unknown tier for this campaign."]},
    )
    assert Pledge.objects.count() == 0


@pytest.mark.parametrize("state", ["unknown", "draft"])
def test_a_campaign_that_is_not_public_is_unknown_and_writes_nothing(state):
    campaign = launched_campaign(lead=person("lead"))
    if state == "draft":
        Campaign.objects.filter(pk=campaign.pk).update(status="draft")
    target = campaign.pk + 1_000 if state == "unknown" else campaign.pk
    response = client_for(person()).post(
        "/api/v1/pledges", {"campaign": target, "amount": 5_000}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (
        "validation_error",
        {"campaign": ["Unknown campaign."]},
    )
    assert Pledge.objects.count() == 0


def test_the_pledge_answer_is_the_serializers_in_every_state(django_capture_on_commit_callbacks):
    """The create answer is built without the serializer; it must say exactly what it says."""
    campaign = launched_campaign(lead=person("lead"), funding_model=FundingModel.KEEP_IT_ALL)
    tier = TierFactory(campaign=campaign, amount=1_000, limit=10)
    backer = person()
    card = saved_card(backer)
    client = client_for(backer)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/pledges",
            {
                "campaign": campaign.pk,
                "amount": 2_500,
                "tier": tier.pk,
                "payment_method": card.pk,
                "is_anonymous": True,
                "public_message": "  Bravo  ",
            },
            format="json",
        )
    assert created.status_code == 201
    pledge = Pledge.objects.get(pk=created.json()["id"])
    assert pledge.status == "collected"  # charged by the worker since
    assert created.json()["status"] == "collecting"
    # The answer given at creation is what the serializer says of the pledge as it was then.
    pledge.status, pledge.attempts, pledge.collected_at, pledge.charge_entry_id = (
        "collecting",
        1,
        None,
        None,
    )
    assert created.json() == PledgeOutputSerializer(pledge).data
    # And in the later states: collected with its ledger entry, then a failed charge.
    pledge.refresh_from_db()
    assert pledge.charge_entry_id is not None
    assert pledge_payload(pledge) == PledgeOutputSerializer(pledge).data
    Pledge.objects.filter(pk=pledge.pk).update(
        status="charge_failed",
        failure_code="card_declined",
        failure_message="Refusée",
        retry_until=pledge.created_at,
        charge_entry_id=None,
    )
    pledge.refresh_from_db()
    assert pledge_payload(pledge) == PledgeOutputSerializer(pledge).data
    detail = client.get(f"/api/v1/pledges/{pledge.pk}")
    assert detail.json() == pledge_payload(pledge)
    assert detail.json()["retry_until"] is not None


def test_a_sold_out_tier_answers_409_and_writes_nothing():
    campaign = launched_campaign(lead=person("lead"))
    tier = TierFactory(campaign=campaign, amount=1_000, limit=1)
    first = client_for(person()).post(
        "/api/v1/pledges",
        {"campaign": campaign.pk, "amount": 1_000, "tier": tier.pk},
        format="json",
    )
    assert first.status_code == 201
    second = client_for(person()).post(
        "/api/v1/pledges",
        {"campaign": campaign.pk, "amount": 1_000, "tier": tier.pk},
        format="json",
    )
    assert (second.status_code, second.json()["error"]["code"]) == (409, "tier_sold_out")
    assert Pledge.objects.count() == 1


def test_a_pledge_with_a_saved_card_is_committed_and_retried_safely(
    django_capture_on_commit_callbacks,
):
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    card = saved_card(backer)
    client = client_for(backer)
    body = {
        "campaign": campaign.pk,
        "amount": 2_000,
        "payment_method": card.pk,
        "public_message": "Hâte !",
    }
    first = client.post("/api/v1/pledges", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    again = client.post("/api/v1/pledges", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "committed"
    assert Pledge.objects.count() == 1


def test_token_scopes_are_enforced():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    _token, read_only = api_token_create(user=backer, name="r", scopes=["read:funds"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert client.get("/api/v1/pledges").status_code == 200
    assert (
        client.post(
            "/api/v1/pledges", {"campaign": campaign.pk, "amount": 2_000}, format="json"
        ).status_code
        == 403
    )
    _token, writer = api_token_create(user=backer, name="w", scopes=["write:pledges"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {writer}")
    assert (
        client.post(
            "/api/v1/pledges", {"campaign": campaign.pk, "amount": 2_000}, format="json"
        ).status_code
        == 201
    )


def test_a_lead_builds_a_campaign_through_the_api_and_terms_lock_at_launch(
    django_capture_on_commit_callbacks,
):
    from .factories import default_theme

    default_theme()
    lead = person()
    client = client_for(lead)
    project = client.post(
        "/api/v1/lead/projects",
        {
            "title": "Cartographie ouverte",
            "summary": "Des données ouvertes",
            "theme": "inclusion-numerique",
            "description": "Un **commun** <script>alert(1)</script>",
            "links": [{"label": "Site", "url": "https://example.org"}],
            "licence": "ODbL-1.0",
        },
        format="json",
    ).json()
    assert "<script>" not in project["description_html"]
    for criterion in ("social_purpose", "democratic_governance", "profits_reinvested"):
        assert (
            client.put(
                f"/api/v1/lead/projects/{project['id']}/criteria/{criterion}",
                {"statement": "Oui"},
                format="json",
            ).status_code
            == 200
        )
    import datetime as dt

    from django.utils import timezone

    deadline = (timezone.now() + dt.timedelta(days=30)).isoformat()
    campaign = client.post(
        "/api/v1/lead/campaigns",
        {"project": project["id"], "title": "Carte", "goal": 20_000, "deadline": deadline},
        format="json",
    ).json()
    cid = campaign["id"]
    assert (
        client.post(
            f"/api/v1/lead/campaigns/{cid}/budget-lines",
            {"label": "Serveurs", "amount": 20_000},
            format="json",
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/lead/campaigns/{cid}/milestones",
            {"title": "Bêta", "amount": 20_000},
            format="json",
        ).status_code
        == 201
    )
    assert client.post(f"/api/v1/lead/campaigns/{cid}/submit").json()["status"] == "in_review"
    moderator = person("moderator")
    assert (
        client_for(moderator)
        .post(f"/api/v1/moderation/campaigns/{cid}/review", {"decision": "approve"}, format="json")
        .json()["status"]
        == "approved"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/lead/campaigns/{cid}/launch").json()["status"] == "live"
    locked = client.patch(f"/api/v1/lead/campaigns/{cid}", {"goal": 1_000}, format="json")
    assert (locked.status_code, locked.json()["error"]["code"]) == (409, "campaign_terms_locked")
    assert Campaign.objects.get(pk=cid).goal == 20_000


def test_webhook_endpoints_show_their_secret_and_can_roll_it():
    lead = person("lead")
    campaign = launched_campaign(lead=lead)
    client = client_for(lead)
    created = client.post(
        "/api/v1/lead/webhooks",
        {
            "project": campaign.project_id,
            "url": "http://127.0.0.1:9/x",
            "event_types": ["pledge.collected"],
        },
        format="json",
    ).json()
    assert created["secret"].startswith("whsec_")
    rolled = client.patch(
        f"/api/v1/lead/webhooks/{created['id']}", {"roll_secret": True}, format="json"
    ).json()
    assert rolled["secret"] != created["secret"]
    bad = client.post(
        "/api/v1/lead/webhooks",
        {
            "project": campaign.project_id,
            "url": "http://127.0.0.1:9/x",
            "event_types": ["everything"],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert WebhookEndpoint.objects.count() == 1
