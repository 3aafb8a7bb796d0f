"""Milestone tranches: requested by the lead, approved by the treasurer, paid by the worker."""

import pytest

from campaigns import services, tasks
from campaigns.enums import CampaignStatus, MilestoneStatus
from campaigns.exceptions import MilestoneError
from campaigns.models import Campaign, Milestone, WebhookDelivery, WebhookEndpoint
from campaigns.selectors import campaign_funds_get, milestones_with_payouts
from payments.models import Disbursement
from payments.services import disbursement_approve

from .conftest import (
    escrow_balance,
    ledger_entries_for,
    payouts_ready,
    person,
    stripe_float,
    succeeded_campaign,
    wait_until,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_tranches_are_requested_approved_and_paid_then_the_campaign_completes(run_on_commit):
    stripe_float()  # the provider keeps its fees: the platform's other money covers them
    lead = person("lead")
    treasurer = person("treasurer")
    campaign = succeeded_campaign(lead=lead)
    payouts_ready(campaign.project, lead)
    endpoint = WebhookEndpoint.objects.create(
        project=campaign.project, url="http://127.0.0.1:9/hook", secret="s", is_active=True
    )
    first, second = Milestone.objects.filter(campaign=campaign).order_by("position")
    first = services.milestone_request(milestone=first, actor=lead)
    assert (first.status, Campaign.objects.get(pk=campaign.pk).status) == (
        "requested",
        "disbursing",
    )
    disbursement = Disbursement.objects.get(pk=first.disbursement_id)
    assert (disbursement.amount, disbursement.status, disbursement.requested_by_id) == (
        6_000,
        "requested",
        lead.pk,
    )
    assert disbursement.source_account.code == f"campaign:{campaign.pk}:campaign_escrow:EUR"
    run_on_commit(disbursement_approve, disbursement=disbursement, actor=treasurer)
    assert Disbursement.objects.get(pk=disbursement.pk).status == "paid"
    # Payments tells the milestone as soon as its payout moves (DISBURSEMENT_REFERENCE_TASKS).
    assert [v.status for v in milestones_with_payouts(campaign)] == ["paid", "planned"]
    first.refresh_from_db()
    assert first.status == MilestoneStatus.PAID
    assert list(first.events.values_list("to_status", flat=True)) == [
        "requested",
        "approved",
        "paid",
    ]
    assert (
        WebhookDelivery.objects.filter(endpoint=endpoint, event_type="milestone.paid").count() == 1
    )
    funds = campaign_funds_get(campaign)
    assert (funds.collected, funds.in_escrow, funds.disbursed, funds.pending_disbursement) == (
        10_000,
        4_000,
        6_000,
        0,
    )
    second = services.milestone_request(milestone=second, actor=lead)
    run_on_commit(
        disbursement_approve,
        disbursement=Disbursement.objects.get(pk=second.disbursement_id),
        actor=treasurer,
    )
    services.milestone_sync(milestone_id=second.pk)
    campaign.refresh_from_db()
    assert (campaign.status, escrow_balance(campaign)) == (CampaignStatus.COMPLETED, 0)
    assert ledger_entries_for(campaign) == [
        ("pledge_charge", "credit", 6_000),
        ("pledge_charge", "credit", 4_000),
        ("disbursement", "debit", 6_000),
        ("disbursement", "debit", 4_000),
    ]


def test_a_tranche_needs_a_payout_account_and_a_succeeded_campaign():
    lead = person("lead")
    campaign = succeeded_campaign(lead=lead)
    milestone = Milestone.objects.filter(campaign=campaign).first()
    with pytest.raises(MilestoneError) as caught:
        services.milestone_request(milestone=milestone, actor=lead)
    assert caught.value.code == "payee_not_ready"
    assert Milestone.objects.get(pk=milestone.pk).status == MilestoneStatus.PLANNED
    assert Disbursement.objects.count() == 0


def test_tranches_never_exceed_what_was_raised():
    lead = person("lead")
    campaign = succeeded_campaign(lead=lead, pledged=(10_000,))
    payouts_ready(campaign.project, lead)
    first = Milestone.objects.filter(campaign=campaign).order_by("position").first()
    services.milestone_update(
        milestone=Milestone.objects.filter(campaign=campaign).last(), actor=lead, data={}
    )
    with pytest.raises(MilestoneError) as caught:
        services.milestone_create(campaign=campaign, actor=lead, title="Bonus", amount=1)
    assert caught.value.code == "tranches_exceed"
    services.milestone_request(milestone=first, actor=lead)
    assert Disbursement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_pays_an_approved_tranche(celery_worker):
    lead = person("lead")
    treasurer = person("treasurer")
    campaign = succeeded_campaign(lead=lead)
    wait_until(lambda: escrow_balance(campaign) == 10_000, "the worker did not collect the pledges")
    payouts_ready(campaign.project, lead)
    milestone = services.milestone_request(
        milestone=Milestone.objects.filter(campaign=campaign).order_by("position").first(),
        actor=lead,
    )
    disbursement_approve(
        disbursement=Disbursement.objects.get(pk=milestone.disbursement_id), actor=treasurer
    )
    wait_until(
        lambda: Disbursement.objects.get(pk=milestone.disbursement_id).status == "paid",
        "the worker did not pay the tranche",
    )
    tasks.campaigns_sweep.delay()  # what beat does: the milestone learns its payout was made
    wait_until(
        lambda: Milestone.objects.get(pk=milestone.pk).status == MilestoneStatus.PAID,
        "the milestone did not follow its disbursement",
    )
    assert escrow_balance(campaign) == 4_000
