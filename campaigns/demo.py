"""Demo projects and campaigns in every state, backed by the demo people.

Everything goes through the services and the sandbox provider, so the books are what real use
would leave: charges, fees, refunds and payouts are all in the ledger. Campaigns that are
already over were run on a short clock: they closed a few seconds after their launch.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from members.enums import Role

from . import services
from .enums import CampaignStatus, FundingModel
from .models import Campaign, Milestone, Pledge, Project, Theme
from .services import payments_port

VISA = "4242424242424242"
FAILS_ON_CHARGE = "4000000000000341"


@dataclass
class DemoProject:
    slug: str
    title: str
    summary: str
    description: str
    theme: str
    licence: str
    campaign: str
    goal: int
    outcome: str  # the campaign state to reach
    model: str = FundingModel.ALL_OR_NOTHING
    tiers: list[tuple[str, int, int | None]] = field(default_factory=list)
    budget: list[tuple[str, int]] = field(default_factory=list)
    milestones: list[tuple[str, int]] = field(default_factory=list)
    updates: list[tuple[str, str]] = field(default_factory=list)
    backing: int = 0  # percent of the goal pledged by the demo people


PROJECTS = [
    DemoProject(
        slug="ateliers-du-clic",
        title="Les Ateliers du Clic",
        summary="Des ateliers numériques gratuits pour les seniors et les familles de Saint-Denis.",
        description=(
            "## Pourquoi\n\nUn habitant sur trois du quartier ne fait pas seul ses démarches en "
            "ligne. Nous ouvrons **quatre ateliers par semaine** dans les maisons de quartier.\n\n"
            "## Comment\n\n- des médiatrices et médiateurs numériques formés ;\n"
            "- du matériel reconditionné prêté à domicile ;\n- des supports sous licence libre.\n"
        ),
        theme="inclusion-numerique",
        licence="CC-BY-SA-4.0",
        campaign="Un an d'ateliers à Saint-Denis",
        goal=1_200_000,
        outcome=CampaignStatus.LIVE,
        tiers=[
            ("Merci sur notre site", 1_000, None),
            ("Un guide imprimé", 3_000, 200),
            ("Un atelier pour votre association", 25_000, 10),
        ],
        budget=[
            ("Deux médiatrices à mi-temps", 900_000),
            ("Matériel reconditionné", 200_000),
            ("Supports et impression", 100_000),
        ],
        milestones=[("Ouverture des ateliers", 600_000), ("Bilan à six mois", 600_000)],
        updates=[
            (
                "Les premières inscriptions",
                "Déjà **45 personnes** inscrites au premier atelier. Merci !",
            )
        ],
        backing=62,
    ),
    DemoProject(
        slug="cartes-ouvertes",
        title="Cartes Ouvertes des Quartiers",
        summary="Cartographier avec les habitants les lieux utiles du quartier, en données ouvertes.",
        description="Les données sont publiées sous **ODbL** et versées dans OpenStreetMap.",
        theme="communs-numeriques",
        licence="ODbL-1.0",
        campaign="Cartoparties 2026",
        goal=400_000,
        outcome=CampaignStatus.LIVE,
        model=FundingModel.KEEP_IT_ALL,
        tiers=[("Votre nom sur la carte", 2_000, None)],
        budget=[("Animation de 12 cartoparties", 300_000), ("Serveur et sauvegardes", 100_000)],
        milestones=[("Six cartoparties", 200_000), ("Publication des données", 200_000)],
        backing=38,
    ),
    DemoProject(
        slug="sante-connectee-solidaire",
        title="Santé Connectée Solidaire",
        summary="Une application libre de prise de rendez-vous pour les centres de santé associatifs.",
        description="Un logiciel **AGPL**, hébergé par une coopérative, sans publicité ni revente de données.",
        theme="sante",
        licence="AGPL-3.0-or-later",
        campaign="Version 1 pour dix centres",
        goal=800_000,
        outcome=CampaignStatus.DISBURSING,
        budget=[("Développement", 600_000), ("Hébergement coopératif (2 ans)", 200_000)],
        milestones=[
            ("Prototype testé dans deux centres", 400_000),
            ("Déploiement dans dix centres", 400_000),
        ],
        updates=[("Objectif atteint !", "Merci : la première tranche finance le prototype.")],
        backing=104,
    ),
    DemoProject(
        slug="ecole-du-code-libre",
        title="École du Code Libre",
        summary="Une formation gratuite au développement web pour des personnes en reconversion.",
        description="Seize semaines de formation, avec des projets pour des associations locales.",
        theme="education",
        licence="CC-BY-4.0",
        campaign="Promotion 2026",
        goal=500_000,
        outcome=CampaignStatus.COMPLETED,
        budget=[("Formateurs", 400_000), ("Locaux", 100_000)],
        milestones=[("Rentrée de la promotion", 300_000), ("Diplômes", 200_000)],
        backing=110,
    ),
    DemoProject(
        slug="reparer-plutot-que-jeter",
        title="Réparer Plutôt que Jeter",
        summary="Un atelier mobile de réparation d'ordinateurs et de téléphones.",
        description="Un camion-atelier qui passe chaque semaine dans cinq communes rurales.",
        theme="environnement",
        licence="CC-BY-SA-4.0",
        campaign="Le camion-atelier",
        goal=1_500_000,
        outcome=CampaignStatus.FAILED,
        budget=[("Camion aménagé", 1_200_000), ("Outillage", 300_000)],
        milestones=[("Achat du camion", 1_500_000)],
        backing=31,
    ),
    DemoProject(
        slug="voix-citoyennes",
        title="Voix Citoyennes",
        summary="Un outil libre de consultation des habitants pour les petites communes.",
        description="Fondé sur Decidim, adapté aux communes de moins de 5 000 habitants.",
        theme="democratie",
        licence="AGPL-3.0-or-later",
        campaign="Pilote dans trois communes",
        goal=600_000,
        outcome=CampaignStatus.IN_REVIEW,
        budget=[("Adaptation du logiciel", 400_000), ("Accompagnement des communes", 200_000)],
        milestones=[("Pilote", 600_000)],
    ),
    DemoProject(
        slug="coop-livraison-equitable",
        title="Coop Livraison Équitable",
        summary="Une plateforme coopérative de livraison à vélo, détenue par ses coursiers.",
        description="Les coursiers sont sociétaires et décident ensemble.",
        theme="economie-solidaire",
        licence="AGPL-3.0-or-later",
        campaign="Lancement à Lyon",
        goal=700_000,
        outcome=CampaignStatus.CANCELLED,
        model=FundingModel.KEEP_IT_ALL,
        budget=[("Application", 500_000), ("Vélos cargo", 200_000)],
        milestones=[("Application en service", 700_000)],
        backing=20,
    ),
    DemoProject(
        slug="acces-handicap-numerique",
        title="Accès Handicap Numérique",
        summary="Rendre accessibles les sites des associations du handicap, avec leurs membres.",
        description="Audits RGAA menés avec des personnes concernées, corrections publiées en libre.",
        theme="accessibilite",
        licence="EUPL-1.2",
        campaign="Vingt sites accessibles",
        goal=300_000,
        outcome=CampaignStatus.APPROVED,
        budget=[("Audits", 200_000), ("Corrections", 100_000)],
        milestones=[("Dix audits", 150_000), ("Dix corrections", 150_000)],
    ),
    DemoProject(
        slug="tiers-lieu-numerique",
        title="Tiers-lieu Numérique de Roubaix",
        summary="Un lieu ouvert pour apprendre, réparer et créer ensemble.",
        description="Fab lab, espace de travail partagé et permanence d'aide aux démarches.",
        theme="inclusion-numerique",
        licence="CC-BY-SA-4.0",
        campaign="Aménager le lieu",
        goal=450_000,
        outcome=CampaignStatus.SUCCEEDED,
        budget=[("Travaux", 300_000), ("Équipement", 150_000)],
        milestones=[("Ouverture", 450_000)],
        backing=100,
    ),
]

CRITERIA = {
    "social_purpose": "Le projet sert en priorité des personnes éloignées du numérique.",
    "democratic_governance": "Association loi 1901 : une personne, une voix en assemblée générale.",
    "profits_reinvested": "Les excédents éventuels restent affectés au projet.",
}


def _card(user: Any, number: str = VISA) -> int:
    setup = payments_port.card_setup_start(user=user)
    result = payments_port.sandbox_card_setup_confirm(
        user=user, setup_intent_id=setup.setup_intent_id, number=number, exp_month=12, exp_year=2031
    )
    return int(result.saved_method_id)


def _payouts(project: Project, lead: Any) -> None:
    from payments.services.sandbox import sandbox_onboarding_complete

    url = payments_port.payout_onboarding_start(project=project, user=lead, return_url="/lead/")
    sandbox_onboarding_complete(token=url.rstrip("/").rsplit("/", 1)[-1])
    payments_port.payout_account_refresh(project_id=project.pk)


def _pledge_until(
    campaign: Campaign, target: int, people: list[Any], rng: Any, cards: dict[int, int]
) -> None:
    """Pledges from the demo people until `target` is pledged (some back more than once)."""
    tiers = list(campaign.tiers.all())
    pledged = 0
    while pledged < target:
        person = rng.choice(people)
        tier = rng.choice([None, *tiers]) if tiers else None
        if tier is not None:
            tier.refresh_from_db()
            if tier.remaining == 0:
                tier = None
        amount = rng.choice([2_500, 5_000, 10_000, 20_000, 30_000, 50_000, 100_000])
        amount = max(min(amount, target - pledged), 500, tier.amount if tier else 0)
        if person.pk not in cards:
            cards[person.pk] = _card(person)
        services.pledge_create(
            backer=person,
            campaign=campaign,
            amount=amount,
            tier=tier,
            is_anonymous=rng.random() < 0.15,
            public_message=rng.choice(
                [
                    "",
                    "",
                    "Bravo !",
                    "Bon courage à l'équipe.",
                    "Hâte de voir ça.",
                    "Merci pour le quartier.",
                ]
            ),
            payment_method_id=cards[person.pk],
        )
        pledged += amount


def _settle(campaign: Campaign) -> None:
    """What the workers do after a close: every saved card is charged (or released)."""
    services.campaign_pledges_settle(campaign_id=campaign.pk)
    for pk in Pledge.objects.filter(campaign=campaign, status="committed").values_list(
        "id", flat=True
    ):
        services.pledge_collect(pledge_id=pk)


def _pay_tranche(milestone: Milestone, lead: Any, treasurer: Any) -> None:
    from payments.models import Disbursement
    from payments.services import disbursement_approve, disbursement_send

    milestone = services.milestone_request(milestone=milestone, actor=lead)
    assert milestone.disbursement_id is not None
    disbursement = Disbursement.objects.get(pk=milestone.disbursement_id)
    disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement_send(disbursement_id=disbursement.pk)
    services.milestone_sync(milestone_id=milestone.pk)


def _run(spec: DemoProject, lead: Any, context: dict[str, Any], cards: dict[int, int]) -> None:
    rng = context["rng"]
    moderator = context["staff"][Role.MODERATOR]
    treasurer = context["staff"][Role.TREASURER]
    people = [context["demo"], *context["people"]]
    project = services.project_create(
        user=lead,
        title=spec.title,
        summary=spec.summary,
        description=spec.description,
        theme=Theme.objects.get(slug=spec.theme),
        licence=spec.licence,
        links=[{"label": "Site", "url": f"https://{spec.slug}.example.org"}],
    )
    for criterion, statement in CRITERIA.items():
        row = services.criterion_declare(
            project=project, actor=lead, criterion=criterion, statement=statement
        )
        if spec.outcome not in {CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW}:
            services.criterion_check(criterion=row, actor=moderator, verified=True)
    now = timezone.now()
    finished = spec.outcome in {
        CampaignStatus.SUCCEEDED,
        CampaignStatus.FAILED,
        CampaignStatus.DISBURSING,
        CampaignStatus.COMPLETED,
    }
    # Finished campaigns ran on a short clock; the others have weeks ahead of them.
    deadline = now + (
        dt.timedelta(seconds=30) if finished else dt.timedelta(days=rng.randint(12, 45))
    )
    starts_at = now + dt.timedelta(days=3) if spec.outcome == CampaignStatus.APPROVED else None
    campaign = services.campaign_create(
        project=project,
        actor=lead,
        title=spec.campaign,
        goal=spec.goal,
        funding_model=spec.model,
        deadline=deadline + (dt.timedelta(days=3) if starts_at else dt.timedelta(0)),
        starts_at=starts_at,
    )
    for position, (title, amount, limit) in enumerate(spec.tiers):
        services.tier_create(
            campaign=campaign,
            actor=lead,
            title=title,
            amount=amount,
            limit=limit,
            position=position,
        )
    for position, (label, amount) in enumerate(spec.budget):
        services.budget_line_create(
            campaign=campaign, actor=lead, label=label, amount=amount, position=position
        )
    for position, (title, amount) in enumerate(spec.milestones):
        services.milestone_create(
            campaign=campaign, actor=lead, title=title, amount=amount, position=position
        )
    if spec.outcome == CampaignStatus.DRAFT:
        return
    services.campaign_submit(campaign=campaign, actor=lead)
    if spec.outcome == CampaignStatus.IN_REVIEW:
        services.campaign_review(
            campaign=campaign,
            actor=moderator,
            approve=False,
            note="Précisez le calendrier du pilote.",
        )
        services.campaign_submit(campaign=campaign, actor=lead)
        return
    services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    if spec.outcome == CampaignStatus.APPROVED:
        return
    campaign = services.campaign_launch(campaign=campaign, actor=lead)
    target = spec.goal * spec.backing // 100
    _pledge_until(campaign, target, people, rng, cards)
    if spec.outcome == CampaignStatus.SUCCEEDED:
        # One backer's card fails when charged: the pledge waits in its retry window.
        unlucky = people[-1]
        services.pledge_create(
            backer=unlucky,
            campaign=campaign,
            amount=2_500,
            payment_method_id=_card(unlucky, FAILS_ON_CHARGE),
        )
    for title, body in spec.updates[:1] if spec.outcome == CampaignStatus.LIVE else []:
        services.update_create(campaign=campaign, actor=lead, title=title, body=body)
    if spec.outcome == CampaignStatus.CANCELLED:
        for pk in Pledge.objects.filter(campaign=campaign, status="collecting").values_list(
            "id", flat=True
        ):
            services.pledge_collect(pledge_id=pk)
        campaign = services.campaign_cancel(
            campaign=campaign, actor=lead, reason="Un autre projet coopératif couvre déjà la ville."
        )
        services.campaign_pledges_settle(campaign_id=campaign.pk)
        for pk in Pledge.objects.filter(campaign=campaign, status="collected").values_list(
            "id", flat=True
        ):
            services.pledge_refund_cancelled(pledge_id=pk)
        return
    if not finished:
        if spec.model == FundingModel.KEEP_IT_ALL:
            for pk in Pledge.objects.filter(campaign=campaign, status="collecting").values_list(
                "id", flat=True
            ):
                services.pledge_collect(pledge_id=pk)
        return
    campaign = services.campaign_close(
        campaign=campaign, now=campaign.deadline + dt.timedelta(seconds=1)
    )
    _settle(campaign)
    for title, body in spec.updates:
        services.update_create(campaign=campaign, actor=lead, title=title, body=body)
    if spec.outcome in {CampaignStatus.DISBURSING, CampaignStatus.COMPLETED}:
        _payouts(project, lead)
        milestones = list(campaign.milestones.order_by("position"))
        for milestone in milestones if spec.outcome == CampaignStatus.COMPLETED else milestones[:1]:
            _pay_tranche(milestone, lead, treasurer)


def _themes_ensure() -> None:
    """The themes come with a migration; a flushed database gets them back here."""
    from importlib import import_module

    themes = import_module("campaigns.migrations.0002_themes").THEMES
    for position, (slug, en, fr, priority) in enumerate(themes):
        Theme.objects.get_or_create(
            slug=slug,
            defaults={"name_en": en, "name_fr": fr, "is_priority": priority, "position": position},
        )


def seed(*, context: dict[str, Any]) -> None:
    if Project.objects.filter(slug__in=[p.slug for p in PROJECTS]).exists():
        return
    _themes_ensure()
    leads = context["leads"]
    cards: dict[int, int] = {}
    # In process, and quietly: the demo people do not need their receipts printed.
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=True,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        CAMPAIGN_MIN_DAYS=0,
    ):
        from config.celery_app import app

        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        try:
            for index, spec in enumerate(PROJECTS):
                _run(spec, leads[index % len(leads)], context, cards)
        finally:
            app.conf.task_always_eager = eager
    with transaction.atomic():
        # The slugs promised above, so that the seeder knows it already ran.
        for spec in PROJECTS:
            Project.objects.filter(title=spec.title).update(slug=spec.slug)
