"""Every state machine of campaigns: each illegal move is refused and writes nothing."""

import itertools

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from campaigns.enums import (
    CampaignStatus,
    CriterionStatus,
    MilestoneStatus,
    PledgeStatus,
    WebhookDeliveryStatus,
)
from campaigns.machines import (
    campaign_machine,
    criterion_machine,
    delivery_machine,
    milestone_machine,
    pledge_machine,
)
from campaigns.models import (
    Campaign,
    CampaignEvent,
    Milestone,
    MilestoneEvent,
    Pledge,
    PledgeEvent,
    ProjectCriterion,
    WebhookDelivery,
    WebhookEndpoint,
)
from campaigns.services.lifecycle import _move as campaign_move
from campaigns.services.milestones import milestone_move
from campaigns.services.pledges import pledge_move
from common.errors import IllegalTransitionError
from tests.fixtures import require_service

from .conftest import person
from .factories import CampaignFactory, MilestoneFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def illegal(machine, choices):
    return [
        (s, t)
        for s, t in itertools.product(choices.values, choices.values)
        if not machine.can(s, t)
    ]


def test_the_campaign_lifecycle_is_exactly_the_one_promised():
    C = CampaignStatus
    assert campaign_machine.moves == {
        C.DRAFT: {C.IN_REVIEW, C.CANCELLED},
        C.IN_REVIEW: {C.APPROVED, C.CHANGES_REQUESTED, C.CANCELLED},
        C.CHANGES_REQUESTED: {C.IN_REVIEW, C.CANCELLED},
        C.APPROVED: {C.LIVE, C.CANCELLED},
        C.LIVE: {C.SUCCEEDED, C.FAILED, C.CANCELLED},
        C.SUCCEEDED: {C.DISBURSING, C.CANCELLED},
        C.DISBURSING: {C.COMPLETED},
    }


def test_the_pledge_machine_is_exactly_the_documented_one():
    P = PledgeStatus
    assert pledge_machine.moves == {
        P.PENDING: {P.COMMITTED, P.COLLECTING, P.CANCELLED, P.EXPIRED, P.RELEASED},
        P.COMMITTED: {P.COLLECTING, P.CANCELLED, P.RELEASED},
        P.COLLECTING: {P.COLLECTED, P.CHARGE_FAILED},
        P.CHARGE_FAILED: {P.COLLECTING, P.LAPSED, P.COLLECTED},
        P.COLLECTED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
        P.PARTIALLY_REFUNDED: {P.REFUNDED},
    }


def test_every_illegal_campaign_move_is_refused_and_writes_nothing():
    campaign = CampaignFactory()
    pairs = illegal(campaign_machine, CampaignStatus)
    assert len(pairs) == 100 - 15
    for source, target in pairs:
        Campaign.objects.filter(pk=campaign.pk).update(status=source)
        campaign.refresh_from_db()
        events = CampaignEvent.objects.count()
        with pytest.raises(IllegalTransitionError), transaction.atomic():
            campaign_move(campaign, target)
        assert Campaign.objects.get(pk=campaign.pk).status == source
        assert CampaignEvent.objects.count() == events


def test_every_illegal_pledge_move_is_refused_and_writes_nothing():
    campaign = CampaignFactory()
    pledge = Pledge.objects.create(campaign=campaign, backer=person(), amount=1_000, currency="EUR")
    pairs = illegal(pledge_machine, PledgeStatus)
    assert len(pairs) == 121 - 16
    for source, target in pairs:
        Pledge.objects.filter(pk=pledge.pk).update(status=source)
        pledge.refresh_from_db()
        with pytest.raises(IllegalTransitionError), transaction.atomic():
            pledge_move(pledge, target)
        assert Pledge.objects.get(pk=pledge.pk).status == source
        assert PledgeEvent.objects.count() == 0


def test_a_move_that_lost_a_race_is_refused():
    """Compare-and-set: the row moved meanwhile, so the stale move changes nothing."""
    campaign = CampaignFactory()
    pledge = Pledge.objects.create(campaign=campaign, backer=person(), amount=1_000, currency="EUR")
    Pledge.objects.filter(pk=pledge.pk).update(status=PledgeStatus.CANCELLED)
    with pytest.raises(IllegalTransitionError) as caught, transaction.atomic():
        pledge_move(pledge, PledgeStatus.COMMITTED)  # the object still says pending
    assert caught.value.extra == {"from": "cancelled", "to": "committed"}
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.CANCELLED
    assert PledgeEvent.objects.count() == 0


def test_every_illegal_milestone_move_is_refused_and_writes_nothing():
    milestone = MilestoneFactory()
    for source, target in illegal(milestone_machine, MilestoneStatus):
        Milestone.objects.filter(pk=milestone.pk).update(status=source)
        milestone.refresh_from_db()
        with pytest.raises(IllegalTransitionError), transaction.atomic():
            milestone_move(milestone, target)
        assert Milestone.objects.get(pk=milestone.pk).status == source
        assert MilestoneEvent.objects.count() == 0


def test_every_illegal_criterion_and_delivery_move_is_refused():
    project = ProjectFactory()
    row = ProjectCriterion.objects.create(
        project=project, criterion="social_purpose", statement="x"
    )
    for source, target in illegal(criterion_machine, CriterionStatus):
        ProjectCriterion.objects.filter(pk=row.pk).update(status=source)
        with pytest.raises(IllegalTransitionError):
            criterion_machine.compare_and_set(
                ProjectCriterion.objects, pk=row.pk, source=source, target=target
            )
        assert ProjectCriterion.objects.get(pk=row.pk).status == source
    endpoint = WebhookEndpoint.objects.create(
        project=project, url="https://example.org", secret="s"
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="evt_1", event_type="ping", body="{}"
    )
    for source, target in illegal(delivery_machine, WebhookDeliveryStatus):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=source)
        with pytest.raises(IllegalTransitionError):
            delivery_machine.compare_and_set(
                WebhookDelivery.objects, pk=delivery.pk, source=source, target=target
            )
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == source


def test_status_columns_refuse_unknown_values():
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(status="won")
    pledge = Pledge.objects.create(campaign=campaign, backer=person(), amount=1_000, currency="EUR")
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.filter(pk=pledge.pk).update(status="paid")
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.filter(pk=pledge.pk).update(refunded_amount=1_001)
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.PENDING


def test_postgresql_itself_locks_the_terms_of_a_launched_campaign():
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL")
    campaign = CampaignFactory(status=CampaignStatus.LIVE)
    Campaign.objects.filter(pk=campaign.pk).update(launched_at=campaign.created_at)
    for change in (
        {"goal": 1},
        {"deadline": campaign.deadline.replace(year=2099)},
        {"currency": "USD"},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign.refresh_from_db()
    assert (campaign.goal, campaign.currency) == (100_000, "EUR")
    Campaign.objects.filter(pk=campaign.pk).update(stretch_goal=200_000)  # still allowed
    assert Campaign.objects.get(pk=campaign.pk).stretch_goal == 200_000
