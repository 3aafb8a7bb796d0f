"""The failure paths: a declined card, authentication, a failed campaign, a backer who cancels,
a charge that fails after success (retry, then lapse) and a sold-out tier under concurrency."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from campaigns import services, tasks
from campaigns.enums import CampaignStatus, PledgeStatus
from campaigns.exceptions import TierSoldOutError
from campaigns.models import Campaign, Pledge, Tier
from campaigns.selectors import campaign_progress_get
from campaigns.services import payments_port
from payments.exceptions import CardDeclinedError
from payments.models import Payment, PaymentMethodSetup, SavedPaymentMethod
from tests.fixtures import require_service

from .conftest import (
    DECLINED,
    FAILS_ON_CHARGE,
    NEEDS_AUTH,
    escrow_balance,
    launched_campaign,
    ledger_entries_for,
    past_deadline,
    person,
    pledge_payments,
    saved_card,
)
from .factories import TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_a_declined_card_saves_nothing_and_the_pledge_keeps_waiting():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    pledge = services.pledge_create(backer=backer, campaign=campaign, amount=2_000)
    setup = payments_port.card_setup_start(user=backer)
    with pytest.raises(CardDeclinedError):
        payments_port.sandbox_card_setup_confirm(
            user=backer,
            setup_intent_id=setup.setup_intent_id,
            number=DECLINED,
            exp_month=1,
            exp_year=2031,
        )
    assert SavedPaymentMethod.objects.filter(user=backer).count() == 0
    assert (
        PaymentMethodSetup.objects.get(provider_setup_intent_id=setup.setup_intent_id).status
        == "failed"
    )
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.PENDING
    assert Payment.objects.count() == 0
    assert escrow_balance(campaign) == 0


@pytest.mark.parametrize("completes", [True, False])
def test_a_card_that_needs_authentication_is_saved_only_once_authenticated(
    completes, run_on_commit
):
    campaign = launched_campaign(lead=person("lead"), goal=2_000)
    backer = person()
    pledge = services.pledge_create(backer=backer, campaign=campaign, amount=2_000)
    setup = payments_port.card_setup_start(user=backer)
    result = payments_port.sandbox_card_setup_confirm(
        user=backer,
        setup_intent_id=setup.setup_intent_id,
        number=NEEDS_AUTH,
        exp_month=1,
        exp_year=2031,
    )
    assert (result.status, result.saved_method_id) == ("requires_action", None)
    result = payments_port.sandbox_card_setup_authenticate(
        user=backer, setup_intent_id=setup.setup_intent_id, is_successful=completes
    )
    if not completes:
        assert result.status == "failed"
        assert SavedPaymentMethod.objects.filter(user=backer).count() == 0
        assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.PENDING
        return
    pledge = run_on_commit(
        services.pledge_card_set,
        pledge=pledge,
        actor=backer,
        payment_method_id=result.saved_method_id,
    )
    assert pledge.status == PledgeStatus.COMMITTED
    # Set up with authentication, the card is then charged off-session without the backer.
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SUCCEEDED
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COLLECTED
    assert escrow_balance(campaign) == 2_000


def test_a_failed_campaign_charges_nothing_and_tells_its_backers(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=10_000)
    backers = [person(language="en") for _ in range(2)]
    pledges = [
        run_on_commit(
            services.pledge_create,
            backer=b,
            campaign=campaign,
            amount=3_000,
            payment_method_id=saved_card(b).pk,
        )
        for b in backers
    ]
    waiting = services.pledge_create(backer=person(), campaign=campaign, amount=1_000)
    mail.outbox.clear()
    campaign = run_on_commit(
        services.campaign_close, campaign=campaign, now=past_deadline(campaign)
    )
    assert campaign.status == CampaignStatus.FAILED
    assert [Pledge.objects.get(pk=p.pk).status for p in pledges] == ["released", "released"]
    assert Pledge.objects.get(pk=waiting.pk).status == PledgeStatus.RELEASED
    assert pledge_payments(campaign) == []
    assert ledger_entries_for(campaign) == []
    assert escrow_balance(campaign) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in backers)
    assert all("nothing was charged" in m.subject for m in mail.outbox)
    progress = campaign_progress_get(campaign)
    assert (progress.raised, progress.committed, progress.backers) == (0, 0, 0)


def test_a_charge_that_fails_after_success_is_retried_then_lapses(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=5_000)
    payer = person(language="en")
    failing = person(language="en")
    tier = TierFactory(campaign=campaign, amount=1_000, limit=10)
    good = run_on_commit(
        services.pledge_create,
        backer=payer,
        campaign=campaign,
        amount=4_000,
        payment_method_id=saved_card(payer).pk,
    )
    bad = run_on_commit(
        services.pledge_create,
        backer=failing,
        campaign=campaign,
        amount=1_000,
        tier=tier,
        payment_method_id=saved_card(failing, FAILS_ON_CHARGE).pk,
    )
    mail.outbox.clear()
    before = timezone.now()
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    assert Pledge.objects.get(pk=good.pk).status == PledgeStatus.COLLECTED
    bad.refresh_from_db()
    assert (bad.status, bad.attempts, bad.failure_code) == ("charge_failed", 1, "card_declined")
    assert before + dt.timedelta(days=7) <= bad.retry_until <= timezone.now() + dt.timedelta(days=7)
    assert bad.next_retry_at - bad.retry_until < dt.timedelta(0)
    (asked,) = [m for m in mail.outbox if m.to == [failing.email]]
    assert asked.subject.startswith("Action needed")
    assert f"/pledges/{bad.pk}/card/" in asked.body
    assert escrow_balance(campaign) == 4_000

    # The automatic retry comes due: it is charged again, and fails again.
    Pledge.objects.filter(pk=bad.pk).update(next_retry_at=timezone.now() - dt.timedelta(seconds=1))
    run_on_commit(tasks.campaigns_sweep.delay)
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("charge_failed", 2)
    assert [p.status for p in pledge_payments(campaign) if p.reference_id == bad.pk] == [
        "failed",
        "failed",
    ]

    # The window closes: the pledge lapses, its tier place comes back, nothing was charged.
    mail.outbox.clear()
    Pledge.objects.filter(pk=bad.pk).update(retry_until=timezone.now() - dt.timedelta(seconds=1))
    run_on_commit(tasks.campaigns_sweep.delay)
    bad.refresh_from_db()
    assert bad.status == PledgeStatus.LAPSED
    assert Tier.objects.get(pk=tier.pk).claimed == 0
    assert [m.subject for m in mail.outbox if m.to == [failing.email]] == [
        "Your pledge to Ateliers numériques has lapsed"
    ]
    assert ledger_entries_for(campaign) == [("pledge_charge", "credit", 4_000)]
    assert campaign_progress_get(campaign).raised == 4_000


def test_a_backer_who_acts_in_the_window_is_charged_with_the_new_card(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=1_000)
    backer = person()
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=1_000,
        payment_method_id=saved_card(backer, FAILS_ON_CHARGE).pk,
    )
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.CHARGE_FAILED
    new_card = saved_card(backer)
    run_on_commit(
        services.pledge_card_set, pledge=pledge, actor=backer, payment_method_id=new_card.pk
    )
    pledge.refresh_from_db()
    assert (pledge.status, pledge.attempts) == (PledgeStatus.COLLECTED, 2)
    assert escrow_balance(campaign) == 1_000


def test_a_card_that_needs_authentication_on_every_charge_asks_the_backer_to_act(run_on_commit):
    campaign = launched_campaign(lead=person("lead"), goal=1_000)
    backer = person(language="en")
    card = saved_card(backer, "4000002760003184")
    pledge = run_on_commit(
        services.pledge_create,
        backer=backer,
        campaign=campaign,
        amount=1_000,
        payment_method_id=card.pk,
    )
    mail.outbox.clear()
    run_on_commit(services.campaign_close, campaign=campaign, now=past_deadline(campaign))
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.CHARGE_FAILED
    assert "authentication" in pledge.failure_code
    assert [m.subject for m in mail.outbox] == [
        "Action needed: your pledge to Ateliers numériques could not be charged"
    ]
    assert ledger_entries_for(campaign) == []


@pytest.mark.django_db(transaction=True)
def test_a_limited_tier_is_never_oversold_under_concurrent_pledges():
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL")
    campaign = launched_campaign(lead=person("lead"))
    tier = TierFactory(campaign=campaign, amount=1_000, limit=5)
    backers = [person() for _ in range(24)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(backers))

    def pledge(backer):
        try:
            start.wait()
            services.pledge_create(backer=backer, campaign=campaign, amount=1_000, tier=tier)
            result = "ok"
        except TierSoldOutError:
            result = "sold out"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=pledge, args=(b,)) for b in backers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("ok") == 5
    assert outcomes.count("sold out") == 19
    assert Tier.objects.get(pk=tier.pk).claimed == 5
    assert Pledge.objects.filter(tier=tier).count() == 5
