"""Gifts and their tax receipts: 66% by default, 75% for a project the treasurer has recorded as
aid to people in difficulty."""

import pytest

from fund.models import DonationReceipt, DonationTaxStatus
from tests.campaigns.factories import CampaignFactory, live_campaign

from .money_factories import donate, member

pytestmark = [pytest.mark.django_db]


def _receipt(donation):
    receipt = DonationReceipt.objects.get(donation=donation)
    return receipt.tax_rate, receipt.amount, receipt.tax_reduction


def test_the_treasurer_records_a_75_percent_project_and_its_gifts_say_so(client_as):
    campaign, other = live_campaign(), live_campaign()
    url = f"/api/v1/fund/projects/{campaign.project_id}/tax-status"
    donor = member()

    # Until the treasurer decides, the rate is the general-interest one.
    assert client_as("supporter")[0].get(url).json() == {
        "project": campaign.project_id,
        "tax_rate": 6600,
        "basis": "",
        "decided_at": None,
    }
    assert _receipt(donate(donor, 10_001, campaign=campaign)) == (6600, 10_001, 6_600)

    client, _treasurer = client_as("treasurer")
    basis = "Free meals and help with housing for people in need (CGI art. 200-1 ter)."
    for body in (
        {"tax_rate": 6000, "basis": basis},
        {"tax_rate": "7500", "basis": basis},
        {"tax_rate": 7500, "basis": "   "},
        {"tax_rate": 7500},
        {"tax_rate": 7500, "basis": basis, "since": "2026-01-01"},
    ):
        response = client.put(url, body, format="json")
        assert response.status_code == 400, body
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not DonationTaxStatus.objects.exists()

    response = client.put(url, {"tax_rate": 7500, "basis": basis}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["tax_rate"], response.json()["basis"]) == (7500, basis)
    assert client_as("supporter")[0].get(url).json()["tax_rate"] == 7500

    # New gifts to its campaigns carry 75%; the earlier receipt keeps the rate it was issued at,
    # and gifts to another project or to the grants pool stay at 66%.
    assert _receipt(donate(donor, 10_001, campaign=campaign)) == (7500, 10_001, 7_500)
    assert _receipt(donate(donor, 4_000, campaign=other)) == (6600, 4_000, 2_640)
    assert _receipt(donate(donor, 4_000)) == (6600, 4_000, 2_640)
    assert sorted(DonationReceipt.objects.values_list("tax_rate", flat=True)) == [
        6600,
        6600,
        6600,
        7500,
    ]

    # Back to the general rate when the grounds end.
    response = client.put(url, {"tax_rate": 6600, "basis": "Activity changed."}, format="json")
    assert response.json()["tax_rate"] == 6600
    assert _receipt(donate(donor, 1_000, campaign=campaign)) == (6600, 1_000, 660)


def test_a_draft_projects_tax_status_is_not_public(client):
    draft = CampaignFactory()  # never submitted: not public
    assert client.get(f"/api/v1/fund/projects/{draft.project_id}/tax-status").status_code == 404
