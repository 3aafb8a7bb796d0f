"""Pledges through the services, with the sandbox provider: commitment, charges, cancellation,
refunds, and what the ledger shows."""

import pytest
from django.core import mail

from campaigns import services, tasks
from campaigns.enums import FundingModel, PledgeStatus
from campaigns.exceptions import CampaignNotLiveError, PledgeAmountError, PledgeError
from campaigns.models import Pledge, PledgeEvent, PledgeRefund, Tier
from campaigns.selectors import campaign_progress_get
from common.errors import ConflictError, IllegalTransitionError
from payments.models import Payment, Refund

from .conftest import (
    escrow_balance,
    launched_campaign,
    ledger_entries_for,
    past_deadline,
    person,
    pledge_payments,
    saved_card,
    stripe_float,
)
from .factories import TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_all_or_nothing_saves_the_card_and_charges_nothing_until_success(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=10_000)
    backer = person(language="en")
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=4_000,
        payment_method_id=card.pk,
        public_message="Bravo !",
    )
    assert pledge.status == PledgeStatus.COMMITTED
    assert pledge_payments(campaign) == []
    assert escrow_balance(campaign) == 0
    progress = campaign_progress_get(campaign)
    assert (progress.raised, progress.committed, progress.backers, progress.percentage) == (
        0,
        4_000,
        1,
        40,
    )
    assert [m.subject for m in mail.outbox] == ["Your pledge to Ateliers numériques"]
    assert "charged only if the campaign reaches its goal" in mail.outbox[0].body
    assert Pledge.objects.get(pk=pledge.pk).receipt_sent_at is not None


def test_a_pledge_without_a_card_waits_then_commits_when_the_card_is_given(run_on_commit):
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    pledge = services.pledge_create(backer=backer, campaign=campaign, amount=2_500)
    assert pledge.status == PledgeStatus.PENDING
    assert campaign_progress_get(campaign).committed == 0
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_card_set, pledge=pledge, actor=backer, payment_method_id=card.pk
    )
    assert pledge.status == PledgeStatus.COMMITTED
    assert campaign_progress_get(campaign).committed == 2_500
    assert list(
        PledgeEvent.objects.filter(pledge=pledge).values_list("from_status", "to_status")
    ) == [
        ("", "pending"),
        ("pending", "committed"),
    ]


def test_someone_elses_card_is_refused():
    campaign = launched_campaign(lead=person("lead"))
    backer, other = person(), person()
    card = saved_card(other)
    with pytest.raises(PledgeError) as caught:
        services.pledge_create(
            backer=backer, campaign=campaign, amount=2_500, payment_method_id=card.pk
        )
    assert caught.value.code == "payment_method_invalid"
    assert Pledge.objects.count() == 0


def test_keep_it_all_charges_at_once_into_the_escrow(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), funding_model=FundingModel.KEEP_IT_ALL)
    backer = person()
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=3_000,
        payment_method_id=card.pk,
    )
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.COLLECTED
    (payment,) = pledge_payments(campaign)
    assert (payment.amount, payment.status, payment.off_session) == (3_000, "succeeded", True)
    assert pledge.charge_entry_id == payment.charge_entry_id
    assert escrow_balance(campaign) == 3_000
    assert ledger_entries_for(campaign) == [("pledge_charge", "credit", 3_000)]
    progress = campaign_progress_get(campaign)
    assert (progress.raised, progress.committed, progress.backers) == (3_000, 0, 1)


@pytest.mark.parametrize(
    ("amount", "error"),
    [(99, PledgeAmountError), (1_999, PledgeAmountError)],
)
def test_amounts_below_the_minimum_or_the_tier_are_refused(amount, error):
    campaign = launched_campaign(lead=person("lead"))
    tier = TierFactory(campaign=campaign, amount=2_000)
    with pytest.raises(error):
        services.pledge_create(backer=person(), campaign=campaign, amount=amount, tier=tier)
    assert Pledge.objects.count() == 0


def test_a_campaign_that_is_not_live_takes_no_pledge(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=1_000)
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    with pytest.raises(CampaignNotLiveError):
        services.pledge_create(backer=person(), campaign=campaign, amount=1_000)
    assert Pledge.objects.count() == 0


def test_the_idempotency_key_returns_the_first_pledge():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    first = services.pledge_create(backer=backer, campaign=campaign, amount=1_500, client_key="k-1")
    again = services.pledge_create(backer=backer, campaign=campaign, amount=1_500, client_key="k-1")
    assert again.pk == first.pk
    with pytest.raises(ConflictError):
        services.pledge_create(backer=backer, campaign=campaign, amount=1_600, client_key="k-1")
    assert Pledge.objects.count() == 1


def test_a_backer_cancels_while_live_and_the_tier_place_comes_back(run_on_commit):
    campaign = launched_campaign(lead=person("lead"))
    tier = TierFactory(campaign=campaign, amount=2_000, limit=1)
    backer = person()
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=2_000,
        tier=tier,
        payment_method_id=card.pk,
    )
    assert Tier.objects.get(pk=tier.pk).claimed == 1
    pledge = services.pledge_cancel(pledge=pledge, actor=backer)
    assert pledge.status == PledgeStatus.CANCELLED
    assert Tier.objects.get(pk=tier.pk).claimed == 0
    assert campaign_progress_get(campaign).committed == 0
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    assert pledge_payments(campaign) == []
    assert escrow_balance(campaign) == 0


def test_no_cancelling_once_the_campaign_has_closed(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=1_000)
    backer = person()
    card = saved_card(backer)
    pledge = services.pledge_create(
        backer=backer, campaign=campaign, amount=1_000, payment_method_id=card.pk
    )
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    with pytest.raises(CampaignNotLiveError):
        services.pledge_cancel(pledge=pledge, actor=backer)
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COLLECTED


def test_a_keep_it_all_backer_who_cancels_is_refunded_as_a_reversal(run_on_commit):
    stripe_float()
    campaign = launched_campaign(lead=person("lead"), funding_model=FundingModel.KEEP_IT_ALL)
    backer = person()
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=3_000,
        payment_method_id=card.pk,
    )
    pledge = run_on_commit(services.pledge_cancel, pledge=pledge, actor=backer)
    pledge.refresh_from_db()
    assert (pledge.status, pledge.refunded_amount) == (PledgeStatus.REFUNDED, 3_000)
    assert escrow_balance(campaign) == 0
    assert ledger_entries_for(campaign) == [
        ("pledge_charge", "credit", 3_000),
        ("refund", "debit", 3_000),
    ]
    assert campaign_progress_get(campaign).raised == 0


def test_cancelling_a_campaign_refunds_everything_collected_once_per_pledge(run_on_commit):
    stripe_float()
    lead = person("lead")
    campaign = launched_campaign(lead=lead, goal=10_000, funding_model=FundingModel.KEEP_IT_ALL)
    pledges = []
    for amount in (3_000, 2_000):
        backer = person()
        card = saved_card(backer)
        pledges.append(
            run_on_commit(
                services.pledge_create,
                backer=backer,
                campaign=campaign,
                amount=amount,
                payment_method_id=card.pk,
            )
        )
    waiting = services.pledge_create(backer=person(), campaign=campaign, amount=1_000)
    assert escrow_balance(campaign) == 5_000
    run_on_commit(services.campaign_cancel, campaign=campaign, actor=lead, reason="Projet arrêté")
    for pledge in pledges:
        pledge.refresh_from_db()
        assert (pledge.status, pledge.refunded_amount) == (PledgeStatus.REFUNDED, pledge.amount)
    assert Pledge.objects.get(pk=waiting.pk).status == PledgeStatus.RELEASED
    assert escrow_balance(campaign) == 0
    # Running the refunds again (a duplicate task, the sweeper) refunds nothing more.
    for pledge in pledges:
        tasks.pledge_refund_cancelled.delay(pledge.pk)
    assert Refund.objects.count() == 2
    assert PledgeRefund.objects.count() == 2
    assert sorted(kind for kind, side, _ in ledger_entries_for(campaign) if side == "debit") == [
        "refund",
        "refund",
    ]


def test_a_partial_refund_then_the_rest(run_on_commit):
    stripe_float()
    from payments.services import payment_refund

    campaign = launched_campaign(lead=person("lead"), funding_model=FundingModel.KEEP_IT_ALL)
    backer = person()
    card = saved_card(backer)
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=3_000,
        payment_method_id=card.pk,
    )
    payment = Payment.objects.get(pk=Pledge.objects.get(pk=pledge.pk).payment_id)
    run_on_commit(
        payment_refund, payment=payment, amount=1_000, idempotency_key="partial-1", actor=None
    )
    pledge.refresh_from_db()
    assert (pledge.status, pledge.refunded_amount) == (PledgeStatus.PARTIALLY_REFUNDED, 1_000)
    assert campaign_progress_get(campaign).raised == 2_000
    payment.refresh_from_db()
    run_on_commit(
        payment_refund, payment=payment, amount=2_000, idempotency_key="partial-2", actor=None
    )
    pledge.refresh_from_db()
    assert (pledge.status, pledge.refunded_amount) == (PledgeStatus.REFUNDED, 3_000)
    assert escrow_balance(campaign) == 0


def test_refunding_a_pledge_that_was_never_charged_is_refused():
    campaign = launched_campaign(lead=person("lead"))
    pledge = services.pledge_create(backer=person(), campaign=campaign, amount=1_000)
    with pytest.raises(IllegalTransitionError):
        services.pledge_refund(pledge=pledge, actor=None, reason_key="x")
    assert Refund.objects.count() == 0
