"""Filters of the campaigns API: a value the schema does not allow is refused with a 400,
never silently ignored."""

import django_filters

from common.filters import StrictFilterSet

from .enums import (
    PUBLIC_STATUSES,
    CampaignStatus,
    FundingModel,
    MilestoneStatus,
    PledgeStatus,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from .models import Campaign, Milestone, Pledge, WebhookDelivery


class CampaignFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in CampaignStatus if s in PUBLIC_STATUSES]
    )
    theme = django_filters.CharFilter(field_name="project__theme__slug")
    funding_model = django_filters.ChoiceFilter(choices=FundingModel.choices)
    project = django_filters.NumberFilter(field_name="project_id")

    class Meta:
        model = Campaign
        fields = ["status", "theme", "funding_model", "project"]


class ModerationCampaignFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices)

    class Meta:
        model = Campaign
        fields = ["status"]


class PledgeFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=PledgeStatus.choices)
    campaign = django_filters.NumberFilter(field_name="campaign_id")

    class Meta:
        model = Pledge
        fields = ["status", "campaign"]


class BackerFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=PledgeStatus.choices)

    class Meta:
        model = Pledge
        fields = ["status"]


class DisbursementRequestFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=MilestoneStatus.choices)
    campaign = django_filters.NumberFilter(field_name="campaign_id")

    class Meta:
        model = Milestone
        fields = ["status", "campaign"]


class DeliveryFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(choices=WebhookEventType.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]


class LedgerLineFilter(StrictFilterSet):
    campaign = django_filters.NumberFilter(field_name="account__owner_id")
