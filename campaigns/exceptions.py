from common.errors import ApplicationError


class CampaignError(ApplicationError):
    code = "campaign_error"


class CampaignNotLiveError(CampaignError):
    code = "campaign_not_live"
    status_code = 409
    default_message = "This campaign is not taking pledges."


class CampaignTermsLockedError(CampaignError):
    code = "campaign_terms_locked"
    status_code = 409
    default_message = "The goal, deadline, currency and funding model are locked once submitted."


class CampaignInvalidError(CampaignError):
    code = "campaign_invalid"
    default_message = "The campaign is not complete."


class TierSoldOutError(CampaignError):
    code = "tier_sold_out"
    status_code = 409
    default_message = "This reward tier is sold out."


class PledgeError(CampaignError):
    code = "pledge_error"


class PledgeAmountError(PledgeError):
    code = "pledge_amount_invalid"
    default_message = "The amount is not valid for this pledge."


class PaymentMethodError(PledgeError):
    code = "payment_method_invalid"
    default_message = "This card cannot be used."


class MilestoneError(CampaignError):
    code = "milestone_error"


class NotProjectLeadError(CampaignError):
    code = "not_project_lead"
    status_code = 403
    default_message = "Only the project's leads can do this."


class WebhookEndpointError(CampaignError):
    code = "webhook_endpoint_invalid"
    default_message = "This webhook address cannot be used."
