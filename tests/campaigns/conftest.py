"""Fixtures for the campaigns tests: people with roles, saved sandbox cards, campaigns ready
to take pledges, built through the services."""

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from campaigns import services
from campaigns.enums import FundingModel
from members.models import RoleGrant
from tests.factories import UserFactory

from .factories import BudgetLineFactory, MilestoneFactory, ProjectFactory, criteria_declare

VISA = "4242424242424242"
DECLINED = "4000000000000002"
NEEDS_AUTH = "4000002500003155"
FAILS_ON_CHARGE = "4000000000000341"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def person(role: str = "supporter", **kwargs: Any) -> Any:
    user = UserFactory(**kwargs)
    if role in {"lead", "treasurer", "moderator", "auditor"}:
        RoleGrant.objects.get_or_create(user=user, role=role)
    return user


def saved_card(user: Any, number: str = VISA) -> Any:
    """A card saved through the sandbox, as the card step does it."""
    from campaigns.services import payments_port

    setup = payments_port.card_setup_start(user=user)
    result = payments_port.sandbox_card_setup_confirm(
        user=user, setup_intent_id=setup.setup_intent_id, number=number, exp_month=12, exp_year=2034
    )
    if result.status == "requires_action":
        result = payments_port.sandbox_card_setup_authenticate(
            user=user, setup_intent_id=setup.setup_intent_id, is_successful=True
        )
    assert result.status == "succeeded", result.status
    return result.saved_method


def launched_campaign(
    *,
    lead: Any,
    goal: int = 10_000,
    funding_model: str = FundingModel.ALL_OR_NOTHING,
    milestones: tuple[int, ...] | None = None,
    days: int = 10,
    title: str = "Ateliers numériques",
) -> Any:
    """A campaign taken through review and launch by the services."""
    project = ProjectFactory(lead=lead)
    criteria_declare(project)
    moderator = person("moderator")
    campaign = services.campaign_create(
        project=project,
        actor=lead,
        title=title,
        goal=goal,
        funding_model=funding_model,
        deadline=timezone.now() + dt.timedelta(days=days),
    )
    BudgetLineFactory(campaign=campaign, amount=goal)
    if milestones is None:
        milestones = (goal * 6 // 10, goal - goal * 6 // 10)
    for i, amount in enumerate(milestones):
        MilestoneFactory(campaign=campaign, amount=amount, position=i, title=f"Étape {i + 1}")
    services.campaign_submit(campaign=campaign, actor=lead)
    services.campaign_review(campaign=campaign, actor=moderator, approve=True)
    return services.campaign_launch(campaign=campaign, actor=lead)


def past_deadline(campaign: Any) -> Any:
    """Move the clock past the deadline: the deadline is locked, so time moves instead."""
    return campaign.deadline + dt.timedelta(minutes=1)


def escrow_balance(campaign: Any) -> int:
    from ledger.models import Account

    account = Account.objects.filter(
        purpose="campaign_escrow", owner_type="campaign", owner_id=campaign.pk
    ).first()
    return int(account.balance) if account else 0


def pledge_payments(campaign: Any) -> list[Any]:
    from campaigns.models import Pledge
    from payments.models import Payment

    ids = list(Pledge.objects.filter(campaign=campaign).values_list("id", flat=True))
    return list(
        Payment.objects.filter(reference_type="pledge", reference_id__in=ids).order_by("id")
    )


def ledger_entries_for(campaign: Any) -> list[tuple[str, str, int]]:
    """(entry kind, side on the escrow, amount) for every posting on the campaign's escrow."""
    from ledger.models import Posting

    return list(
        Posting.objects.filter(account__purpose="campaign_escrow", account__owner_id=campaign.pk)
        .order_by("id")
        .values_list("entry__kind", "side", "amount")
    )


def stripe_float(amount: int = 50_000) -> None:
    """Money held at the provider for another campaign. Stripe keeps its fee when a charge is
    refunded, so a full refund is paid partly out of the platform's other money, as in life."""
    other = launched_campaign(
        lead=person("lead"), goal=amount, funding_model="keep_it_all", title="Autre campagne"
    )
    backer = person()
    card = saved_card(backer)
    pledge = services.pledge_create(
        backer=backer, campaign=other, amount=amount, payment_method_id=card.pk
    )
    services.pledge_collect(pledge_id=pledge.pk)  # what the worker does


def payouts_ready(project: Any, lead: Any) -> Any:
    """The project's payout account, opened and onboarded through the sandbox."""
    from campaigns.services import payments_port
    from payments.services.sandbox import sandbox_onboarding_complete

    url = payments_port.payout_onboarding_start(
        project=project, user=lead, return_url="http://testserver/lead/"
    )
    sandbox_onboarding_complete(token=url.rstrip("/").rsplit("/", 1)[-1])
    payee = payments_port.payout_account_refresh(project_id=project.pk)
    assert payee is not None
    assert payee.payouts_enabled
    return payee


def succeeded_campaign(
    *, lead: Any, goal: int = 10_000, pledged: tuple[int, ...] = (6_000, 4_000)
) -> Any:
    """A live all-or-nothing campaign, backed, closed at its deadline and collected (in process)."""
    from django.test import TestCase

    campaign = launched_campaign(lead=lead, goal=goal)
    for amount in pledged:
        backer = person()
        services.pledge_create(
            backer=backer, campaign=campaign, amount=amount, payment_method_id=saved_card(backer).pk
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign = services.campaign_close(campaign=campaign, now=past_deadline(campaign))
    assert campaign.status == "succeeded"
    return campaign


def wait_until(condition: Any, message: str, timeout: float = 20.0) -> None:
    """Poll for what a real worker does in the background."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)
