"""A campaign's life through the services: review, launch, terms locked, closing at the deadline."""

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from campaigns import services, tasks
from campaigns.enums import CampaignStatus, CriterionStatus, PledgeStatus
from campaigns.exceptions import CampaignInvalidError, CampaignTermsLockedError, NotProjectLeadError
from campaigns.models import Campaign, CampaignEvent, Pledge, ProjectCriterion, ProjectLead
from common.errors import IllegalTransitionError
from members.selectors import user_roles

from .conftest import launched_campaign, past_deadline, person, saved_card
from .factories import BudgetLineFactory, MilestoneFactory, ProjectFactory, criteria_declare

pytestmark = pytest.mark.django_db


def draft(lead, **kwargs):
    project = ProjectFactory(lead=lead)
    return services.campaign_create(
        project=project,
        actor=lead,
        title="Ateliers",
        goal=kwargs.pop("goal", 10_000),
        deadline=kwargs.pop("deadline", timezone.now() + dt.timedelta(days=20)),
        **kwargs,
    )


def test_creating_a_project_makes_its_creator_a_lead():
    from .factories import default_theme

    user = person()
    assert "lead" not in user_roles(user=user)
    project = services.project_create(
        user=user,
        title="Fab Lab solidaire",
        summary="Un atelier ouvert",
        theme=default_theme(),
    )
    assert list(ProjectLead.objects.filter(project=project).values_list("user_id", flat=True)) == [
        user.pk
    ]
    user.__dict__.pop("_roles_cache", None)
    assert "lead" in user_roles(user=user)
    assert project.licence == "CC-BY-SA-4.0"
    assert project.is_commons is True


def test_adding_someone_to_the_team_grants_the_lead_role():
    lead = person("lead")
    project = ProjectFactory(lead=lead)
    newcomer = person()
    services.project_lead_add(project=project, user=newcomer, actor=lead)
    newcomer.__dict__.pop("_roles_cache", None)
    assert "lead" in user_roles(user=newcomer)


def test_the_last_lead_cannot_leave():
    lead = person("lead")
    project = ProjectFactory(lead=lead)
    with pytest.raises(Exception) as caught:
        services.project_lead_remove(project=project, user=lead, actor=lead)
    assert caught.value.code == "last_lead"
    assert ProjectLead.objects.filter(project=project).count() == 1


@pytest.mark.parametrize("days", [0, 61])
def test_a_campaign_runs_one_to_sixty_days(days):
    lead = person("lead")
    with pytest.raises(ValidationError) as caught:
        draft(lead, deadline=timezone.now() + dt.timedelta(days=days, hours=-1 if days else 12))
    assert "deadline" in caught.value.message_dict
    assert Campaign.objects.count() == 0


def test_only_a_lead_of_the_project_creates_its_campaigns():
    project = ProjectFactory(lead=person("lead"))
    stranger = person("lead")
    with pytest.raises(NotProjectLeadError):
        services.campaign_create(
            project=project,
            actor=stranger,
            title="x",
            goal=1_000,
            deadline=timezone.now() + dt.timedelta(days=5),
        )
    assert Campaign.objects.count() == 0


def test_submission_needs_criteria_budget_and_milestones():
    lead = person("lead")
    campaign = draft(lead)
    with pytest.raises(CampaignInvalidError) as caught:
        services.campaign_submit(campaign=campaign, actor=lead)
    assert set(caught.value.fields) == {"criteria", "budget_lines", "milestones"}
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    criteria_declare(campaign.project)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign, amount=10_001)
    with pytest.raises(CampaignInvalidError) as caught:
        services.campaign_submit(campaign=campaign, actor=lead)
    assert set(caught.value.fields) == {"milestones"}


def test_review_round_trip_then_launch_locks_the_terms():
    lead = person("lead")
    moderator = person("moderator")
    campaign = draft(lead)
    criteria_declare(campaign.project)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign, amount=10_000)
    services.campaign_submit(campaign=campaign, actor=lead)
    with pytest.raises(ValidationError):
        services.campaign_review(campaign=campaign, actor=moderator, approve=False, note="")
    services.campaign_review(
        campaign=campaign, actor=moderator, approve=False, note="Précisez le budget."
    )
    campaign.refresh_from_db()
    assert (campaign.status, campaign.review_note) == ("changes_requested", "Précisez le budget.")
    services.campaign_update(campaign=campaign, actor=lead, data={"goal": 12_000})
    services.campaign_submit(campaign=campaign, actor=lead)
    with pytest.raises(CampaignTermsLockedError):
        services.campaign_update(campaign=campaign, actor=lead, data={"goal": 9_000})
    services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    campaign = services.campaign_launch(campaign=campaign, actor=lead)
    assert campaign.status == CampaignStatus.LIVE
    assert campaign.launched_at is not None
    deadline = campaign.deadline
    for change in ({"goal": 5_000}, {"deadline": deadline + dt.timedelta(days=1)}):
        with pytest.raises(CampaignTermsLockedError):
            services.campaign_update(campaign=campaign, actor=lead, data=change)
    campaign.refresh_from_db()
    assert (campaign.goal, campaign.deadline) == (12_000, deadline)
    services.campaign_update(campaign=campaign, actor=lead, data={"stretch_goal": 20_000})
    assert list(
        CampaignEvent.objects.filter(campaign=campaign).values_list("to_status", flat=True)
    ) == [
        "draft",
        "in_review",
        "changes_requested",
        "in_review",
        "approved",
        "live",
    ]


def test_a_moderator_does_not_review_their_own_project():
    moderator = person("moderator")
    campaign = draft(moderator)
    criteria_declare(campaign.project)
    BudgetLineFactory(campaign=campaign)
    MilestoneFactory(campaign=campaign, amount=1_000)
    services.campaign_submit(campaign=campaign, actor=moderator)
    with pytest.raises(Exception) as caught:
        services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    assert caught.value.code == "conflict_of_interest"
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.IN_REVIEW


def test_criteria_are_declared_then_checked_and_a_new_declaration_goes_back_to_review():
    lead = person("lead")
    moderator = person("moderator")
    project = ProjectFactory(lead=lead)
    row = services.criterion_declare(
        project=project, actor=lead, criterion="democratic_governance", statement="SCIC, 1 voix"
    )
    assert row.status == CriterionStatus.DECLARED
    row = services.criterion_check(
        criterion=row, actor=moderator, verified=True, note="statuts vus"
    )
    assert (row.status, row.checked_by_id) == (CriterionStatus.VERIFIED, moderator.pk)
    with pytest.raises(IllegalTransitionError):
        services.criterion_check(criterion=row, actor=moderator, verified=False)
    row = services.criterion_declare(
        project=project, actor=lead, criterion="democratic_governance", statement="Nouveaux statuts"
    )
    assert (row.status, row.checked_by_id, row.statement) == ("declared", None, "Nouveaux statuts")
    assert ProjectCriterion.objects.filter(project=project).count() == 1


def test_scheduled_campaigns_launch_and_due_ones_close_through_the_beat_task(
    django_capture_on_commit_callbacks,
):
    lead = person("lead")
    due = launched_campaign(lead=lead, goal=5_000)
    backer = person()
    card = saved_card(backer)
    services.pledge_create(backer=backer, campaign=due, amount=5_000, payment_method_id=card.pk)
    not_yet = launched_campaign(lead=lead, goal=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        closed = services.campaigns_close_due(now=past_deadline(due))
    assert due.pk in closed
    assert not_yet.pk in closed
    assert Campaign.objects.get(pk=due.pk).status == CampaignStatus.SUCCEEDED
    assert Campaign.objects.get(pk=not_yet.pk).status == CampaignStatus.FAILED
    assert Pledge.objects.get(campaign=due).status == PledgeStatus.COLLECTED
    assert tasks.campaigns_close_due.delay().get() == {"launched": [], "closed": []}


def test_the_close_command_closes_due_campaigns_with_a_progress_bar(
    django_capture_on_commit_callbacks,
):
    lead = person("lead")
    campaign = launched_campaign(lead=lead, goal=5_000)
    out, err = StringIO(), StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "campaigns_close_due",
            "--now",
            past_deadline(campaign).isoformat(),
            stdout=out,
            stderr=err,
        )
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.FAILED
    assert "1 campaign(s) closed" in out.getvalue()
    assert "Closing" in err.getvalue()  # tqdm writes its bar to stderr
