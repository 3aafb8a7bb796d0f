"""Factories for campaigns: rows built directly, for setting the scene; the flows under test
always go through the services."""

import datetime as dt

import factory
from django.utils import timezone

from campaigns.enums import CampaignStatus, CriterionStatus, FundingModel, SSECriterion
from campaigns.models import (
    BudgetLine,
    Campaign,
    Milestone,
    Project,
    ProjectCriterion,
    ProjectLead,
    Theme,
    Tier,
)
from members.models import RoleGrant
from tests.factories import UserFactory


def default_theme() -> Theme:
    theme = Theme.objects.filter(slug="inclusion-numerique").first()
    if theme is None:
        theme = Theme.objects.create(
            slug="inclusion-numerique", name_en="Digital inclusion", name_fr="Inclusion numérique"
        )
    return theme


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Projet numérique {n}")
    slug = factory.Sequence(lambda n: f"projet-{n}")
    summary = "Des ateliers numériques gratuits dans les quartiers."
    description = "## Le projet\n\nDes **ateliers** pour tous."
    theme = factory.LazyFunction(default_theme)

    @factory.post_generation
    def lead(obj, create, extracted, **kwargs):
        """ProjectFactory(lead=user) puts that person on the team, with the lead role."""
        if create and extracted is not None:
            ProjectLead.objects.get_or_create(project=obj, user=extracted)
            RoleGrant.objects.get_or_create(user=extracted, role="lead")


def criteria_declare(project: Project, *, verified: bool = False) -> None:
    for criterion in SSECriterion.values:
        ProjectCriterion.objects.update_or_create(
            project=project,
            criterion=criterion,
            defaults={
                "statement": f"How we meet {criterion}.",
                "status": CriterionStatus.VERIFIED if verified else CriterionStatus.DECLARED,
            },
        )


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Campagne {n}")
    slug = factory.Sequence(lambda n: f"campagne-{n}")
    goal = 100_000
    currency = "EUR"
    funding_model = FundingModel.ALL_OR_NOTHING
    deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
    status = CampaignStatus.DRAFT


def live_campaign(**kwargs) -> Campaign:
    """A campaign that is live, launched a day ago (set as the services would leave it)."""
    now = timezone.now()
    kwargs.setdefault("status", CampaignStatus.LIVE)
    kwargs.setdefault("launched_at", now - dt.timedelta(days=1))
    return CampaignFactory(**kwargs)


class TierFactory(factory.django.DjangoModelFactory[Tier]):
    class Meta:
        model = Tier

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Contrepartie {n}")
    amount = 2_000


class BudgetLineFactory(factory.django.DjangoModelFactory[BudgetLine]):
    class Meta:
        model = BudgetLine

    campaign = factory.SubFactory(CampaignFactory)
    label = "Animation des ateliers"
    amount = 60_000


class MilestoneFactory(factory.django.DjangoModelFactory[Milestone]):
    class Meta:
        model = Milestone

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Étape {n}")
    amount = 50_000


__all__ = ["UserFactory"]
