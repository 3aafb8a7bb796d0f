from django.urls import path

from . import apis

app_name = "campaigns"

urlpatterns = [
    # public
    path("themes", apis.ThemeListApi.as_view(), name="themes"),
    path("campaigns", apis.CampaignListApi.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>", apis.CampaignDetailApi.as_view(), name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/progress",
        apis.CampaignProgressApi.as_view(),
        name="campaign-progress",
    ),
    path("campaigns/<int:campaign_id>/tiers", apis.CampaignTierListApi.as_view(), name="tiers"),
    path(
        "campaigns/<int:campaign_id>/budget-lines",
        apis.CampaignBudgetLineListApi.as_view(),
        name="budget-lines",
    ),
    path(
        "campaigns/<int:campaign_id>/milestones",
        apis.CampaignMilestoneListApi.as_view(),
        name="milestones",
    ),
    path(
        "campaigns/<int:campaign_id>/updates", apis.CampaignUpdateListApi.as_view(), name="updates"
    ),
    path(
        "campaigns/<int:campaign_id>/backers", apis.CampaignBackerListApi.as_view(), name="backers"
    ),
    # backers
    path("pledges", apis.PledgeListCreateApi.as_view(), name="pledges"),
    path("pledges/<int:pledge_id>", apis.PledgeDetailApi.as_view(), name="pledge-detail"),
    path("pledges/<int:pledge_id>/cancel", apis.PledgeCancelApi.as_view(), name="pledge-cancel"),
    path("pledges/<int:pledge_id>/card", apis.PledgeCardApi.as_view(), name="pledge-card"),
    path("pledges/<int:pledge_id>/receipt", apis.PledgeReceiptApi.as_view(), name="pledge-receipt"),
    # leads
    path("lead/projects", apis.LeadProjectListCreateApi.as_view(), name="lead-projects"),
    path(
        "lead/projects/<int:project_id>",
        apis.LeadProjectDetailApi.as_view(),
        name="lead-project",
    ),
    path(
        "lead/projects/<int:project_id>/leads",
        apis.LeadProjectTeamAddApi.as_view(),
        name="lead-project-team",
    ),
    path(
        "lead/projects/<int:project_id>/leads/<int:user_id>",
        apis.LeadProjectTeamRemoveApi.as_view(),
        name="lead-project-team-remove",
    ),
    path(
        "lead/projects/<int:project_id>/criteria/<str:criterion>",
        apis.LeadCriterionDeclareApi.as_view(),
        name="lead-criterion",
    ),
    path("lead/campaigns", apis.LeadCampaignListCreateApi.as_view(), name="lead-campaigns"),
    path(
        "lead/campaigns/<int:campaign_id>",
        apis.LeadCampaignDetailApi.as_view(),
        name="lead-campaign",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/submit",
        apis.LeadCampaignSubmitApi.as_view(),
        name="lead-campaign-submit",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/launch",
        apis.LeadCampaignLaunchApi.as_view(),
        name="lead-campaign-launch",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/cancel",
        apis.LeadCampaignCancelApi.as_view(),
        name="lead-campaign-cancel",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/tiers",
        apis.LeadTierCreateApi.as_view(),
        name="lead-tiers",
    ),
    path("lead/tiers/<int:tier_id>", apis.LeadTierDetailApi.as_view(), name="lead-tier"),
    path(
        "lead/campaigns/<int:campaign_id>/budget-lines",
        apis.LeadBudgetLineCreateApi.as_view(),
        name="lead-budget-lines",
    ),
    path(
        "lead/budget-lines/<int:line_id>",
        apis.LeadBudgetLineDetailApi.as_view(),
        name="lead-budget-line",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/milestones",
        apis.LeadMilestoneCreateApi.as_view(),
        name="lead-milestones",
    ),
    path(
        "lead/milestones/<int:milestone_id>",
        apis.LeadMilestoneDetailApi.as_view(),
        name="lead-milestone",
    ),
    path(
        "lead/milestones/<int:milestone_id>/request",
        apis.LeadMilestoneRequestApi.as_view(),
        name="lead-milestone-request",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/pledges",
        apis.LeadCampaignPledgesApi.as_view(),
        name="lead-campaign-pledges",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/backers",
        apis.LeadCampaignBackerListApi.as_view(),
        name="lead-campaign-backers",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/funds",
        apis.LeadCampaignFundsApi.as_view(),
        name="lead-campaign-funds",
    ),
    path(
        "lead/campaigns/<int:campaign_id>/updates",
        apis.LeadUpdateCreateApi.as_view(),
        name="lead-campaign-updates",
    ),
    path("lead/ledger-lines", apis.LeadLedgerLineListApi.as_view(), name="lead-ledger-lines"),
    path("lead/disbursements", apis.LeadDisbursementListApi.as_view(), name="lead-disbursements"),
    path("lead/webhooks", apis.LeadWebhookListCreateApi.as_view(), name="lead-webhooks"),
    path(
        "lead/webhooks/<int:endpoint_id>", apis.LeadWebhookDetailApi.as_view(), name="lead-webhook"
    ),
    path(
        "lead/webhooks/<int:endpoint_id>/ping",
        apis.LeadWebhookPingApi.as_view(),
        name="lead-webhook-ping",
    ),
    path(
        "lead/webhooks/<int:endpoint_id>/deliveries",
        apis.LeadWebhookDeliveryListApi.as_view(),
        name="lead-webhook-deliveries",
    ),
    path(
        "lead/webhook-deliveries/<int:delivery_id>",
        apis.LeadWebhookDeliveryDetailApi.as_view(),
        name="lead-webhook-delivery",
    ),
    path(
        "lead/webhook-deliveries/<int:delivery_id>/replay",
        apis.LeadWebhookDeliveryReplayApi.as_view(),
        name="lead-webhook-delivery-replay",
    ),
    # moderation
    path(
        "moderation/campaigns",
        apis.ModerationCampaignListApi.as_view(),
        name="moderation-campaigns",
    ),
    path(
        "moderation/campaigns/<int:campaign_id>/review",
        apis.ModerationCampaignReviewApi.as_view(),
        name="moderation-campaign-review",
    ),
    path(
        "moderation/campaigns/<int:campaign_id>/cancel",
        apis.ModerationCampaignCancelApi.as_view(),
        name="moderation-campaign-cancel",
    ),
    path(
        "moderation/criteria/<int:criterion_id>/check",
        apis.ModerationCriterionCheckApi.as_view(),
        name="moderation-criterion-check",
    ),
]
