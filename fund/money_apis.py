"""API of the fund's money.

Public: the dashboard, the money flows, closed years, matching rules, quadratic-funding rounds,
investments, and the match estimate. Signed in: my savings, subscriptions, interest share,
redemptions, statement, donations and receipts (scopes read:funds / write:savings). Moderators
and the treasurer propose rules, rounds and investments; the treasurer approves and records money
(scope admin).
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign, Project, Theme
from campaigns.selectors import project_public_list
from common.pagination import CursorPagination
from common.serializers import (
    AmountField,
    CurrencyField,
    StrictCharField,
    StrictInputSerializer,
    StrictIntegerField,
)
from members.enums import Scope
from members.permissions import IsMember, IsSupporter, IsTreasurer
from members.selectors import user_from_request
from payments.apis import PaymentForPayerOutputSerializer

from .models import (
    Donation,
    DonationReceipt,
    DonationTaxStatus,
    FundYear,
    Investment,
    MatchingRule,
    Poll,
    QFRound,
    Redemption,
    Round,
)
from .money_enums import (
    DonationStatus,
    DonationTarget,
    FundPool,
    InterestShare,
    InvestmentKind,
    InvestmentStatus,
    MatchingRuleStatus,
    QFRoundStatus,
    ReceiptKind,
    RedemptionStatus,
    TaxRate,
)
from .permissions import IsFundManager
from .selectors.matching import match_estimate, matching_rules_list, qf_rounds_list
from .selectors.money import (
    fund_dashboard_get,
    fund_years,
    investments_public,
    money_flows,
    my_donations,
    my_receipts,
    my_redemptions,
    redemption_queue_position,
    savings_statement_get,
    savings_summary_get,
)
from .services.donations import donation_create, donation_tax_status_set
from .services.investments import (
    investment_approve,
    investment_cancel,
    investment_propose,
    loan_default_declare,
    loan_repayment_record,
    loan_write_off,
    round_investments_create,
)
from .services.matching import matching_rule_adopt, matching_rule_propose
from .services.pools import fund_pool_transfer
from .services.qf import qf_round_close, qf_round_create, qf_round_open
from .services.savings import (
    redemption_cancel,
    redemption_payout_retry,
    redemption_request,
    savings_interest_share_set,
    savings_subscribe,
)

SAVINGS = ["fund: savings"]
GIFTS = ["fund: donations"]
MATCHING = ["fund: matchfunding"]
INVESTMENTS = ["fund: investments"]
FIGURES = ["fund: figures"]


def _currency(request: Request) -> str:
    currency = request.query_params.get("currency") or settings.PLATFORM_CURRENCY
    if currency not in CurrencyField().choices:
        raise serializers.ValidationError({"currency": ["Unknown currency."]})
    return str(currency)


CURRENCY_PARAMETER = OpenApiParameter(
    "currency", OpenApiTypes.STR, description="ISO 4217 code (default: the platform's)"
)


# ---------------------------------------------------------------------------------------------
# Savings


class RedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Minor units.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=RedemptionStatus.choices)
    requested_at = serializers.DateTimeField()
    notice_ends_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    payable_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    disbursement_id = serializers.IntegerField(allow_null=True)
    queue_position = serializers.SerializerMethodField(
        help_text="While queued: 1 is the next to be paid."
    )
    amount_ahead = serializers.SerializerMethodField(
        help_text="While queued: what earlier requests ask, minor units."
    )

    def _place(self, redemption: Redemption) -> tuple[int, int] | None:
        """Computed once per redemption, though two fields read it."""
        places: dict[int, tuple[int, int] | None] = self.__dict__.setdefault("_places", {})
        if redemption.pk not in places:
            places[redemption.pk] = redemption_queue_position(redemption=redemption)
        return places[redemption.pk]

    def get_queue_position(self, redemption: Redemption) -> int | None:
        place = self._place(redemption)
        return place[0] if place else None

    def get_amount_ahead(self, redemption: Redemption) -> int | None:
        place = self._place(redemption)
        return place[1] if place else None


class RemunerationOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    rate = serializers.IntegerField(help_text="Basis points a year.")
    average_balance = serializers.IntegerField()
    amount = serializers.IntegerField()
    interest_share = serializers.IntegerField(help_text="Basis points.")
    shared = serializers.IntegerField()
    credited = serializers.IntegerField()


class SavingsOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    is_member = serializers.BooleanField()
    balance = serializers.IntegerField(help_text="Your savings shares, minor units.")
    waiting = serializers.IntegerField(help_text="Asked back and not yet paid.")
    available = serializers.IntegerField(help_text="What you may still ask back.")
    interest_share = serializers.IntegerField(
        help_text="Part of your remuneration given to the grants pool, basis points."
    )
    is_sharing_savings = serializers.SerializerMethodField()
    pending_subscriptions = serializers.IntegerField()
    minimum_subscription = serializers.SerializerMethodField()
    maximum_per_member = serializers.SerializerMethodField()
    notice_days = serializers.SerializerMethodField()
    remuneration_cap = serializers.SerializerMethodField(help_text="Basis points a year.")
    remunerations = RemunerationOutputSerializer(many=True)

    def get_is_sharing_savings(self, summary: Any) -> bool:
        return bool(summary.interest_share >= InterestShare.QUARTER)

    def get_minimum_subscription(self, summary: Any) -> int:
        return int(settings.FUND_SAVINGS_MIN_SUBSCRIPTION)

    def get_maximum_per_member(self, summary: Any) -> int | None:
        return int(settings.FUND_SAVINGS_MAX_PER_MEMBER) or None

    def get_notice_days(self, summary: Any) -> int:
        return int(settings.FUND_REDEMPTION_NOTICE_DAYS)

    def get_remuneration_cap(self, summary: Any) -> int:
        return int(settings.FUND_SAVINGS_REMUNERATION_CAP)


class SavingsApi(APIView):
    """My savings: balance, interest share, what I may ask back, my remuneration by year."""

    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS

    @extend_schema(
        tags=SAVINGS,
        summary="My savings",
        parameters=[CURRENCY_PARAMETER],
        responses={200: SavingsOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        summary = savings_summary_get(user=user_from_request(request), currency=_currency(request))
        return Response(SavingsOutputSerializer(summary).data)


class SavingsSubscribeApi(APIView):
    """Subscribe savings shares (members). The payment is confirmed by the browser."""

    permission_classes = [IsMember]
    write_scope = Scope.WRITE_SAVINGS

    class InputSerializer(StrictInputSerializer):
        amount = AmountField()
        currency = CurrencyField(required=False)
        idempotency_key = StrictCharField(max_length=80, required=False)

    @extend_schema(
        tags=SAVINGS,
        summary="Subscribe savings shares",
        request=InputSerializer,
        responses={201: PaymentForPayerOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = savings_subscribe(user=user_from_request(request), **data.validated_data)
        return Response(PaymentForPayerOutputSerializer(payment).data, status=201)


class SavingsAccountOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    interest_share = serializers.IntegerField()
    is_sharing_savings = serializers.BooleanField()


class InterestShareApi(APIView):
    permission_classes = [IsMember]
    write_scope = Scope.WRITE_SAVINGS

    class InputSerializer(StrictInputSerializer):
        interest_share = serializers.ChoiceField(
            choices=InterestShare.choices,
            help_text="Basis points of your remuneration given to the grants pool: 0, 2500, "
            "5000, 7500 or 10000. From 2500 on, your savings are sharing savings.",
        )
        currency = CurrencyField(required=False)

    @extend_schema(
        tags=SAVINGS,
        summary="Choose my interest share",
        request=InputSerializer,
        responses={200: SavingsAccountOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if (
            not isinstance(request.data, dict)
            or type(request.data.get("interest_share")) is not int
        ):
            raise serializers.ValidationError({"interest_share": ["A JSON integer."]})
        account = savings_interest_share_set(
            user=user_from_request(request),
            interest_share=int(data.validated_data["interest_share"]),
            currency=data.validated_data.get("currency"),
        )
        return Response(SavingsAccountOutputSerializer(account).data)


class RedemptionListCreateApi(generics.ListAPIView):
    """My redemptions, newest first; ask for savings shares to be paid back."""

    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS
    write_scope = Scope.WRITE_SAVINGS
    serializer_class = RedemptionOutputSerializer
    pagination_class = CursorPagination
    filterset_fields = ["status", "currency"]

    class InputSerializer(StrictInputSerializer):
        amount = AmountField()
        currency = CurrencyField(required=False)

    def get_queryset(self) -> QuerySet[Redemption]:
        if getattr(self, "swagger_fake_view", False):
            return Redemption.objects.none()
        return my_redemptions(user=user_from_request(self.request))

    @extend_schema(tags=SAVINGS, summary="My redemptions")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=SAVINGS,
        summary="Ask for savings to be paid back (after the notice period, in queue order)",
        request=InputSerializer,
        responses={201: RedemptionOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        redemption = redemption_request(user=user_from_request(request), **data.validated_data)
        return Response(RedemptionOutputSerializer(redemption).data, status=201)


def _my_redemption(request: Request, redemption_id: int) -> Redemption:
    found = my_redemptions(user=user_from_request(request)).filter(pk=redemption_id).first()
    if found is None:
        raise NotFound("No such redemption of yours.")
    return found


class RedemptionCancelApi(APIView):
    permission_classes = [IsSupporter]
    write_scope = Scope.WRITE_SAVINGS

    @extend_schema(
        tags=SAVINGS,
        summary="Withdraw a redemption not yet paid",
        request=None,
        responses={200: RedemptionOutputSerializer},
    )
    def post(self, request: Request, redemption_id: int) -> Response:
        redemption = redemption_cancel(
            redemption=_my_redemption(request, redemption_id), actor=user_from_request(request)
        )
        return Response(RedemptionOutputSerializer(redemption).data)


class RedemptionPayoutRetryApi(APIView):
    permission_classes = [IsSupporter]
    write_scope = Scope.WRITE_SAVINGS

    @extend_schema(
        tags=SAVINGS,
        summary="Ask again for a payout that failed or was rejected",
        request=None,
        responses={200: RedemptionOutputSerializer},
    )
    def post(self, request: Request, redemption_id: int) -> Response:
        redemption = redemption_payout_retry(
            redemption=_my_redemption(request, redemption_id), actor=user_from_request(request)
        )
        return Response(RedemptionOutputSerializer(redemption).data)


class FinancedLineOutputSerializer(serializers.Serializer):
    investment_id = serializers.IntegerField()
    title = serializers.CharField()
    theme = serializers.CharField()
    kind = serializers.ChoiceField(choices=InvestmentKind.choices)
    amount = serializers.IntegerField()
    my_part = serializers.IntegerField(help_text="Your part, pro rata, rounded down.")


class ReceiptOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    year = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    tax_rate = serializers.IntegerField(help_text="Basis points: 6600 or 7500.")
    tax_reduction = serializers.IntegerField(help_text="Amount × rate, rounded down.")
    beneficiary = serializers.CharField()
    issued_at = serializers.DateTimeField()
    voided_at = serializers.DateTimeField(allow_null=True)


class StatementOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    currency = serializers.CharField()
    opening_balance = serializers.IntegerField()
    subscriptions = serializers.IntegerField()
    remuneration_credited = serializers.IntegerField(
        help_text="Remuneration credited during the year (for the year before)."
    )
    redemptions = serializers.IntegerField()
    refunds = serializers.IntegerField()
    closing_balance = serializers.IntegerField()
    average_balance = serializers.IntegerField()
    pool_share = serializers.SerializerMethodField(help_text="Exact fraction of the pool.")
    remuneration = RemunerationOutputSerializer(allow_null=True)
    loans = FinancedLineOutputSerializer(many=True)
    loans_part = serializers.IntegerField()
    grants_share = serializers.SerializerMethodField(help_text="Exact fraction of the gifts.")
    grants = FinancedLineOutputSerializer(many=True)
    grants_part = serializers.IntegerField()
    donations = serializers.IntegerField()
    receipts = ReceiptOutputSerializer(many=True)

    def get_pool_share(self, statement: Any) -> str:
        return str(statement.pool_share)

    def get_grants_share(self, statement: Any) -> str:
        return str(statement.grants_share)


class StatementApi(APIView):
    """What my savings financed in a year."""

    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS

    @extend_schema(
        tags=SAVINGS,
        summary="My yearly statement",
        parameters=[CURRENCY_PARAMETER],
        responses={200: StatementOutputSerializer},
    )
    def get(self, request: Request, year: int) -> Response:
        if not 2000 <= year <= 2200:
            raise NotFound("No statement for this year.")
        statement = savings_statement_get(
            user=user_from_request(request), year=year, currency=_currency(request)
        )
        return Response(StatementOutputSerializer(statement).data)


# ---------------------------------------------------------------------------------------------
# Donations


class DonationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    target = serializers.ChoiceField(choices=DonationTarget.choices)
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    qf_round = serializers.IntegerField(source="qf_round_id", allow_null=True)
    status = serializers.ChoiceField(choices=DonationStatus.choices)
    payment_id = serializers.IntegerField(allow_null=True)
    receipt_number = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField(allow_null=True)

    def get_receipt_number(self, donation: Donation) -> str | None:
        receipt = DonationReceipt.objects.filter(donation=donation).first()
        return receipt.number if receipt else None


class DonationCreatedOutputSerializer(serializers.Serializer):
    donation = DonationOutputSerializer()
    payment = PaymentForPayerOutputSerializer()


class DonationListCreateApi(generics.ListAPIView):
    """My donations; give to the grants pool or to a campaign (never paid back)."""

    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS
    write_scope = Scope.WRITE_SAVINGS
    serializer_class = DonationOutputSerializer
    pagination_class = CursorPagination
    filterset_fields = ["status", "target"]

    class InputSerializer(StrictInputSerializer):
        amount = AmountField()
        currency = CurrencyField(required=False)
        campaign = StrictIntegerField(
            min_value=1, required=False, help_text="A campaign's id; none: the grants pool."
        )
        qf_round = StrictIntegerField(
            min_value=1, required=False, help_text="A quadratic-funding round (members)."
        )
        idempotency_key = StrictCharField(max_length=80, required=False)

    def get_queryset(self) -> QuerySet[Donation]:
        if getattr(self, "swagger_fake_view", False):
            return Donation.objects.none()
        return my_donations(user=user_from_request(self.request))

    @extend_schema(tags=GIFTS, summary="My donations")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=GIFTS,
        summary="Give to the grants pool or a campaign",
        request=InputSerializer,
        responses={201: DonationCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        campaign = qf_round = None
        if "campaign" in values:
            campaign = Campaign.objects.filter(pk=values.pop("campaign")).first()
            if campaign is None:
                raise serializers.ValidationError({"campaign": ["No such campaign."]})
        if "qf_round" in values:
            qf_round = QFRound.objects.filter(pk=values.pop("qf_round")).first()
            if qf_round is None:
                raise serializers.ValidationError({"qf_round": ["No such round."]})
        donation, payment = donation_create(
            donor=user_from_request(request), campaign=campaign, qf_round=qf_round, **values
        )
        body = {
            "donation": DonationOutputSerializer(donation).data,
            "payment": PaymentForPayerOutputSerializer(payment).data,
        }
        return Response(body, status=201)


class ReceiptListApi(generics.ListAPIView):
    """My tax receipts (donations and shared interest)."""

    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS
    serializer_class = ReceiptOutputSerializer
    pagination_class = CursorPagination
    filterset_fields = ["year", "kind"]

    def get_queryset(self) -> QuerySet[DonationReceipt]:
        if getattr(self, "swagger_fake_view", False):
            return DonationReceipt.objects.none()
        return my_receipts(user=user_from_request(self.request))

    @extend_schema(tags=GIFTS, summary="My tax receipts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReceiptDetailApi(APIView):
    permission_classes = [IsSupporter]
    read_scope = Scope.READ_FUNDS

    @extend_schema(
        tags=GIFTS, summary="One of my tax receipts", responses={200: ReceiptOutputSerializer}
    )
    def get(self, request: Request, number: str) -> Response:
        receipt = my_receipts(user=user_from_request(request)).filter(number=number).first()
        if receipt is None:
            raise NotFound("No such receipt of yours.")
        return Response(ReceiptOutputSerializer(receipt).data)


class TaxStatusOutputSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    tax_rate = serializers.IntegerField(help_text="Basis points: 6600 or 7500.")
    basis = serializers.CharField(help_text="Why the rate applies; empty for the default rate.")
    decided_at = serializers.DateTimeField(allow_null=True)


class ProjectTaxStatusApi(APIView):
    """The rate that receipts for gifts to a project's campaigns state: 66% by default, 75%
    when the treasurer records the project as aid to people in difficulty (CGI art. 200-1 ter)."""

    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        tax_rate = StrictIntegerField(help_text="Basis points: 6600 or 7500.")
        basis = StrictCharField(max_length=500, help_text="The activity that grounds the rate.")

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsTreasurer()]

    @staticmethod
    def _body(project_id: int, status: DonationTaxStatus | None) -> dict[str, Any]:
        if status is None:  # nothing recorded: the general-interest rate
            return {
                "project": project_id,
                "tax_rate": TaxRate.GENERAL_INTEREST,
                "basis": "",
                "decided_at": None,
            }
        return {
            "project": project_id,
            "tax_rate": status.tax_rate,
            "basis": status.basis,
            "decided_at": status.decided_at,
        }

    @extend_schema(
        tags=GIFTS,
        summary="The tax-deduction rate of gifts to a project",
        responses={200: TaxStatusOutputSerializer},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(project_public_list(), pk=project_id)
        status = DonationTaxStatus.objects.filter(project=project).first()
        return Response(TaxStatusOutputSerializer(self._body(project.pk, status)).data)

    @extend_schema(
        tags=GIFTS,
        summary="Record a project's tax status (treasurer)",
        request=InputSerializer,
        responses={200: TaxStatusOutputSerializer},
    )
    def put(self, request: Request, project_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = get_object_or_404(Project, pk=project_id)
        status = donation_tax_status_set(
            project=project,
            tax_rate=data.validated_data["tax_rate"],
            basis=data.validated_data["basis"],
            actor=user_from_request(request),
        )
        return Response(TaxStatusOutputSerializer(self._body(project.pk, status)).data)


# ---------------------------------------------------------------------------------------------
# Matchfunding


class MatchEstimateOutputSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(source="campaign_id")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    rule = serializers.IntegerField(source="rule.pk", allow_null=True, default=None)
    match = serializers.IntegerField(help_text="Minor units.")
    uncapped = serializers.IntegerField(help_text="The factor alone, rounded down.")
    limited_by = serializers.CharField(
        help_text="factor, contribution_cap, member_cap, campaign_cap, pool; or no_rule, "
        "not_live, theme_not_eligible."
    )
    bounds = serializers.DictField(child=serializers.IntegerField())
    explanation = serializers.CharField()


class MatchEstimateApi(APIView):
    """The match a pledge would get now, and which cap decided it (for the pledge form)."""

    permission_classes = [AllowAny]

    class QuerySerializer(StrictInputSerializer):
        campaign = serializers.IntegerField(min_value=1)
        amount = serializers.IntegerField(min_value=1, max_value=10**12)

    @extend_schema(
        tags=MATCHING,
        summary="Estimate the match of a pledge",
        parameters=[QuerySerializer],
        responses={200: MatchEstimateOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        campaign = (
            Campaign.objects.filter(pk=query.validated_data["campaign"])
            .select_related("project")
            .first()
        )
        if campaign is None:
            raise NotFound("No such campaign.")
        estimate = match_estimate(
            campaign=campaign, amount=query.validated_data["amount"], user=request.user
        )
        return Response(MatchEstimateOutputSerializer(estimate).data)


class MatchingRuleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    currency = serializers.CharField()
    factor = serializers.IntegerField(help_text="Basis points: 10000 matches 1:1.")
    contribution_cap = serializers.IntegerField(allow_null=True)
    member_campaign_cap = serializers.IntegerField(allow_null=True)
    campaign_cap = serializers.IntegerField(allow_null=True)
    themes = serializers.SerializerMethodField(help_text="Theme slugs; empty: every theme.")
    poll = serializers.IntegerField(source="poll_id", allow_null=True)
    status = serializers.ChoiceField(choices=MatchingRuleStatus.choices)
    active_from = serializers.DateTimeField(allow_null=True)
    active_until = serializers.DateTimeField(allow_null=True)

    def get_themes(self, rule: MatchingRule) -> list[str]:
        return sorted(t.slug for t in rule.themes.all())


class MatchingRuleListCreateApi(generics.ListAPIView):
    """Matching rules: proposed with a poll, in force once the members adopt it."""

    serializer_class = MatchingRuleOutputSerializer
    pagination_class = CursorPagination
    write_scope = Scope.ADMIN
    filterset_fields = ["status", "currency"]

    class InputSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=200)
        poll = StrictIntegerField(min_value=1, help_text="A resolution poll, draft or open.")
        factor = StrictIntegerField(min_value=0, max_value=100_000)
        contribution_cap = StrictIntegerField(min_value=0, required=False, allow_null=True)
        member_campaign_cap = StrictIntegerField(min_value=0, required=False, allow_null=True)
        campaign_cap = StrictIntegerField(min_value=0, required=False, allow_null=True)
        themes = serializers.ListField(
            child=StrictCharField(max_length=60), required=False, default=list, max_length=50
        )
        currency = CurrencyField(required=False)

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> QuerySet[MatchingRule]:
        return matching_rules_list()

    @extend_schema(tags=MATCHING, summary="Matching rules")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=MATCHING,
        summary="Propose a matching rule with a poll (moderators, treasurer)",
        request=InputSerializer,
        responses={201: MatchingRuleOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        poll = Poll.objects.filter(pk=values.pop("poll")).first()
        if poll is None:
            raise serializers.ValidationError({"poll": ["No such poll."]})
        slugs = values.pop("themes")
        themes = list(Theme.objects.filter(slug__in=slugs))
        if len(themes) != len(set(slugs)):
            raise serializers.ValidationError({"themes": ["Unknown theme."]})
        rule = matching_rule_propose(
            poll=poll, themes=themes, actor=user_from_request(request), **values
        )
        return Response(MatchingRuleOutputSerializer(rule).data, status=201)


class MatchingRuleAdoptApi(APIView):
    permission_classes = [IsFundManager]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=MATCHING,
        summary="Put in force a rule its poll adopted (409 if the poll did not pass)",
        request=None,
        responses={200: MatchingRuleOutputSerializer},
    )
    def post(self, request: Request, rule_id: int) -> Response:
        rule = get_object_or_404(MatchingRule, pk=rule_id)
        if rule.poll is None:
            raise NotFound("This rule has no poll.")
        adopted = matching_rule_adopt(poll=rule.poll)
        return Response(MatchingRuleOutputSerializer(adopted).data)


class QFMatchOutputSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(source="campaign_id")
    contributors = serializers.IntegerField()
    contributed = serializers.IntegerField()
    raw_match = serializers.CharField(help_text="Exact fraction of minor units.")
    amount = serializers.IntegerField()
    capped = serializers.BooleanField()


class QFRoundOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    currency = serializers.CharField()
    pool = serializers.IntegerField()
    coordination_bound = serializers.IntegerField(allow_null=True, help_text="M′, minor units.")
    project_cap = serializers.IntegerField(allow_null=True)
    campaigns = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=QFRoundStatus.choices)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    result = serializers.JSONField(allow_null=True)
    matches = QFMatchOutputSerializer(many=True)

    def get_campaigns(self, qf_round: QFRound) -> list[int]:
        return sorted(c.pk for c in qf_round.campaigns.all())


class QFRoundListCreateApi(generics.ListAPIView):
    serializer_class = QFRoundOutputSerializer
    pagination_class = CursorPagination
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=200)
        currency = CurrencyField(required=False)
        pool = AmountField()
        coordination_bound = StrictIntegerField(min_value=1, required=False, allow_null=True)
        project_cap = StrictIntegerField(min_value=1, required=False, allow_null=True)
        campaigns = serializers.ListField(
            child=StrictIntegerField(min_value=1), min_length=1, max_length=200
        )
        opens_at = serializers.DateTimeField()
        closes_at = serializers.DateTimeField()

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> QuerySet[QFRound]:
        return qf_rounds_list()

    @extend_schema(tags=MATCHING, summary="Quadratic-funding rounds")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=MATCHING,
        summary="Create a quadratic-funding round (moderators, treasurer)",
        request=InputSerializer,
        responses={201: QFRoundOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        ids = values.pop("campaigns")
        campaigns = list(Campaign.objects.filter(pk__in=ids))
        if len(campaigns) != len(set(ids)):
            raise serializers.ValidationError({"campaigns": ["Unknown campaign."]})
        qf_round = qf_round_create(
            title=values["title"],
            currency=values.get("currency") or settings.PLATFORM_CURRENCY,
            pool_amount=values["pool"],
            campaigns=campaigns,
            opens_at=values["opens_at"],
            closes_at=values["closes_at"],
            coordination_bound=values.get("coordination_bound"),
            project_cap=values.get("project_cap"),
            actor=user_from_request(request),
        )
        return Response(QFRoundOutputSerializer(qf_round).data, status=201)


class QFRoundDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=MATCHING, summary="A quadratic-funding round", responses={200: QFRoundOutputSerializer}
    )
    def get(self, request: Request, qf_round_id: int) -> Response:
        qf_round = get_object_or_404(qf_rounds_list(), pk=qf_round_id)
        return Response(QFRoundOutputSerializer(qf_round).data)


class QFRoundOpenApi(APIView):
    permission_classes = [IsFundManager]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=MATCHING,
        summary="Open a round: its pool is reserved in the matching pool",
        request=None,
        responses={200: QFRoundOutputSerializer},
    )
    def post(self, request: Request, qf_round_id: int) -> Response:
        qf_round = qf_round_open(qf_round=get_object_or_404(QFRound, pk=qf_round_id))
        return Response(QFRoundOutputSerializer(qf_round).data)


class QFRoundCloseApi(APIView):
    permission_classes = [IsFundManager]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=MATCHING,
        summary="Close a round after its window: matches are computed and paid to the escrows",
        request=None,
        responses={200: QFRoundOutputSerializer},
    )
    def post(self, request: Request, qf_round_id: int) -> Response:
        qf_round = qf_round_close(qf_round=get_object_or_404(QFRound, pk=qf_round_id))
        return Response(QFRoundOutputSerializer(qf_round).data)


# ---------------------------------------------------------------------------------------------
# Investments


class InstallmentOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.IntegerField()
    interest = serializers.IntegerField()
    principal_paid = serializers.IntegerField()
    interest_paid = serializers.IntegerField()
    status = serializers.CharField()


class RepaymentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField()
    principal = serializers.IntegerField()
    interest = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    entry = serializers.IntegerField(source="entry_id")


class InvestmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=InvestmentKind.choices)
    title = serializers.CharField()
    project = serializers.IntegerField(source="project_id", allow_null=True)
    theme = serializers.CharField(source="theme.slug", allow_null=True, default=None)
    round_project = serializers.IntegerField(source="round_project_id", allow_null=True)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    rate = serializers.IntegerField(help_text="Loans: yearly rate, basis points.")
    term_months = serializers.IntegerField()
    status = serializers.ChoiceField(choices=InvestmentStatus.choices)
    outstanding = serializers.IntegerField()
    principal_repaid = serializers.IntegerField()
    interest_paid = serializers.IntegerField()
    written_off = serializers.IntegerField()
    commitment_entry = serializers.IntegerField(source="commitment_entry_id", allow_null=True)
    disbursement_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    disbursed_at = serializers.DateTimeField(allow_null=True)


class InvestmentDetailOutputSerializer(InvestmentOutputSerializer):
    schedule = InstallmentOutputSerializer(many=True)
    repayments = RepaymentOutputSerializer(many=True)


class InvestmentListCreateApi(generics.ListAPIView):
    """Grants and solidarity loans of the fund, open to all."""

    serializer_class = InvestmentOutputSerializer
    pagination_class = CursorPagination
    write_scope = Scope.ADMIN
    filterset_fields = ["kind", "status", "currency"]

    class InputSerializer(StrictInputSerializer):
        kind = serializers.ChoiceField(choices=InvestmentKind.choices)
        title = StrictCharField(max_length=300)
        amount = AmountField()
        currency = CurrencyField(required=False)
        project = StrictIntegerField(min_value=1, required=False)
        theme = StrictCharField(max_length=60, required=False)
        rate = StrictIntegerField(min_value=0, max_value=2_000, required=False)
        term_months = StrictIntegerField(min_value=1, max_value=120, required=False)

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> QuerySet[Investment]:
        return investments_public()

    @extend_schema(tags=INVESTMENTS, summary="Grants and loans")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=INVESTMENTS,
        summary="Propose a grant or a loan (moderators, treasurer)",
        request=InputSerializer,
        responses={201: InvestmentOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        from campaigns.models import Project

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = theme = None
        if "project" in values:
            project = Project.objects.filter(pk=values.pop("project")).first()
            if project is None:
                raise serializers.ValidationError({"project": ["No such project."]})
        if "theme" in values:
            theme = Theme.objects.filter(slug=values.pop("theme")).first()
            if theme is None:
                raise serializers.ValidationError({"theme": ["No such theme."]})
        investment = investment_propose(
            project=project, theme=theme, actor=user_from_request(request), **values
        )
        return Response(InvestmentOutputSerializer(investment).data, status=201)


def _investment(investment_id: int) -> Investment:
    return get_object_or_404(investments_public(), pk=investment_id)


class InvestmentDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=INVESTMENTS,
        summary="A grant or a loan, with its schedule and repayments",
        responses={200: InvestmentDetailOutputSerializer},
    )
    def get(self, request: Request, investment_id: int) -> Response:
        investment = get_object_or_404(
            investments_public().prefetch_related("schedule", "repayments"), pk=investment_id
        )
        return Response(InvestmentDetailOutputSerializer(investment).data)


class InvestmentApproveApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=INVESTMENTS,
        summary="Approve: commit the money and request the payout (409 liquidity_reserve)",
        request=None,
        responses={200: InvestmentOutputSerializer},
    )
    def post(self, request: Request, investment_id: int) -> Response:
        investment = investment_approve(
            investment=_investment(investment_id), actor=user_from_request(request)
        )
        return Response(InvestmentOutputSerializer(investment).data)


class ReasonInputSerializer(StrictInputSerializer):
    reason = StrictCharField(max_length=300)


class InvestmentCancelApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=INVESTMENTS,
        summary="Cancel before the payout (the money goes back)",
        request=ReasonInputSerializer,
        responses={200: InvestmentOutputSerializer},
    )
    def post(self, request: Request, investment_id: int) -> Response:
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        investment = investment_cancel(
            investment=_investment(investment_id),
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response(InvestmentOutputSerializer(investment).data)


class RepaymentCreateApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        amount = AmountField()
        bank_reference = StrictCharField(max_length=120)

    @extend_schema(
        tags=INVESTMENTS,
        summary="Record a loan repayment received by bank transfer",
        request=InputSerializer,
        responses={201: RepaymentOutputSerializer},
    )
    def post(self, request: Request, investment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        repayment = loan_repayment_record(
            investment=_investment(investment_id),
            actor=user_from_request(request),
            **data.validated_data,
        )
        return Response(RepaymentOutputSerializer(repayment).data, status=201)


class LoanDefaultApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=INVESTMENTS,
        summary="Declare a late loan defaulted",
        request=ReasonInputSerializer,
        responses={200: InvestmentOutputSerializer},
    )
    def post(self, request: Request, investment_id: int) -> Response:
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        investment = loan_default_declare(
            investment=_investment(investment_id),
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response(InvestmentOutputSerializer(investment).data)


class LoanWriteOffApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    @extend_schema(
        tags=INVESTMENTS,
        summary="Write off a defaulted loan against the loss provision",
        request=None,
        responses={200: InvestmentOutputSerializer},
    )
    def post(self, request: Request, investment_id: int) -> Response:
        investment = loan_write_off(
            investment=_investment(investment_id), actor=user_from_request(request)
        )
        return Response(InvestmentOutputSerializer(investment).data)


class RoundInvestmentsCreateApi(APIView):
    """Each winner once. The round's loans take the rate and term given here (by default, the
    fund's default rate and term)."""

    permission_classes = [IsFundManager]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        rate = StrictIntegerField(
            min_value=0, max_value=2_000, required=False, help_text="Loans: basis points a year."
        )
        term_months = StrictIntegerField(min_value=1, max_value=120, required=False)

    @extend_schema(
        tags=INVESTMENTS,
        summary="Turn a published round's winners into proposed grants and loans",
        request=InputSerializer,
        responses={201: InvestmentOutputSerializer(many=True)},
    )
    def post(self, request: Request, round_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        round = get_object_or_404(Round, pk=round_id)
        created = round_investments_create(
            round=round,
            actor=user_from_request(request),
            rate=data.validated_data.get("rate"),
            term_months=data.validated_data.get("term_months"),
        )
        return Response(InvestmentOutputSerializer(created, many=True).data, status=201)


# ---------------------------------------------------------------------------------------------
# Pools and figures


class PoolTransferApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        source = serializers.ChoiceField(choices=FundPool.choices)  # type: ignore[assignment]  # a field named like a Field attribute
        target = serializers.ChoiceField(choices=FundPool.choices)
        amount = AmountField()
        currency = CurrencyField(required=False)
        idempotency_key = StrictCharField(max_length=80)

    class OutputSerializer(serializers.Serializer):
        entry = serializers.IntegerField()

    @extend_schema(
        tags=FIGURES,
        summary="Move given money between the grants pool and the matching pool",
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.setdefault("currency", settings.PLATFORM_CURRENCY)
        entry = fund_pool_transfer(actor=user_from_request(request), **values)
        return Response({"entry": entry.pk}, status=201)


class ThemeAllocationOutputSerializer(serializers.Serializer):
    theme = serializers.CharField(source="name")
    grants = serializers.IntegerField()
    loans = serializers.IntegerField()
    matches = serializers.IntegerField()
    total = serializers.IntegerField()


class LiquidityOutputSerializer(serializers.Serializer):
    savings = serializers.IntegerField(help_text="The savings pool.")
    cash = serializers.IntegerField(help_text="The fund's cash backing the savings side.")
    lent = serializers.IntegerField()
    ratio = serializers.IntegerField(help_text="λ, basis points.")
    required = serializers.IntegerField(help_text="The liquidity reserve: ⌈λ × savings⌉.")  # type: ignore[assignment]  # a field named like a Field attribute
    lendable = serializers.IntegerField()
    ratio_held = serializers.IntegerField(allow_null=True, help_text="cash / savings, bps.")
    floor = serializers.IntegerField(help_text="The capital floor.")


class DashboardOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    liquidity = LiquidityOutputSerializer()
    savers = serializers.IntegerField()
    loans_outstanding_count = serializers.IntegerField()
    grants_pool = serializers.IntegerField()
    grants_committed = serializers.IntegerField()
    grants_count = serializers.IntegerField()
    matching_pool = serializers.IntegerField()
    matching_available = serializers.IntegerField()
    matches_committed = serializers.IntegerField()
    impartible_reserve = serializers.IntegerField()
    loss_provision = serializers.IntegerField()
    allocation = ThemeAllocationOutputSerializer(many=True)


class DashboardApi(APIView):
    """The fund's figures, from the ledger."""

    permission_classes = [AllowAny]

    @extend_schema(
        tags=FIGURES,
        summary="The fund dashboard",
        parameters=[CURRENCY_PARAMETER],
        responses={200: DashboardOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(
            DashboardOutputSerializer(fund_dashboard_get(currency=_currency(request))).data
        )


class FlowOutputSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    source_label = serializers.CharField()
    target = serializers.CharField()
    target_label = serializers.CharField()
    amount = serializers.IntegerField()


class FlowsApi(APIView):
    """Money flows between the fund's pools over a period (the chart's data)."""

    permission_classes = [AllowAny]

    class QuerySerializer(StrictInputSerializer):
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)
        currency = CurrencyField(required=False)

    @extend_schema(
        tags=FIGURES,
        summary="Money flows",
        parameters=[QuerySerializer],
        responses={200: FlowOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        values = query.validated_data
        date_from: dt.date | None = values.get("date_from")
        date_to: dt.date | None = values.get("date_to")
        if date_from and date_to and date_to < date_from:
            raise serializers.ValidationError({"date_to": ["On or after date_from."]})
        flows = money_flows(currency=values.get("currency"), date_from=date_from, date_to=date_to)
        return Response(FlowOutputSerializer(flows, many=True).data)


class FundYearOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    currency = serializers.CharField()
    rate = serializers.IntegerField()
    income = serializers.IntegerField(help_text="The year's result before remuneration.")
    remuneration = serializers.IntegerField()
    shared_interest = serializers.IntegerField()
    loss_provision = serializers.IntegerField()
    impartible_reserve = serializers.IntegerField()
    loss_absorbed = serializers.IntegerField()
    closing_entry = serializers.IntegerField(source="closing_entry_id", allow_null=True)
    closed_at = serializers.DateTimeField()


class FundYearListApi(generics.ListAPIView):
    """Closed years: the surplus and how it was allocated."""

    permission_classes = [AllowAny]
    serializer_class = FundYearOutputSerializer
    pagination_class = CursorPagination

    def get_queryset(self) -> QuerySet[FundYear]:
        return fund_years(currency=_currency(self.request))

    @extend_schema(tags=FIGURES, summary="Closed years", parameters=[CURRENCY_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
