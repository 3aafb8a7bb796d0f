"""Updates emailed to backers, the GDPR export, ledger labels, scheduled launches, and the
sweeper that recovers work whose task was lost while the broker was down."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import services, tasks
from campaigns.enums import CampaignStatus, FundingModel, PledgeStatus
from campaigns.models import Campaign, CampaignUpdate, Pledge
from campaigns.selectors import ledger_owner_labels
from members.exports import user_data_export

from .conftest import launched_campaign, past_deadline, person, saved_card
from .factories import BudgetLineFactory, CampaignFactory, MilestoneFactory, criteria_declare

pytestmark = pytest.mark.django_db


def test_an_update_is_emailed_once_to_each_backer_in_their_language(
    django_capture_on_commit_callbacks,
):
    lead = person("lead")
    campaign = launched_campaign(lead=lead)
    backers = [person(language="fr"), person(language="en")]
    for backer in backers:
        services.pledge_create(
            backer=backer, campaign=campaign, amount=1_000, payment_method_id=saved_card(backer).pk
        )
        services.pledge_create(
            backer=backer, campaign=campaign, amount=1_500, payment_method_id=saved_card(backer).pk
        )
    quitter = person()
    pledge = services.pledge_create(backer=quitter, campaign=campaign, amount=1_000)
    services.pledge_cancel(pledge=pledge, actor=quitter)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update = services.update_create(
            campaign=campaign, actor=lead, title="Le prototype est prêt", body="Merci **à tous**."
        )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in backers)
    # Each in the backer's language: French typography puts a space before the colon.
    assert {m.to[0]: m.subject for m in mail.outbox} == {
        backers[0].email: f"{campaign.title} : Le prototype est prêt",
        backers[1].email: f"{campaign.title}: Le prototype est prêt",
    }
    assert all("Merci **à tous**." in m.body for m in mail.outbox)
    update.refresh_from_db()
    assert (update.email_status, update.emailed_count) == ("sent", 2)
    tasks.update_email_send.delay(update.pk)  # a duplicate run sends nothing more
    assert len(mail.outbox) == 2


def test_updates_are_for_launched_campaigns():
    lead = person("lead")
    draft = CampaignFactory(project__lead=lead)
    with pytest.raises(Exception) as caught:
        services.update_create(campaign=draft, actor=lead, title="x", body="y")
    assert caught.value.code == "campaign_not_launched"
    assert CampaignUpdate.objects.count() == 0


def test_the_data_export_lists_my_pledges():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    services.pledge_create(
        backer=backer, campaign=campaign, amount=1_200, public_message="Hop", is_anonymous=True
    )
    export = user_data_export(user=backer)
    (row,) = export["pledges"]
    assert (
        row["campaign"],
        row["amount"],
        row["status"],
        row["is_anonymous"],
        row["public_message"],
    ) == (
        campaign.title,
        1_200,
        "pending",
        True,
        "Hop",
    )
    assert export["projects_led"] == []


def test_ledger_owner_labels_name_the_campaign():
    campaign = CampaignFactory(title="Atelier vélo")
    assert ledger_owner_labels([campaign.pk, 999_999]) == {campaign.pk: "Campaign: Atelier vélo"}


def test_an_approved_campaign_launches_at_its_scheduled_start(django_capture_on_commit_callbacks):
    lead = person("lead")
    moderator = person("moderator")
    start = timezone.now() + dt.timedelta(hours=1)
    project = CampaignFactory(project__lead=lead).project
    campaign = services.campaign_create(
        project=project, actor=lead, title="Plus tard", goal=5_000,
        starts_at=start, deadline=start + dt.timedelta(days=20),
    )  # fmt: skip
    criteria_declare(project)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign, amount=5_000)
    services.campaign_submit(campaign=campaign, actor=lead)
    services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    assert services.campaigns_launch_due() == []
    assert services.campaigns_launch_due(now=start + dt.timedelta(minutes=1)) == [campaign.pk]
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.LIVE


def test_work_lost_while_the_broker_was_down_is_published_again_by_the_sweeper(
    settings, django_capture_on_commit_callbacks
):
    """With no broker, requests still succeed and the tasks are dropped; the sweeper, reading
    the database, publishes them again after the grace period."""
    campaign = launched_campaign(
        lead=person("lead"), goal=2_000, funding_model=FundingModel.KEEP_IT_ALL
    )
    backer = person()
    card = saved_card(backer)
    from config.celery_app import app

    saved = app.conf.task_always_eager, app.conf.broker_url
    from tests.fixtures import celery_use_broker

    app.conf.task_always_eager = False
    celery_use_broker(app, "redis://127.0.0.1:1/0")  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            pledge = services.pledge_create(
                backer=backer, campaign=campaign, amount=2_000, payment_method_id=card.pk
            )
    finally:
        app.conf.task_always_eager = saved[0]
        celery_use_broker(app, saved[1])
    assert (
        Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COLLECTING
    )  # the charge task was lost
    settings.CAMPAIGNS_SWEEP_GRACE = dt.timedelta(0)
    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.campaigns_sweep.delay().get()
    assert counts["collect"] == 1
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COLLECTED


def test_the_sweeper_settles_a_closed_campaign_whose_settling_task_was_lost(settings):
    campaign = launched_campaign(lead=person("lead"), goal=1_000)
    backer = person()
    pledge = services.pledge_create(
        backer=backer, campaign=campaign, amount=1_000, payment_method_id=saved_card(backer).pk
    )
    services.campaign_close(
        campaign=campaign, now=past_deadline(campaign)
    )  # on-commit hooks never run
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COMMITTED
    # The campaign was closed "after its deadline", ten days ahead of the real clock.
    settings.CAMPAIGNS_SWEEP_GRACE = -dt.timedelta(days=11)
    tasks.campaigns_sweep.delay()
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.COLLECTED
