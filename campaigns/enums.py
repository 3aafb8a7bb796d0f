from django.db import models
from django.utils.translation import gettext_lazy as _


class Licence(models.TextChoices):
    """Licences for a project's outputs, commons first."""

    CC_BY_SA_4 = "CC-BY-SA-4.0", _("Creative Commons Attribution-ShareAlike 4.0")
    CC_BY_4 = "CC-BY-4.0", _("Creative Commons Attribution 4.0")
    CC0 = "CC0-1.0", _("Creative Commons Zero (public domain)")
    AGPL_3 = "AGPL-3.0-or-later", _("GNU Affero GPL 3.0 or later")
    GPL_3 = "GPL-3.0-or-later", _("GNU GPL 3.0 or later")
    EUPL_12 = "EUPL-1.2", _("European Union Public Licence 1.2")
    MPL_2 = "MPL-2.0", _("Mozilla Public License 2.0")
    APACHE_2 = "Apache-2.0", _("Apache License 2.0")
    MIT = "MIT", _("MIT License")
    ODBL = "ODbL-1.0", _("Open Database License 1.0")
    ETALAB_2 = "etalab-2.0", _("Licence Ouverte / Etalab 2.0")
    PROPRIETARY = "proprietary", _("All rights reserved (not a commons)")


COMMONS_LICENCES = frozenset(value for value in Licence.values if value != Licence.PROPRIETARY)


class SSECriterion(models.TextChoices):
    """The three criteria of the social and solidarity economy (French law of 31 July 2014)."""

    SOCIAL_PURPOSE = "social_purpose", _("Social purpose")
    DEMOCRATIC_GOVERNANCE = "democratic_governance", _("Democratic governance")
    PROFITS_REINVESTED = "profits_reinvested", _("Profits kept for the activity")


class CriterionStatus(models.TextChoices):
    DECLARED = "declared", _("Declared, awaiting a moderator's check")
    VERIFIED = "verified", _("Checked by a moderator")
    REJECTED = "rejected", _("Not confirmed by a moderator")


class FundingModel(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")
    KEEP_IT_ALL = "keep_it_all", _("Keep it all")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    LIVE = "live", _("Live")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    DISBURSING = "disbursing", _("Paying out")
    COMPLETED = "completed", _("Completed")


# Before launch the terms (goal, deadline, currency, model) may change; from launch they are locked.
EDITABLE_STATUSES = frozenset({CampaignStatus.DRAFT, CampaignStatus.CHANGES_REQUESTED})
PRE_LAUNCH_STATUSES = frozenset(
    {
        CampaignStatus.DRAFT,
        CampaignStatus.IN_REVIEW,
        CampaignStatus.CHANGES_REQUESTED,
        CampaignStatus.APPROVED,
    }
)
# Shown to the public: launched at some point.
PUBLIC_STATUSES = frozenset(
    {
        CampaignStatus.LIVE,
        CampaignStatus.SUCCEEDED,
        CampaignStatus.FAILED,
        CampaignStatus.CANCELLED,
        CampaignStatus.DISBURSING,
        CampaignStatus.COMPLETED,
    }
)


class PledgeStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting a card")
    COMMITTED = "committed", _("Card saved")
    COLLECTING = "collecting", _("Being charged")
    COLLECTED = "collected", _("Charged")
    CHARGE_FAILED = "charge_failed", _("Charge failed: action needed")
    LAPSED = "lapsed", _("Lapsed")
    CANCELLED = "cancelled", _("Cancelled")
    RELEASED = "released", _("Released: nothing charged")
    EXPIRED = "expired", _("Expired: never completed")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Refunded")


# Money that reached the escrow (net of refunds, counted from the pledge's refunded_amount).
COLLECTED_STATUSES = frozenset({PledgeStatus.COLLECTED, PledgeStatus.PARTIALLY_REFUNDED})
# Saved cards not yet charged (all-or-nothing), including a charge under way or being retried.
COMMITTED_STATUSES = frozenset(
    {PledgeStatus.COMMITTED, PledgeStatus.COLLECTING, PledgeStatus.CHARGE_FAILED}
)
# A backer counts while their pledge is committed or paid.
BACKER_STATUSES = COLLECTED_STATUSES | COMMITTED_STATUSES
CANCELLABLE_STATUSES = frozenset({PledgeStatus.PENDING, PledgeStatus.COMMITTED})


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved by the treasurer")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payout failed")


# A tranche's disbursement (payments) → the milestone's status.
DISBURSEMENT_TO_MILESTONE = {
    "requested": MilestoneStatus.REQUESTED,
    "approved": MilestoneStatus.APPROVED,
    "submitted": MilestoneStatus.APPROVED,
    "paid": MilestoneStatus.PAID,
    "failed": MilestoneStatus.FAILED,
    "rejected": MilestoneStatus.FAILED,
}


class UpdateEmailStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")


class WebhookEventType(models.TextChoices):
    CAMPAIGN_LAUNCHED = "campaign.launched", _("Campaign launched")
    CAMPAIGN_SUCCEEDED = "campaign.succeeded", _("Campaign succeeded")
    CAMPAIGN_FAILED = "campaign.failed", _("Campaign failed")
    CAMPAIGN_CANCELLED = "campaign.cancelled", _("Campaign cancelled")
    CAMPAIGN_COMPLETED = "campaign.completed", _("Campaign completed")
    PLEDGE_COLLECTED = "pledge.collected", _("Pledge collected")
    PLEDGE_CHARGE_FAILED = "pledge.charge_failed", _("Pledge charge failed")
    PLEDGE_LAPSED = "pledge.lapsed", _("Pledge lapsed")
    PLEDGE_CANCELLED = "pledge.cancelled", _("Pledge cancelled")
    PLEDGE_REFUNDED = "pledge.refunded", _("Pledge refunded")
    MILESTONE_REQUESTED = "milestone.requested", _("Tranche requested")
    MILESTONE_PAID = "milestone.paid", _("Tranche paid (disbursement paid)")
    MILESTONE_FAILED = "milestone.failed", _("Tranche payout failed")
    PING = "ping", _("Test event")


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
