"""The campaigns API: public reads, the lead's API, moderation and the backer's pledges.

One view per operation; inputs are strict; business rules live in services.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common import microcache
from common.db import BIGINT_MAX
from common.pagination import CursorPagination
from common.serializers import (
    AmountField,
    CurrencyField,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
    StrictInputSerializer,
    StrictIntegerField,
)
from common.throttling import SignedInRateThrottle
from ledger.models import Posting
from members.enums import Scope
from members.models import User
from members.permissions import IsAuthenticatedWithScope, IsModerator
from members.selectors import user_from_request

from . import selectors, services
from .enums import (
    CampaignStatus,
    FundingModel,
    Licence,
    PledgeStatus,
    SSECriterion,
    WebhookEventType,
)
from .filters import (
    BackerFilter,
    CampaignFilter,
    DeliveryFilter,
    DisbursementRequestFilter,
    LedgerLineFilter,
    ModerationCampaignFilter,
    PledgeFilter,
)
from .markdown import markdown_render
from .models import (
    BudgetLine,
    Campaign,
    CampaignUpdate,
    Milestone,
    Pledge,
    Project,
    ProjectCriterion,
    Theme,
    Tier,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webhooks import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_ping,
    webhook_endpoint_update,
)

PUBLIC = ["campaigns"]
LEAD = ["lead"]
MODERATION = ["moderation"]
BACKER = ["pledges"]


# --- shared output serializers ----------------------------------------------------------------


class ThemeOutputSerializer(serializers.ModelSerializer[Theme]):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Theme
        fields = ["slug", "name", "name_en", "name_fr", "is_priority"]


class CriterionOutputSerializer(serializers.ModelSerializer[ProjectCriterion]):
    class Meta:
        model = ProjectCriterion
        fields = ["id", "criterion", "statement", "status", "declared_at", "checked_at"]


class LinkSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    url = serializers.URLField()


class ProjectPublicSerializer(serializers.ModelSerializer[Project]):
    theme = ThemeOutputSerializer(read_only=True)
    description_html = serializers.SerializerMethodField()
    links = LinkSerializer(many=True, read_only=True)
    is_commons = serializers.BooleanField(read_only=True)
    criteria = CriterionOutputSerializer(many=True, read_only=True)
    team = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "description",
            "description_html",
            "theme",
            "links",
            "licence",
            "is_commons",
            "criteria",
            "team",
        ]

    def get_description_html(self, project: Project) -> str:
        return str(markdown_render(project.description))

    def get_team(self, project: Project) -> list[str]:
        return [lead.user.public_name for lead in project.team.all()]


class ProgressSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    funding_model = serializers.ChoiceField(choices=FundingModel.choices)
    currency = serializers.CharField()
    goal = serializers.IntegerField()
    stretch_goal = serializers.IntegerField(allow_null=True)
    raised = serializers.IntegerField(help_text="Collected, net of refunds (minor units)")
    committed = serializers.IntegerField(help_text="Saved cards not yet charged (all-or-nothing)")
    matched = serializers.IntegerField(help_text="Matchfunding")
    backers = serializers.IntegerField()
    total = serializers.IntegerField(help_text="raised + committed + matched")
    percentage = serializers.IntegerField(help_text="total × 100 ÷ goal, rounded down")
    days_left = serializers.IntegerField()
    deadline = serializers.DateTimeField()


_PROGRESS_FIELDS = tuple(ProgressSerializer._declared_fields)
_DEADLINE = serializers.DateTimeField()


def progress_payload(progress: selectors.Progress) -> dict[str, Any]:
    """What ProgressSerializer renders, without building a serializer per request: the
    progress figures are the platform's most read answer."""
    data = {name: getattr(progress, name) for name in _PROGRESS_FIELDS}
    data["deadline"] = _DEADLINE.to_representation(progress.deadline)
    return data


class TierOutputSerializer(serializers.ModelSerializer[Tier]):
    remaining = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Tier
        fields = [
            "id",
            "title",
            "description",
            "amount",
            "limit",
            "claimed",
            "remaining",
            "delivery_date",
            "position",
        ]


class BudgetLineOutputSerializer(serializers.ModelSerializer[BudgetLine]):
    class Meta:
        model = BudgetLine
        fields = ["id", "label", "description", "amount", "position"]


class MilestoneOutputSerializer(serializers.ModelSerializer[Milestone]):
    class Meta:
        model = Milestone
        fields = [
            "id",
            "title",
            "description",
            "amount",
            "due_date",
            "position",
            "status",
            "requested_at",
            "approved_at",
            "paid_at",
            "failure_reason",
            "disbursement_id",
        ]


class UpdateOutputSerializer(serializers.ModelSerializer[CampaignUpdate]):
    body_html = serializers.SerializerMethodField()

    class Meta:
        model = CampaignUpdate
        fields = ["id", "title", "body", "body_html", "created_at"]

    def get_body_html(self, update: CampaignUpdate) -> str:
        return str(markdown_render(update.body))


class ProjectBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    theme = serializers.CharField()


class CampaignSummarySerializer(serializers.ModelSerializer[Campaign]):
    project = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "slug",
            "title",
            "status",
            "funding_model",
            "currency",
            "goal",
            "stretch_goal",
            "starts_at",
            "deadline",
            "launched_at",
            "project",
            "progress",
        ]

    @extend_schema_field(ProjectBriefSerializer)
    def get_project(self, campaign: Campaign) -> dict[str, Any]:
        project = campaign.project
        return {
            "id": project.pk,
            "slug": project.slug,
            "title": project.title,
            "summary": project.summary,
            "theme": project.theme.slug,
        }

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, campaign: Campaign) -> dict[str, Any]:
        figures = self.context.get("progress", {}).get(campaign.pk)
        if figures is None:
            figures = selectors.campaign_progress_get(campaign)
        return progress_payload(figures)


class CampaignDetailSerializer(CampaignSummarySerializer):
    project_detail = serializers.SerializerMethodField()
    tiers = TierOutputSerializer(many=True, read_only=True)
    budget_lines = BudgetLineOutputSerializer(many=True, read_only=True)
    milestones = MilestoneOutputSerializer(many=True, read_only=True)

    class Meta(CampaignSummarySerializer.Meta):
        fields = [
            *CampaignSummarySerializer.Meta.fields,
            "closed_at",
            "cancelled_at",
            "completed_at",
            "project_detail",
            "tiers",
            "budget_lines",
            "milestones",
        ]

    @extend_schema_field(ProjectPublicSerializer)
    def get_project_detail(self, campaign: Campaign) -> dict[str, Any]:
        return dict(ProjectPublicSerializer(campaign.project).data)


def _public_campaign(campaign_id: int) -> Campaign:
    campaign = selectors.campaign_public_get(pk=campaign_id)
    if campaign is None:
        raise Http404
    return campaign


def _progress_context(campaigns: list[Campaign]) -> dict[str, Any]:
    return {"progress": selectors.campaigns_progress_many(campaigns)}


# --- public -----------------------------------------------------------------------------------


class ThemeListApi(generics.ListAPIView[Theme]):
    permission_classes = [AllowAny]
    pagination_class = None
    serializer_class = ThemeOutputSerializer

    def get_queryset(self) -> QuerySet[Theme]:
        if getattr(self, "swagger_fake_view", False):
            return Theme.objects.none()
        return selectors.theme_list()

    @extend_schema(tags=PUBLIC, summary="The fund's themes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignListApi(generics.ListAPIView[Campaign]):
    """Launched campaigns, newest first, with their progress."""

    pagination_class = CursorPagination
    permission_classes = [AllowAny]
    serializer_class = CampaignSummarySerializer
    filterset_class = CampaignFilter

    def get_queryset(self) -> QuerySet[Campaign]:
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.campaign_public_list()

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], list):
            kwargs.setdefault("context", self.get_serializer_context()).update(
                _progress_context(args[0])
            )
        return super().get_serializer(*args, **kwargs)

    @extend_schema(tags=PUBLIC, summary="Launched campaigns")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: CampaignDetailSerializer}, tags=PUBLIC, summary="A campaign")
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = _public_campaign(campaign_id)
        context = {"progress": {campaign.pk: _progress_for(request, campaign)}}
        return Response(CampaignDetailSerializer(campaign, context=context).data)


def _progress_for(request: Request, campaign: Campaign) -> selectors.Progress:
    """Anonymous readers share the cached figures; a signed-in person sees them fresh."""
    if request.user.is_authenticated:
        return selectors.campaign_progress_get(campaign)
    return selectors.campaign_progress_cached(campaign)


class CampaignProgressApi(APIView):
    """Raised, committed, matched, backers, percentage and days left: the figures every page
    and embed shows. Anonymous answers come from a cache shared with the pages (a few seconds)."""

    permission_classes = [AllowAny]
    # Anonymous answers come from the cache, which costs less than counting them per address
    # would: they are not throttled (the edge proxy limits floods). Signed-in readers, who get
    # fresh figures from the database, keep their rate.
    throttle_classes = [SignedInRateThrottle]

    @extend_schema(
        responses={200: ProgressSerializer}, tags=PUBLIC, summary="A campaign's progress"
    )
    def get(self, request: Request, campaign_id: int) -> HttpResponse:
        if not request.user.is_authenticated:
            held = _progress_json_held(request, campaign_id)
            if held is not None:
                return held
        campaign = _public_campaign(campaign_id)
        return Response(progress_payload(_progress_for(request, campaign)))


def _progress_json_held(request: Request, campaign_id: int) -> HttpResponse | None:
    """The anonymous answer from the shared figures, rendered to JSON once per process for as
    long as the process holds those figures (common.microcache). Only for the plain JSON
    answer: a request for another rendering (indented, say) goes through the renderer."""
    progress = selectors.progress_cached_peek(campaign_id)
    if progress is None:
        return None
    if request.accepted_media_type != JSONRenderer.media_type:
        return Response(progress_payload(progress))
    key = f"campaigns:progress-json:{campaign_id}"
    held = microcache.public_memo.get(key)
    if held is None or held[0] is not progress:
        held = (progress, JSONRenderer().render(progress_payload(progress)))
        microcache.public_memo.set(key, held)
    return HttpResponse(held[1], content_type=JSONRenderer.media_type)


class CampaignTierListApi(generics.ListAPIView[Tier]):
    permission_classes = [AllowAny]
    pagination_class = None
    serializer_class = TierOutputSerializer

    def get_queryset(self) -> QuerySet[Tier]:
        if getattr(self, "swagger_fake_view", False):
            return Tier.objects.none()
        return _public_campaign(self.kwargs["campaign_id"]).tiers.all()

    @extend_schema(tags=PUBLIC, summary="Reward tiers")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignBudgetLineListApi(generics.ListAPIView[BudgetLine]):
    permission_classes = [AllowAny]
    pagination_class = None
    serializer_class = BudgetLineOutputSerializer

    def get_queryset(self) -> QuerySet[BudgetLine]:
        if getattr(self, "swagger_fake_view", False):
            return BudgetLine.objects.none()
        return _public_campaign(self.kwargs["campaign_id"]).budget_lines.all()

    @extend_schema(tags=PUBLIC, summary="Budget lines: what the money pays for")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignMilestoneListApi(generics.ListAPIView[Milestone]):
    permission_classes = [AllowAny]
    pagination_class = None
    serializer_class = MilestoneOutputSerializer

    def get_queryset(self) -> QuerySet[Milestone]:
        if getattr(self, "swagger_fake_view", False):
            return Milestone.objects.none()
        return selectors.campaign_milestones(_public_campaign(self.kwargs["campaign_id"]))

    @extend_schema(tags=PUBLIC, summary="Milestones and their tranches")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignUpdateListApi(generics.ListAPIView[CampaignUpdate]):
    pagination_class = CursorPagination
    permission_classes = [AllowAny]
    serializer_class = UpdateOutputSerializer

    def get_queryset(self) -> QuerySet[CampaignUpdate]:
        if getattr(self, "swagger_fake_view", False):
            return CampaignUpdate.objects.none()
        return selectors.campaign_updates(_public_campaign(self.kwargs["campaign_id"]))

    @extend_schema(tags=PUBLIC, summary="Updates from the leads")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class BackerPublicSerializer(serializers.ModelSerializer[Pledge]):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Pledge
        fields = ["id", "name", "public_message", "created_at"]

    def get_name(self, pledge: Pledge) -> str:
        return selectors.backer_name(pledge)


class CampaignBackerListApi(generics.ListAPIView[Pledge]):
    """Backers, each shown as they chose (name, pseudonym or Anonymous), with their message."""

    pagination_class = CursorPagination
    permission_classes = [AllowAny]
    serializer_class = BackerPublicSerializer

    def get_queryset(self) -> QuerySet[Pledge]:
        if getattr(self, "swagger_fake_view", False):
            return Pledge.objects.none()
        return selectors.campaign_backers_public(_public_campaign(self.kwargs["campaign_id"]))

    @extend_schema(tags=PUBLIC, summary="Public list of backers")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- the lead's API: projects -----------------------------------------------------------------


class LeadProjectSerializer(ProjectPublicSerializer):
    class Meta(ProjectPublicSerializer.Meta):
        fields = [*ProjectPublicSerializer.Meta.fields, "created_at", "updated_at"]


def _lead_project(request: Request, project_id: int) -> Project:
    return get_object_or_404(selectors.lead_projects(user_from_request(request)), pk=project_id)


def _lead_campaign(request: Request, campaign_id: int) -> Campaign:
    return get_object_or_404(selectors.lead_campaigns(user_from_request(request)), pk=campaign_id)


def _theme(slug: str) -> Theme:
    theme = Theme.objects.filter(slug=slug).first()
    if theme is None:
        raise serializers.ValidationError({"theme": ["Unknown theme."]})
    return theme


class LinkInputSerializer(StrictInputSerializer):
    label = StrictCharField(max_length=80, allow_blank=True, required=False, default="")  # type: ignore[assignment]
    url = StrictCharField(max_length=500)


class ProjectInputSerializer(StrictInputSerializer):
    title = StrictCharField(max_length=160)
    summary = StrictCharField(max_length=300)
    description = StrictCharField(max_length=20000, allow_blank=True, required=False, default="")
    theme = StrictCharField(max_length=60, help_text="A theme's slug")
    links = LinkInputSerializer(many=True, required=False, default=list)
    licence = serializers.ChoiceField(
        choices=Licence.choices, required=False, default=Licence.CC_BY_SA_4
    )


class LeadProjectListCreateApi(generics.ListCreateAPIView[Project]):
    """My projects. Creating one makes me its first lead."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS
    serializer_class = LeadProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return selectors.lead_projects(user_from_request(self.request))

    @extend_schema(tags=LEAD, summary="My projects")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProjectInputSerializer,
        responses={201: LeadProjectSerializer},
        tags=LEAD,
        summary="Create a project",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ProjectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["theme"] = _theme(values["theme"])
        project = services.project_create(user=user_from_request(request), **values)
        return Response(LeadProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class LeadProjectDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class UpdateSerializer(ProjectInputSerializer):
        title = StrictCharField(max_length=160, required=False)
        summary = StrictCharField(max_length=300, required=False)
        description = StrictCharField(max_length=20000, allow_blank=True, required=False)
        theme = StrictCharField(max_length=60, required=False)
        links = LinkInputSerializer(many=True, required=False)
        licence = serializers.ChoiceField(choices=Licence.choices, required=False)

    @extend_schema(responses={200: LeadProjectSerializer}, tags=LEAD, summary="One of my projects")
    def get(self, request: Request, project_id: int) -> Response:
        return Response(LeadProjectSerializer(_lead_project(request, project_id)).data)

    @extend_schema(
        request=UpdateSerializer,
        responses={200: LeadProjectSerializer},
        tags=LEAD,
        summary="Edit a project",
    )
    def patch(self, request: Request, project_id: int) -> Response:
        project = _lead_project(request, project_id)
        data = self.UpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "theme" in values:
            values["theme"] = _theme(values["theme"])
        project = services.project_update(
            project=project, actor=user_from_request(request), data=values
        )
        return Response(LeadProjectSerializer(_lead_project(request, project.pk)).data)


class LeadProjectTeamAddApi(APIView):
    """Add someone, by their account's email, to the team: they become a lead."""

    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        email = StrictEmailField(max_length=254)

    @extend_schema(
        request=InputSerializer,
        responses={201: LeadProjectSerializer},
        tags=LEAD,
        summary="Add a lead",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = _lead_project(request, project_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = User.objects.filter(
            email__iexact=data.validated_data["email"], is_active=True
        ).first()
        if person is None:
            raise serializers.ValidationError({"email": ["No account has this address."]})
        services.project_lead_add(project=project, user=person, actor=user_from_request(request))
        return Response(
            LeadProjectSerializer(_lead_project(request, project.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class LeadProjectTeamRemoveApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    @extend_schema(request=None, responses={204: None}, tags=LEAD, summary="Remove a lead")
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        project = _lead_project(request, project_id)
        person = get_object_or_404(User, pk=user_id)
        services.project_lead_remove(project=project, user=person, actor=user_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadCriterionDeclareApi(APIView):
    """Declare how the project meets one SSE criterion; a moderator then checks it."""

    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        statement = StrictCharField(max_length=2000)

    @extend_schema(
        request=InputSerializer,
        responses={200: CriterionOutputSerializer},
        tags=LEAD,
        summary="Declare an SSE criterion",
        parameters=[
            OpenApiParameter(
                "criterion", str, OpenApiParameter.PATH, enum=list(SSECriterion.values)
            )
        ],
    )
    def put(self, request: Request, project_id: int, criterion: str) -> Response:
        project = _lead_project(request, project_id)
        if criterion not in SSECriterion.values:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.criterion_declare(
            project=project,
            actor=user_from_request(request),
            criterion=criterion,
            statement=data.validated_data["statement"],
        )
        return Response(CriterionOutputSerializer(row).data)


# --- the lead's API: campaigns ----------------------------------------------------------------


class LeadCampaignSerializer(CampaignDetailSerializer):
    review_note = serializers.CharField(read_only=True)

    class Meta(CampaignDetailSerializer.Meta):
        fields = [
            *CampaignDetailSerializer.Meta.fields,
            "review_note",
            "cancel_reason",
            "created_at",
        ]


class CampaignInputSerializer(StrictInputSerializer):
    project = StrictIntegerField(min_value=1, help_text="One of my projects")
    title = StrictCharField(max_length=160)
    goal = AmountField()
    stretch_goal = AmountField(required=False, allow_null=True, default=None)
    currency = CurrencyField(required=False)
    funding_model = serializers.ChoiceField(
        choices=FundingModel.choices, required=False, default=FundingModel.ALL_OR_NOTHING
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    deadline = serializers.DateTimeField()


class LeadCampaignListCreateApi(generics.ListCreateAPIView[Campaign]):
    """My campaigns, drafts included."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS
    serializer_class = LeadCampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.lead_campaigns(user_from_request(self.request)).prefetch_related(
            "tiers", "budget_lines", "milestones", "project__criteria", "project__team__user"
        )

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], list):
            kwargs.setdefault("context", self.get_serializer_context()).update(
                _progress_context(args[0])
            )
        return super().get_serializer(*args, **kwargs)

    @extend_schema(tags=LEAD, summary="My campaigns")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CampaignInputSerializer,
        responses={201: LeadCampaignSerializer},
        tags=LEAD,
        summary="Create a campaign (a draft)",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = _lead_project(request, values.pop("project"))
        campaign = services.campaign_create(
            project=project, actor=user_from_request(request), **values
        )
        return Response(LeadCampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class LeadCampaignDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class UpdateSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=160, required=False)
        goal = AmountField(required=False)
        stretch_goal = AmountField(required=False, allow_null=True)
        currency = CurrencyField(required=False)
        funding_model = serializers.ChoiceField(choices=FundingModel.choices, required=False)
        starts_at = serializers.DateTimeField(required=False, allow_null=True)
        deadline = serializers.DateTimeField(required=False)

    @extend_schema(
        responses={200: LeadCampaignSerializer}, tags=LEAD, summary="One of my campaigns"
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(LeadCampaignSerializer(_lead_campaign(request, campaign_id)).data)

    @extend_schema(
        request=UpdateSerializer,
        responses={200: LeadCampaignSerializer},
        tags=LEAD,
        summary="Edit a campaign (terms only before submission)",
    )
    def patch(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_update(
            campaign=campaign, actor=user_from_request(request), data=dict(data.validated_data)
        )
        return Response(LeadCampaignSerializer(campaign).data)


class _CampaignActionApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    def act(self, request: Request, campaign: Campaign) -> Campaign:
        raise NotImplementedError

    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = self.act(request, _lead_campaign(request, campaign_id))
        return Response(LeadCampaignSerializer(campaign).data)


class LeadCampaignSubmitApi(_CampaignActionApi):
    def act(self, request: Request, campaign: Campaign) -> Campaign:
        return services.campaign_submit(campaign=campaign, actor=user_from_request(request))

    @extend_schema(
        request=None,
        responses={200: LeadCampaignSerializer},
        tags=LEAD,
        summary="Submit for review",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        return super().post(request, campaign_id)


class LeadCampaignLaunchApi(_CampaignActionApi):
    def act(self, request: Request, campaign: Campaign) -> Campaign:
        return services.campaign_launch(campaign=campaign, actor=user_from_request(request))

    @extend_schema(
        request=None,
        responses={200: LeadCampaignSerializer},
        tags=LEAD,
        summary="Launch an approved campaign (locks the goal and the deadline)",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        return super().post(request, campaign_id)


class CancelInputSerializer(StrictInputSerializer):
    reason = StrictCharField(max_length=500, allow_blank=True, required=False, default="")


class LeadCampaignCancelApi(_CampaignActionApi):
    def act(self, request: Request, campaign: Campaign) -> Campaign:
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return services.campaign_cancel(
            campaign=campaign,
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
        )

    @extend_schema(
        request=CancelInputSerializer,
        responses={200: LeadCampaignSerializer},
        tags=LEAD,
        summary="Cancel a campaign: everything collected is refunded",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        return super().post(request, campaign_id)


# --- the lead's API: tiers, budget lines, milestones ------------------------------------------


class TierInputSerializer(StrictInputSerializer):
    title = StrictCharField(max_length=120)
    description = StrictCharField(max_length=1000, allow_blank=True, required=False, default="")
    amount = AmountField()
    limit = StrictIntegerField(
        min_value=1, max_value=1_000_000, required=False, allow_null=True, default=None
    )
    delivery_date = serializers.DateField(required=False, allow_null=True, default=None)
    position = StrictIntegerField(min_value=0, max_value=1000, required=False, default=0)


class TierUpdateSerializer(TierInputSerializer):
    title = StrictCharField(max_length=120, required=False)
    description = StrictCharField(max_length=1000, allow_blank=True, required=False)
    amount = AmountField(required=False)
    limit = StrictIntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    delivery_date = serializers.DateField(required=False, allow_null=True)
    position = StrictIntegerField(min_value=0, max_value=1000, required=False)


class LeadTierCreateApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    @extend_schema(
        request=TierInputSerializer,
        responses={201: TierOutputSerializer},
        tags=LEAD,
        summary="Add a reward tier",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        data = TierInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tier = services.tier_create(
            campaign=campaign, actor=user_from_request(request), **data.validated_data
        )
        return Response(TierOutputSerializer(tier).data, status=status.HTTP_201_CREATED)


class LeadTierDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    def _tier(self, request: Request, tier_id: int) -> Tier:
        return get_object_or_404(
            Tier.objects.select_related("campaign").filter(
                campaign__project__team__user_id=user_from_request(request).pk
            ),
            pk=tier_id,
        )

    @extend_schema(
        request=TierUpdateSerializer,
        responses={200: TierOutputSerializer},
        tags=LEAD,
        summary="Edit a tier",
    )
    def patch(self, request: Request, tier_id: int) -> Response:
        tier = self._tier(request, tier_id)
        data = TierUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tier = services.tier_update(
            tier=tier, actor=user_from_request(request), data=dict(data.validated_data)
        )
        return Response(TierOutputSerializer(tier).data)

    @extend_schema(request=None, responses={204: None}, tags=LEAD, summary="Remove a tier")
    def delete(self, request: Request, tier_id: int) -> Response:
        services.tier_delete(tier=self._tier(request, tier_id), actor=user_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BudgetLineInputSerializer(StrictInputSerializer):
    label = StrictCharField(max_length=160)  # type: ignore[assignment]
    description = StrictCharField(max_length=1000, allow_blank=True, required=False, default="")
    amount = AmountField()
    position = StrictIntegerField(min_value=0, max_value=1000, required=False, default=0)


class BudgetLineUpdateSerializer(StrictInputSerializer):
    label = StrictCharField(max_length=160, required=False)  # type: ignore[assignment]
    description = StrictCharField(max_length=1000, allow_blank=True, required=False)
    amount = AmountField(required=False)
    position = StrictIntegerField(min_value=0, max_value=1000, required=False)


class LeadBudgetLineCreateApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    @extend_schema(
        request=BudgetLineInputSerializer,
        responses={201: BudgetLineOutputSerializer},
        tags=LEAD,
        summary="Add a budget line",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        data = BudgetLineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.budget_line_create(
            campaign=campaign, actor=user_from_request(request), **data.validated_data
        )
        return Response(BudgetLineOutputSerializer(line).data, status=status.HTTP_201_CREATED)


class LeadBudgetLineDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    def _line(self, request: Request, line_id: int) -> BudgetLine:
        return get_object_or_404(
            BudgetLine.objects.select_related("campaign").filter(
                campaign__project__team__user_id=user_from_request(request).pk
            ),
            pk=line_id,
        )

    @extend_schema(
        request=BudgetLineUpdateSerializer,
        responses={200: BudgetLineOutputSerializer},
        tags=LEAD,
        summary="Edit a budget line",
    )
    def patch(self, request: Request, line_id: int) -> Response:
        line = self._line(request, line_id)
        data = BudgetLineUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.budget_line_update(
            line=line, actor=user_from_request(request), data=dict(data.validated_data)
        )
        return Response(BudgetLineOutputSerializer(line).data)

    @extend_schema(request=None, responses={204: None}, tags=LEAD, summary="Remove a budget line")
    def delete(self, request: Request, line_id: int) -> Response:
        services.budget_line_delete(
            line=self._line(request, line_id), actor=user_from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MilestoneInputSerializer(StrictInputSerializer):
    title = StrictCharField(max_length=160)
    description = StrictCharField(max_length=2000, allow_blank=True, required=False, default="")
    amount = AmountField()
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    position = StrictIntegerField(min_value=0, max_value=1000, required=False, default=0)


class MilestoneUpdateSerializer(StrictInputSerializer):
    title = StrictCharField(max_length=160, required=False)
    description = StrictCharField(max_length=2000, allow_blank=True, required=False)
    amount = AmountField(required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    position = StrictIntegerField(min_value=0, max_value=1000, required=False)


def _lead_milestone(request: Request, milestone_id: int) -> Milestone:
    return get_object_or_404(selectors.lead_milestones(user_from_request(request)), pk=milestone_id)


class LeadMilestoneCreateApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    @extend_schema(
        request=MilestoneInputSerializer,
        responses={201: MilestoneOutputSerializer},
        tags=LEAD,
        summary="Add a milestone (a tranche)",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        data = MilestoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = services.milestone_create(
            campaign=campaign, actor=user_from_request(request), **data.validated_data
        )
        return Response(MilestoneOutputSerializer(milestone).data, status=status.HTTP_201_CREATED)


class LeadMilestoneDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    @extend_schema(
        request=MilestoneUpdateSerializer,
        responses={200: MilestoneOutputSerializer},
        tags=LEAD,
        summary="Edit a milestone",
    )
    def patch(self, request: Request, milestone_id: int) -> Response:
        milestone = _lead_milestone(request, milestone_id)
        data = MilestoneUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = services.milestone_update(
            milestone=milestone, actor=user_from_request(request), data=dict(data.validated_data)
        )
        return Response(MilestoneOutputSerializer(milestone).data)

    @extend_schema(request=None, responses={204: None}, tags=LEAD, summary="Remove a milestone")
    def delete(self, request: Request, milestone_id: int) -> Response:
        services.milestone_delete(
            milestone=_lead_milestone(request, milestone_id), actor=user_from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadMilestoneRequestApi(APIView):
    """Ask for a milestone's tranche: a disbursement for the treasurer to approve."""

    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        note = StrictCharField(max_length=500, allow_blank=True, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: MilestoneOutputSerializer},
        tags=LEAD,
        summary="Request a tranche",
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        milestone = _lead_milestone(request, milestone_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = services.milestone_request(
            milestone=milestone, actor=user_from_request(request), note=data.validated_data["note"]
        )
        return Response(MilestoneOutputSerializer(milestone).data)


# --- the lead's API: pledges, money, ledger, disbursements, updates ---------------------------


class PledgeAggregatesSerializer(serializers.Serializer):
    class TierRow(serializers.Serializer):
        tier_id = serializers.IntegerField(allow_null=True)
        title = serializers.CharField()
        count = serializers.IntegerField()
        amount = serializers.IntegerField()

    class DayRow(serializers.Serializer):
        day = serializers.DateField()
        count = serializers.IntegerField()
        amount = serializers.IntegerField()
        cumulative = serializers.IntegerField()

    class StatusRow(serializers.Serializer):
        status = serializers.ChoiceField(choices=PledgeStatus.choices)
        count = serializers.IntegerField()
        amount = serializers.IntegerField()

    currency = serializers.CharField()
    progress = ProgressSerializer()
    per_tier = TierRow(many=True)
    per_day = DayRow(many=True)
    per_status = StatusRow(many=True)


class LeadCampaignPledgesApi(APIView):
    """Pledges of my campaign, aggregated: per tier, per day and per status."""

    read_scope = Scope.READ_CAMPAIGNS

    @extend_schema(
        responses={200: PledgeAggregatesSerializer}, tags=LEAD, summary="Pledges, aggregated"
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        body = {
            "currency": campaign.currency,
            "progress": selectors.campaign_progress_get(campaign),
            "per_tier": selectors.pledges_per_tier(campaign),
            "per_day": selectors.campaign_pledges_by_day(campaign),
            "per_status": selectors.pledges_per_status(campaign),
        }
        return Response(PledgeAggregatesSerializer(body).data)


class LeadBackerSerializer(serializers.ModelSerializer[Pledge]):
    name = serializers.SerializerMethodField()
    tier = serializers.CharField(source="tier.title", default=None, allow_null=True)

    class Meta:
        model = Pledge
        fields = [
            "id",
            "name",
            "amount",
            "refunded_amount",
            "currency",
            "status",
            "tier",
            "public_message",
            "created_at",
            "collected_at",
        ]

    def get_name(self, pledge: Pledge) -> str:
        return selectors.backer_name(pledge)


class LeadCampaignBackerListApi(generics.ListAPIView[Pledge]):
    """Each backer shown only as they chose (Anonymous, a pseudonym or a name); never an email."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_CAMPAIGNS
    serializer_class = LeadBackerSerializer
    filterset_class = BackerFilter

    def get_queryset(self) -> QuerySet[Pledge]:
        if getattr(self, "swagger_fake_view", False):
            return Pledge.objects.none()
        campaign = _lead_campaign(self.request, self.kwargs["campaign_id"])
        return selectors.campaign_backers_for_lead(campaign)

    @extend_schema(tags=LEAD, summary="Backers of my campaign")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class FundsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    collected = serializers.IntegerField()
    refunded = serializers.IntegerField()
    raised = serializers.IntegerField()
    in_escrow = serializers.IntegerField()
    disbursed = serializers.IntegerField()
    pending_disbursement = serializers.IntegerField()
    reserved = serializers.IntegerField()
    escrow_account = serializers.CharField(allow_null=True)


class LeadCampaignFundsApi(APIView):
    """Money collected, held in escrow (the ledger's balance) and disbursed."""

    read_scope = Scope.READ_FUNDS

    @extend_schema(responses={200: FundsSerializer}, tags=LEAD, summary="My campaign's money")
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        return Response(FundsSerializer(selectors.campaign_funds_get(campaign)).data)


class LedgerLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entry_id = serializers.IntegerField()
    kind = serializers.CharField(source="entry.kind")
    memo = serializers.CharField(source="entry.memo")
    campaign_id = serializers.IntegerField(source="account.owner_id")
    account = serializers.CharField(source="account.code")
    side = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    reference_type = serializers.CharField(source="entry.reference_type")
    reference_id = serializers.IntegerField(source="entry.reference_id", allow_null=True)
    created_at = serializers.DateTimeField(source="entry.created_at")


class LeadLedgerLineListApi(generics.ListAPIView[Any]):
    """My ledger lines: postings on the escrow accounts of my campaigns."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_FUNDS
    serializer_class = LedgerLineSerializer
    filterset_class = LedgerLineFilter

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Posting.objects.none()
        return selectors.lead_ledger_postings(user_from_request(self.request))

    @extend_schema(tags=LEAD, summary="My ledger lines")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LeadDisbursementSerializer(serializers.ModelSerializer[Milestone]):
    campaign_id = serializers.IntegerField()
    milestone_id = serializers.IntegerField(source="id")
    milestone = serializers.CharField(source="title")
    currency = serializers.CharField(source="campaign.currency")

    class Meta:
        model = Milestone
        fields = [
            "milestone_id",
            "milestone",
            "campaign_id",
            "amount",
            "currency",
            "status",
            "disbursement_id",
            "requested_at",
            "approved_at",
            "paid_at",
            "failure_reason",
        ]


class LeadDisbursementListApi(generics.ListAPIView[Milestone]):
    """My disbursement requests: every tranche asked for, and where it stands."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_FUNDS
    serializer_class = LeadDisbursementSerializer
    filterset_class = DisbursementRequestFilter

    def get_queryset(self) -> QuerySet[Milestone]:
        if getattr(self, "swagger_fake_view", False):
            return Milestone.objects.none()
        return selectors.lead_milestones(user_from_request(self.request)).exclude(
            requested_at__isnull=True
        )

    @extend_schema(tags=LEAD, summary="My disbursement requests")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LeadUpdateCreateApi(APIView):
    """Post news; it is emailed to every backer."""

    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=200)
        body = StrictCharField(max_length=20000, help_text="Markdown")

    @extend_schema(
        request=InputSerializer,
        responses={201: UpdateOutputSerializer},
        tags=LEAD,
        summary="Post an update",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = _lead_campaign(request, campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.update_create(
            campaign=campaign, actor=user_from_request(request), **data.validated_data
        )
        return Response(UpdateOutputSerializer(update).data, status=status.HTTP_201_CREATED)


# --- the lead's API: outgoing webhooks --------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "project_id",
            "url",
            "description",
            "event_types",
            "is_active",
            "secret",
            "created_at",
        ]


class WebhookEndpointInputSerializer(StrictInputSerializer):
    project = StrictIntegerField(min_value=1)
    url = StrictCharField(max_length=500)
    description = StrictCharField(max_length=200, allow_blank=True, required=False, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        required=False,
        default=list,
        max_length=len(WebhookEventType),
        help_text="Empty: every event.",
    )


def _lead_endpoint(request: Request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(
        selectors.lead_webhook_endpoints(user_from_request(request)), pk=endpoint_id
    )


class LeadWebhookListCreateApi(generics.ListCreateAPIView[WebhookEndpoint]):
    """Outgoing webhooks of my projects, signed with each endpoint's secret."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_WEBHOOKS
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return selectors.lead_webhook_endpoints(user_from_request(self.request))

    @extend_schema(tags=LEAD, summary="My webhook endpoints")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointSerializer},
        tags=LEAD,
        summary="Add a webhook endpoint",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = _lead_project(request, values.pop("project"))
        endpoint = webhook_endpoint_create(
            project=project, actor=user_from_request(request), **values
        )
        return Response(WebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class LeadWebhookDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_WEBHOOKS

    class UpdateSerializer(StrictInputSerializer):
        url = StrictCharField(max_length=500, required=False)
        description = StrictCharField(max_length=200, allow_blank=True, required=False)
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=WebhookEventType.choices),
            required=False,
            max_length=len(WebhookEventType),
        )
        is_active = StrictBooleanField(required=False)
        roll_secret = StrictBooleanField(required=False, help_text="Issue a new secret")

    @extend_schema(
        responses={200: WebhookEndpointSerializer}, tags=LEAD, summary="A webhook endpoint"
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(WebhookEndpointSerializer(_lead_endpoint(request, endpoint_id)).data)

    @extend_schema(
        request=UpdateSerializer,
        responses={200: WebhookEndpointSerializer},
        tags=LEAD,
        summary="Edit a webhook endpoint",
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _lead_endpoint(request, endpoint_id)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(endpoint=endpoint, data=dict(data.validated_data))
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        request=None, responses={204: None}, tags=LEAD, summary="Remove a webhook endpoint"
    )
    def delete(self, request: Request, endpoint_id: int) -> Response:
        _lead_endpoint(request, endpoint_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "delivered_at",
            "replay_of",
            "created_at",
        ]


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    log = WebhookAttemptSerializer(many=True, read_only=True)
    body = serializers.CharField(read_only=True)

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "body", "log"]


class LeadWebhookPingApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_WEBHOOKS

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        tags=LEAD,
        summary="Send a test event",
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        delivery = webhook_endpoint_ping(endpoint=_lead_endpoint(request, endpoint_id))
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class LeadWebhookDeliveryListApi(generics.ListAPIView[WebhookDelivery]):
    """The delivery log of an endpoint."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_CAMPAIGNS
    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = _lead_endpoint(self.request, self.kwargs["endpoint_id"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)

    @extend_schema(tags=LEAD, summary="Deliveries of an endpoint")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _lead_delivery(request: Request, delivery_id: int) -> WebhookDelivery:
    return get_object_or_404(
        selectors.lead_webhook_deliveries(user_from_request(request)).prefetch_related("log"),
        pk=delivery_id,
    )


class LeadWebhookDeliveryDetailApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS

    @extend_schema(
        responses={200: WebhookDeliveryDetailSerializer},
        tags=LEAD,
        summary="A delivery, its body and its attempts",
    )
    def get(self, request: Request, delivery_id: int) -> Response:
        return Response(WebhookDeliveryDetailSerializer(_lead_delivery(request, delivery_id)).data)


class LeadWebhookDeliveryReplayApi(APIView):
    read_scope = Scope.READ_CAMPAIGNS
    write_scope = Scope.WRITE_WEBHOOKS

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        tags=LEAD,
        summary="Send a delivery's event again",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        replay = webhook_delivery_replay(delivery=_lead_delivery(request, delivery_id))
        replay.refresh_from_db()
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)


# --- moderation -------------------------------------------------------------------------------


class ModerationCampaignListApi(generics.ListAPIView[Campaign]):
    """Campaigns for moderators, drafts included; `?status=in_review` is the review queue."""

    pagination_class = CursorPagination
    permission_classes = [IsModerator]
    read_scope = Scope.ADMIN
    serializer_class = LeadCampaignSerializer
    filterset_class = ModerationCampaignFilter

    def get_queryset(self) -> QuerySet[Campaign]:
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return Campaign.objects.select_related("project", "project__theme").prefetch_related(
            "tiers", "budget_lines", "milestones", "project__criteria", "project__team__user"
        )

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], list):
            kwargs.setdefault("context", self.get_serializer_context()).update(
                _progress_context(args[0])
            )
        return super().get_serializer(*args, **kwargs)

    @extend_schema(tags=MODERATION, summary="Campaigns to review")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ModerationCampaignReviewApi(APIView):
    permission_classes = [IsModerator]
    read_scope = Scope.ADMIN
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        decision = serializers.ChoiceField(choices=["approve", "request_changes"])
        note = StrictCharField(max_length=2000, allow_blank=True, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: LeadCampaignSerializer},
        tags=MODERATION,
        summary="Approve a campaign, or ask for changes",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_review(
            campaign=campaign,
            actor=user_from_request(request),
            approve=data.validated_data["decision"] == "approve",
            note=data.validated_data["note"],
        )
        return Response(LeadCampaignSerializer(campaign).data)


class ModerationCampaignCancelApi(APIView):
    """Stop a campaign (fraud, a broken promise): everything collected is refunded."""

    permission_classes = [IsModerator]
    read_scope = Scope.ADMIN
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        reason = StrictCharField(max_length=500)

    @extend_schema(
        request=InputSerializer,
        responses={200: LeadCampaignSerializer},
        tags=MODERATION,
        summary="Cancel a campaign",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_cancel(
            campaign=campaign,
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
            by_moderator=True,
        )
        return Response(LeadCampaignSerializer(campaign).data)


class ModerationCriterionCheckApi(APIView):
    permission_classes = [IsModerator]
    read_scope = Scope.ADMIN
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        verified = StrictBooleanField()
        note = StrictCharField(max_length=500, allow_blank=True, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={200: CriterionOutputSerializer},
        tags=MODERATION,
        summary="Confirm or refuse an SSE criterion",
    )
    def post(self, request: Request, criterion_id: int) -> Response:
        row = get_object_or_404(ProjectCriterion, pk=criterion_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.criterion_check(
            criterion=row, actor=user_from_request(request), **data.validated_data
        )
        return Response(CriterionOutputSerializer(row).data)


# --- backers ----------------------------------------------------------------------------------


class CampaignBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    funding_model = serializers.ChoiceField(choices=FundingModel.choices)


class PledgeOutputSerializer(serializers.ModelSerializer[Pledge]):
    campaign = serializers.SerializerMethodField()
    tier = serializers.IntegerField(source="tier_id", allow_null=True)
    payment_method = serializers.IntegerField(source="payment_method_id", allow_null=True)
    proof_url = serializers.SerializerMethodField()

    class Meta:
        model = Pledge
        fields = [
            "id",
            "campaign",
            "tier",
            "amount",
            "refunded_amount",
            "currency",
            "status",
            "is_anonymous",
            "public_message",
            "payment_method",
            "attempts",
            "retry_until",
            "failure_code",
            "failure_message",
            "created_at",
            "committed_at",
            "collected_at",
            "charge_entry_id",
            "proof_url",
        ]

    @extend_schema_field(CampaignBriefSerializer)
    def get_campaign(self, pledge: Pledge) -> dict[str, Any]:
        campaign = pledge.campaign
        return {
            "id": campaign.pk,
            "slug": campaign.slug,
            "title": campaign.title,
            "status": campaign.status,
            "funding_model": campaign.funding_model,
        }

    def get_proof_url(self, pledge: Pledge) -> str | None:
        if pledge.charge_entry_id is None:
            return None
        return f"/api/v1/ledger/entries/{pledge.charge_entry_id}/proof"


_instant = serializers.DateTimeField()


def pledge_payload(pledge: Pledge) -> dict[str, Any]:
    """`PledgeOutputSerializer`'s answer for one pledge, built directly: the pledge request is
    the platform's hottest write and a model serializer costs as much as its insert. The two
    are kept equal by a test."""

    def instant(value: Any) -> str | None:
        return None if value is None else _instant.to_representation(value)

    campaign = pledge.campaign
    charge_entry_id = pledge.charge_entry_id
    return {
        "id": pledge.pk,
        "campaign": {
            "id": campaign.pk,
            "slug": campaign.slug,
            "title": campaign.title,
            "status": campaign.status,
            "funding_model": campaign.funding_model,
        },
        "tier": pledge.tier_id,
        "amount": pledge.amount,
        "refunded_amount": pledge.refunded_amount,
        "currency": pledge.currency,
        "status": pledge.status,
        "is_anonymous": pledge.is_anonymous,
        "public_message": pledge.public_message,
        "payment_method": pledge.payment_method_id,
        "attempts": pledge.attempts,
        "retry_until": instant(pledge.retry_until),
        "failure_code": pledge.failure_code,
        "failure_message": pledge.failure_message,
        "created_at": instant(pledge.created_at),
        "committed_at": instant(pledge.committed_at),
        "collected_at": instant(pledge.collected_at),
        "charge_entry_id": charge_entry_id,
        "proof_url": (
            None if charge_entry_id is None else f"/api/v1/ledger/entries/{charge_entry_id}/proof"
        ),
    }


class PledgeCreateInputSerializer(StrictInputSerializer):
    campaign = StrictIntegerField(min_value=1)
    amount = AmountField()
    tier = StrictIntegerField(min_value=1, required=False, allow_null=True, default=None)
    is_anonymous = StrictBooleanField(required=False, default=False)
    public_message = StrictCharField(max_length=500, allow_blank=True, required=False, default="")
    payment_method = StrictIntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="A saved card (payments). Without one, the pledge waits for a card.",
    )


# The bounds the serializer's own fields enforce, read from them.
_PLEDGE_INPUT: dict[str, Any] = PledgeCreateInputSerializer._declared_fields
_AMOUNT_MIN, _AMOUNT_MAX = _PLEDGE_INPUT["amount"].min_value, _PLEDGE_INPUT["amount"].max_value
_MESSAGE_MAX = _PLEDGE_INPUT["public_message"].max_length


def _is_id(value: Any) -> bool:
    return type(value) is int and 1 <= value <= BIGINT_MAX


def pledge_input_plain(data: Any) -> dict[str, Any] | None:
    """`PledgeCreateInputSerializer`'s validated data for input that is plainly valid, else None.

    A serializer deep-copies its fields for every request; the pledge request is the hottest
    write, and nearly all of its bodies are well formed. Anything this does not recognise as
    valid, it leaves to the serializer, which decides and words the errors. A property test
    holds the two equal."""
    if type(data) is not dict or not _PLEDGE_INPUT.keys() >= data.keys():
        return None
    campaign, amount = data.get("campaign"), data.get("amount")
    tier, card = data.get("tier"), data.get("payment_method")
    is_anonymous, message = data.get("is_anonymous", False), data.get("public_message", "")
    if not (
        _is_id(campaign)
        and type(amount) is int
        and _AMOUNT_MIN <= amount <= _AMOUNT_MAX
        and (tier is None or _is_id(tier))
        and (card is None or _is_id(card))
        and type(is_anonymous) is bool
        and type(message) is str
    ):
        return None
    message = message.strip()
    if len(message) > _MESSAGE_MAX or "\x00" in message:
        return None
    try:
        message.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    return {
        "campaign": campaign,
        "amount": amount,
        "tier": tier,
        "is_anonymous": is_anonymous,
        "public_message": message,
        "payment_method": card,
    }


class PledgeListCreateApi(generics.ListCreateAPIView[Pledge]):
    """My pledges. A pledge with a saved card is committed at once (all-or-nothing) or charged
    by a worker (keep-it-all). Send an `Idempotency-Key` header to retry safely."""

    pagination_class = CursorPagination
    permission_classes = [IsAuthenticatedWithScope]
    read_scope = Scope.READ_FUNDS
    write_scope = Scope.WRITE_PLEDGES
    serializer_class = PledgeOutputSerializer
    filterset_class = PledgeFilter

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "pledge" if self.request.method == "POST" else ""
        return super().get_throttles()

    def get_queryset(self) -> QuerySet[Pledge]:
        if getattr(self, "swagger_fake_view", False):
            return Pledge.objects.none()
        return selectors.backer_pledges(user_from_request(self.request))

    @extend_schema(tags=BACKER, summary="My pledges")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PledgeCreateInputSerializer,
        responses={201: PledgeOutputSerializer},
        tags=BACKER,
        summary="Back a campaign",
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        values = pledge_input_plain(request.data)
        if values is None:
            data = PledgeCreateInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data
        tier = None
        if values["tier"] is not None:
            tier = Tier.objects.filter(pk=values["tier"], campaign_id=values["campaign"]).first()
            if tier is None:
                raise serializers.ValidationError({"tier": ["Unknown tier for this campaign."]})
        key = request.headers.get("Idempotency-Key", "").strip()[:80] or None
        pledge = services.pledge_create(
            backer=user_from_request(request),
            campaign=values["campaign"],
            amount=values["amount"],
            tier=tier,
            is_anonymous=values["is_anonymous"],
            public_message=values["public_message"],
            payment_method_id=values["payment_method"],
            client_key=key,
        )
        return Response(pledge_payload(pledge), status=status.HTTP_201_CREATED)


def _my_pledge(request: Request, pledge_id: int) -> Pledge:
    return get_object_or_404(selectors.backer_pledges(user_from_request(request)), pk=pledge_id)


class PledgeDetailApi(APIView):
    read_scope = Scope.READ_FUNDS

    @extend_schema(
        responses={200: PledgeOutputSerializer}, tags=BACKER, summary="One of my pledges"
    )
    def get(self, request: Request, pledge_id: int) -> Response:
        return Response(PledgeOutputSerializer(_my_pledge(request, pledge_id)).data)


class PledgeCancelApi(APIView):
    read_scope = Scope.READ_FUNDS
    write_scope = Scope.WRITE_PLEDGES

    @extend_schema(
        request=None,
        responses={200: PledgeOutputSerializer},
        tags=BACKER,
        summary="Cancel my pledge while the campaign is live",
    )
    def post(self, request: Request, pledge_id: int) -> Response:
        pledge = services.pledge_cancel(
            pledge=_my_pledge(request, pledge_id), actor=user_from_request(request)
        )
        return Response(PledgeOutputSerializer(_my_pledge(request, pledge.pk)).data)


class PledgeCardApi(APIView):
    """Give a pledge its saved card: commits it, or retries a charge that failed."""

    read_scope = Scope.READ_FUNDS
    write_scope = Scope.WRITE_PLEDGES

    class InputSerializer(StrictInputSerializer):
        payment_method = StrictIntegerField(min_value=1)

    @extend_schema(
        request=InputSerializer,
        responses={200: PledgeOutputSerializer},
        tags=BACKER,
        summary="Use a saved card for my pledge",
    )
    def post(self, request: Request, pledge_id: int) -> Response:
        pledge = _my_pledge(request, pledge_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.pledge_card_set(
            pledge=pledge,
            actor=user_from_request(request),
            payment_method_id=data.validated_data["payment_method"],
        )
        return Response(PledgeOutputSerializer(_my_pledge(request, pledge.pk)).data)


class ReceiptSerializer(serializers.Serializer):
    pledge_id = serializers.IntegerField()
    campaign = serializers.CharField()
    campaign_url = serializers.CharField()
    backer = serializers.CharField()
    amount = serializers.IntegerField()
    refunded_amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=PledgeStatus.choices)
    funding_model = serializers.ChoiceField(choices=FundingModel.choices)
    tier = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    collected_at = serializers.DateTimeField(allow_null=True)
    ledger_entry_id = serializers.IntegerField(allow_null=True)
    proof_url = serializers.CharField(allow_null=True)


class PledgeReceiptApi(APIView):
    read_scope = Scope.READ_FUNDS

    @extend_schema(responses={200: ReceiptSerializer}, tags=BACKER, summary="My receipt")
    def get(self, request: Request, pledge_id: int) -> Response:
        pledge = _my_pledge(request, pledge_id)
        body = {
            "pledge_id": pledge.pk,
            "campaign": pledge.campaign.title,
            "campaign_url": f"/campaigns/{pledge.campaign.slug}/",
            "backer": selectors.backer_name(pledge),
            "amount": pledge.amount,
            "refunded_amount": pledge.refunded_amount,
            "currency": pledge.currency,
            "status": pledge.status,
            "funding_model": pledge.campaign.funding_model,
            "tier": pledge.tier.title if pledge.tier else None,
            "created_at": pledge.created_at,
            "collected_at": pledge.collected_at,
            "ledger_entry_id": pledge.charge_entry_id,
            "proof_url": (
                f"/api/v1/ledger/entries/{pledge.charge_entry_id}/proof"
                if pledge.charge_entry_id
                else None
            ),
        }
        return Response(ReceiptSerializer(body).data)
