"""URLs of the fund's money API (included by fund/urls.py, under /api/v1/)."""

from django.urls import URLPattern, path

from . import money_apis as apis

urlpatterns: list[URLPattern] = [
    path("fund/savings", apis.SavingsApi.as_view(), name="savings"),
    path(
        "fund/savings/subscriptions",
        apis.SavingsSubscribeApi.as_view(),
        name="savings-subscriptions",
    ),
    path(
        "fund/savings/interest-share",
        apis.InterestShareApi.as_view(),
        name="savings-interest-share",
    ),
    path(
        "fund/savings/redemptions",
        apis.RedemptionListCreateApi.as_view(),
        name="savings-redemptions",
    ),
    path(
        "fund/savings/redemptions/<int:redemption_id>/cancel",
        apis.RedemptionCancelApi.as_view(),
        name="savings-redemption-cancel",
    ),
    path(
        "fund/savings/redemptions/<int:redemption_id>/payout",
        apis.RedemptionPayoutRetryApi.as_view(),
        name="savings-redemption-payout",
    ),
    path(
        "fund/savings/statements/<int:year>",
        apis.StatementApi.as_view(),
        name="savings-statement",
    ),
    path("fund/donations", apis.DonationListCreateApi.as_view(), name="donations"),
    path("fund/receipts", apis.ReceiptListApi.as_view(), name="receipts"),
    path("fund/receipts/<str:number>", apis.ReceiptDetailApi.as_view(), name="receipt-detail"),
    path(
        "fund/projects/<int:project_id>/tax-status",
        apis.ProjectTaxStatusApi.as_view(),
        name="project-tax-status",
    ),
    path("fund/match-estimate", apis.MatchEstimateApi.as_view(), name="match-estimate"),
    path("fund/matching-rules", apis.MatchingRuleListCreateApi.as_view(), name="matching-rules"),
    path(
        "fund/matching-rules/<int:rule_id>/adopt",
        apis.MatchingRuleAdoptApi.as_view(),
        name="matching-rule-adopt",
    ),
    path("fund/qf-rounds", apis.QFRoundListCreateApi.as_view(), name="qf-rounds"),
    path("fund/qf-rounds/<int:qf_round_id>", apis.QFRoundDetailApi.as_view(), name="qf-round"),
    path(
        "fund/qf-rounds/<int:qf_round_id>/open",
        apis.QFRoundOpenApi.as_view(),
        name="qf-round-open",
    ),
    path(
        "fund/qf-rounds/<int:qf_round_id>/close",
        apis.QFRoundCloseApi.as_view(),
        name="qf-round-close",
    ),
    path("fund/investments", apis.InvestmentListCreateApi.as_view(), name="investments"),
    path(
        "fund/investments/<int:investment_id>",
        apis.InvestmentDetailApi.as_view(),
        name="investment",
    ),
    path(
        "fund/investments/<int:investment_id>/approve",
        apis.InvestmentApproveApi.as_view(),
        name="investment-approve",
    ),
    path(
        "fund/investments/<int:investment_id>/cancel",
        apis.InvestmentCancelApi.as_view(),
        name="investment-cancel",
    ),
    path(
        "fund/investments/<int:investment_id>/repayments",
        apis.RepaymentCreateApi.as_view(),
        name="investment-repayments",
    ),
    path(
        "fund/investments/<int:investment_id>/default",
        apis.LoanDefaultApi.as_view(),
        name="investment-default",
    ),
    path(
        "fund/investments/<int:investment_id>/write-off",
        apis.LoanWriteOffApi.as_view(),
        name="investment-write-off",
    ),
    path(
        "fund/rounds/<int:round_id>/investments",
        apis.RoundInvestmentsCreateApi.as_view(),
        name="round-investments",
    ),
    path("fund/pool-transfers", apis.PoolTransferApi.as_view(), name="pool-transfers"),
    path("fund/dashboard", apis.DashboardApi.as_view(), name="dashboard"),
    path("fund/flows", apis.FlowsApi.as_view(), name="flows"),
    path("fund/years", apis.FundYearListApi.as_view(), name="years"),
]
