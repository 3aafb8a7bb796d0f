"""The demo seeder: campaigns in every state, paid through the sandbox, books balanced."""

import random

import pytest

from campaigns import demo
from campaigns.enums import CampaignStatus
from campaigns.models import Campaign, Pledge
from ledger.selectors import trial_balance
from members import demo as members_demo

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_has_campaigns_in_every_state_with_consistent_books():
    context = {"rng": random.Random(7), "people": 24}
    members_demo.seed(context=context)
    demo.seed(context=context)
    states = set(Campaign.objects.values_list("status", flat=True))
    assert states >= {
        CampaignStatus.IN_REVIEW,
        CampaignStatus.APPROVED,
        CampaignStatus.LIVE,
        CampaignStatus.SUCCEEDED,
        CampaignStatus.FAILED,
        CampaignStatus.CANCELLED,
        CampaignStatus.DISBURSING,
        CampaignStatus.COMPLETED,
    }
    pledge_states = set(Pledge.objects.values_list("status", flat=True))
    assert pledge_states >= {"committed", "collected", "released", "refunded", "charge_failed"}
    assert all(total == 0 for total in trial_balance().values())
    demo.seed(context=context)  # a second run adds nothing
    assert Campaign.objects.count() == len(demo.PROJECTS)
