"""API of the common fund: governance polls and funding rounds.

Public: lists, details, results and the published files (ballot file, Pabulib file). Members:
their ballot (scope write:votes). Moderators and the treasurer: create, open, close, publish and
cancel (scope admin). No response ever says who cast which ballot.
"""

import re
from fractions import Fraction
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.pagination import CursorPagination
from common.serializers import (
    AmountField,
    CurrencyField,
    StrictBooleanField,
    StrictCharField,
    StrictInputSerializer,
    StrictIntegerField,
)
from members.enums import Scope
from members.permissions import IsSupporter
from members.selectors import user_from_request

from .enums import (
    Grade,
    PollMethod,
    PollStatus,
    ResolutionChoice,
    RoundComparison,
    RoundProjectKind,
    RoundStatus,
)
from .exceptions import ResultsNotPublishedError
from .models import Poll, Round, RoundProject
from .permissions import IsFundManager
from .selectors.governance import (
    BallotStatus,
    poll_ballot_status,
    poll_get,
    poll_list,
    poll_turnout,
)
from .selectors.rounds import (
    round_ballot_status,
    round_get,
    round_list,
    round_projects,
    round_turnout,
)
from .services.governance import (
    poll_ballot_submit,
    poll_cancel,
    poll_close,
    poll_create,
    poll_open,
    poll_publish,
)
from .services.rounds import (
    round_ballot_submit,
    round_cancel,
    round_close,
    round_create,
    round_open,
    round_project_add,
    round_publish,
)

POLLS = ["governance"]
ROUNDS = ["funding rounds"]
MAX_ROUND_AMOUNT = 10**13  # minor units: large municipal budgets in forint fit


# ---------------------------------------------------------------------------------------------
# Fields


@extend_schema_field({"type": "string", "pattern": r"^(0|1|\d{1,9}/\d{1,9})$", "example": "1/2"})
class ShareField(StrictCharField):
    """An exact share between 0 and 1, written "0", "1" or as a fraction "2/3"."""

    pattern = re.compile(r"^(0|1|\d{1,9}/\d{1,9})$")

    def to_internal_value(self, data: Any) -> Fraction:  # type: ignore[override]
        text = super().to_internal_value(data)
        if not self.pattern.match(text):
            raise serializers.ValidationError('Write a share as "0", "1" or a fraction "2/3".')
        numerator, _, denominator = text.partition("/")
        if denominator and int(denominator) == 0:
            raise serializers.ValidationError("The denominator cannot be zero.")
        share = Fraction(int(numerator), int(denominator or 1))
        if share > 1:
            raise serializers.ValidationError("A share is at most 1.")
        return share


@extend_schema_field(OpenApiTypes.STR)
class FractionOutputField(serializers.Field):
    def to_representation(self, value: Fraction) -> str:
        return str(value)


def _file_response(text: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(text.encode("utf-8"), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _ManagerApi(APIView):
    permission_classes = [IsFundManager]
    write_scope = Scope.ADMIN


# ---------------------------------------------------------------------------------------------
# Polls


class PollOptionOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="code", help_text="The option's id in ballots and files.")
    label = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()


class GradeOutputSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]


class PollOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    method = serializers.ChoiceField(choices=PollMethod.choices)
    status = serializers.ChoiceField(choices=PollStatus.choices)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    quorum = FractionOutputField(help_text="Share of the electorate that must vote.")
    threshold = FractionOutputField(help_text="Share of yes among yes + no (resolutions).")
    threshold_inclusive = serializers.BooleanField()
    options = PollOptionOutputSerializer(many=True)
    grades = serializers.SerializerMethodField()
    electorate_size = serializers.IntegerField(
        help_text="Members entitled to vote (fixed at opening)."
    )
    turnout = serializers.SerializerMethodField(help_text="Members who have voted, not who.")
    opened_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    has_results = serializers.BooleanField()

    @extend_schema_field(GradeOutputSerializer(many=True))
    def get_grades(self, poll: Poll) -> list[dict[str, Any]]:
        if poll.method != PollMethod.MAJORITY_JUDGMENT:
            return []
        return [{"value": g.value, "label": str(g.label)} for g in Grade]

    def get_turnout(self, poll: Poll) -> int:
        return poll_turnout(poll=poll)


class PollListCreateApi(generics.ListAPIView):
    """Polls on the fund's strategy. Drafts are listed for the treasurer, moderators and auditors."""

    serializer_class = PollOutputSerializer
    pagination_class = CursorPagination
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=200)
        description = StrictCharField(
            max_length=10_000, required=False, allow_blank=True, default=""
        )
        method = serializers.ChoiceField(choices=PollMethod.choices)
        options = serializers.ListField(
            child=StrictCharField(max_length=200),
            required=False,
            default=list,
            max_length=50,
            help_text="2 to 50 options for a priority vote; none for a resolution.",
        )
        opens_at = serializers.DateTimeField()
        closes_at = serializers.DateTimeField()
        quorum = ShareField(required=False, default="0")
        threshold = ShareField(required=False, default="1/2")
        threshold_inclusive = StrictBooleanField(required=False, default=False)

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> Any:
        return poll_list(user=self.request.user)

    @extend_schema(tags=POLLS, summary="List polls")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=POLLS,
        summary="Create a poll (moderators, treasurer)",
        request=InputSerializer,
        responses={201: PollOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = poll_create(actor=user_from_request(request), **data.validated_data)
        poll = poll_get(poll_id=created.pk, user=request.user)
        return Response(PollOutputSerializer(poll).data, status=status.HTTP_201_CREATED)


def _poll_or_404(request: Request, poll_id: int) -> Poll:
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise NotFound("No such poll.")
    return poll


class PollDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=POLLS, summary="A poll", responses={200: PollOutputSerializer})
    def get(self, request: Request, poll_id: int) -> Response:
        return Response(PollOutputSerializer(_poll_or_404(request, poll_id)).data)


def _poll_move(service: Any, summary: str, name: str) -> type[APIView]:
    """One view per move of the poll's state machine; an illegal move answers 409."""

    class PollMoveApi(_ManagerApi):
        @extend_schema(
            tags=POLLS, summary=summary, request=None, responses={200: PollOutputSerializer}
        )
        def post(self, request: Request, poll_id: int) -> Response:
            poll = service(poll=_poll_or_404(request, poll_id), actor=user_from_request(request))
            return Response(PollOutputSerializer(poll_get(poll_id=poll.pk, user=request.user)).data)

    PollMoveApi.__name__ = PollMoveApi.__qualname__ = name
    return PollMoveApi


PollOpenApi = _poll_move(poll_open, "Open a poll now and freeze its electorate", "PollOpenApi")
PollCloseApi = _poll_move(
    poll_close, "Close a poll at the end of its window and count", "PollCloseApi"
)
PollPublishApi = _poll_move(poll_publish, "Publish a counted poll's results", "PollPublishApi")
PollCancelApi = _poll_move(poll_cancel, "Cancel a draft poll", "PollCancelApi")


class BallotStatusOutputSerializer(serializers.Serializer):
    in_electorate = serializers.BooleanField()
    has_voted = serializers.BooleanField()
    can_vote = serializers.BooleanField()
    closes_at = serializers.DateTimeField()
    ballot = serializers.JSONField(
        allow_null=True,
        help_text="Your current ballot, shown to you only, and only while voting is open.",
    )


def _ballot_status_data(item: Poll | Round, state: BallotStatus) -> dict[str, Any]:
    return {
        "in_electorate": state.in_electorate,
        "has_voted": state.has_voted,
        "can_vote": state.in_electorate and item.is_open,
        "closes_at": item.closes_at,
        "ballot": state.ballot,
    }


class PollBallotApi(APIView):
    """Your ballot in a poll: cast it, change it until close, see it while voting is open."""

    permission_classes = [IsSupporter]
    read_scope = Scope.WRITE_VOTES
    write_scope = Scope.WRITE_VOTES

    class InputSerializer(StrictInputSerializer):
        choice = serializers.ChoiceField(
            choices=ResolutionChoice.choices, required=False, help_text="Resolutions."
        )
        grades = serializers.DictField(
            child=StrictIntegerField(min_value=0, max_value=5),
            required=False,
            help_text="Majority judgment: option id → grade (0 Reject … 5 Excellent); "
            "an option left out gets Reject.",
        )
        approved = serializers.ListField(
            child=StrictCharField(max_length=10),
            required=False,
            max_length=50,
            help_text="Approval: the ids of the options you approve.",
        )

    @extend_schema(
        tags=POLLS, summary="My ballot status", responses={200: BallotStatusOutputSerializer}
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = _poll_or_404(request, poll_id)
        state = poll_ballot_status(poll=poll, user=user_from_request(request))
        return Response(BallotStatusOutputSerializer(_ballot_status_data(poll, state)).data)

    @extend_schema(
        tags=POLLS,
        summary="Cast or change my ballot",
        request=InputSerializer,
        responses={200: BallotStatusOutputSerializer},
    )
    def post(self, request: Request, poll_id: int) -> Response:
        poll = _poll_or_404(request, poll_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_from_request(request)
        poll_ballot_submit(poll=poll, user=user, ballot=dict(data.validated_data))
        state = poll_ballot_status(poll=poll, user=user)
        return Response(BallotStatusOutputSerializer(_ballot_status_data(poll, state)).data)


class PollResultsOutputSerializer(serializers.Serializer):
    poll = serializers.IntegerField()
    method = serializers.ChoiceField(choices=PollMethod.choices)
    ballot_file_sha256 = serializers.CharField()
    ballot_file_url = serializers.CharField()
    retally_command = serializers.CharField()
    result = serializers.JSONField(help_text="The tally with the steps of its method.")


def _published_poll(request: Request, poll_id: int) -> Poll:
    poll = _poll_or_404(request, poll_id)
    if not poll.has_results:
        raise ResultsNotPublishedError()
    return poll


class PollResultsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=POLLS,
        summary="Results of a published poll",
        responses={200: PollResultsOutputSerializer},
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = _published_poll(request, poll_id)
        data = {
            "poll": poll.pk,
            "method": poll.method,
            "ballot_file_sha256": poll.ballot_file_sha256,
            "ballot_file_url": f"/api/v1/fund/polls/{poll.pk}/ballot-file",
            "retally_command": f"python manage.py fund_poll_retally poll-{poll.pk}-ballots.jsonl",
            "result": poll.result,
        }
        return Response(PollResultsOutputSerializer(data).data)


class PollBallotFileApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=POLLS,
        summary="The anonymised ballot file of a published poll (JSON lines)",
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
    )
    def get(self, request: Request, poll_id: int) -> HttpResponse:
        poll = _published_poll(request, poll_id)
        return _file_response(
            poll.ballot_file, "application/x-ndjson", f"poll-{poll.pk}-ballots.jsonl"
        )


# ---------------------------------------------------------------------------------------------
# Funding rounds


class RoundOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=RoundStatus.choices)
    source = serializers.CharField()  # type: ignore[assignment]
    currency = serializers.CharField()
    budget = serializers.IntegerField(help_text="Minor units (cents).")
    min_approvals = serializers.IntegerField()
    max_approvals = serializers.IntegerField(allow_null=True)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    add1_step = serializers.IntegerField(help_text="Whole currency units.")
    utilitarian_completion = serializers.BooleanField()
    comparison = serializers.ChoiceField(choices=RoundComparison.choices)
    tie_seed = serializers.CharField(help_text="Drawn and published when voting opens.")
    tie_order = serializers.ListField(child=serializers.CharField())
    project_count = serializers.SerializerMethodField()
    electorate_size = serializers.IntegerField()
    turnout = serializers.SerializerMethodField()
    opened_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    has_results = serializers.BooleanField()

    def get_turnout(self, round: Round) -> int:
        return round_turnout(round=round)

    def get_project_count(self, round: Round) -> int:
        count = getattr(round, "project_count", None)
        return int(count) if count is not None else round.projects.count()


class RoundListCreateApi(generics.ListAPIView):
    """Funding rounds. Drafts are listed for the treasurer, moderators and auditors."""

    serializer_class = RoundOutputSerializer
    pagination_class = CursorPagination
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        title = StrictCharField(max_length=200)
        description = StrictCharField(
            max_length=10_000, required=False, allow_blank=True, default=""
        )
        currency = CurrencyField()
        budget = AmountField(
            max_value=MAX_ROUND_AMOUNT, help_text="Minor units, whole currency units."
        )
        opens_at = serializers.DateTimeField()
        closes_at = serializers.DateTimeField()
        min_approvals = StrictIntegerField(min_value=1, max_value=1000, required=False)
        max_approvals = StrictIntegerField(
            min_value=1, max_value=1000, required=False, allow_null=True, default=None
        )
        add1_step = StrictIntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
        utilitarian_completion = StrictBooleanField(required=False, default=False)
        comparison = serializers.ChoiceField(
            choices=RoundComparison.choices, required=False, default=RoundComparison.NONE
        )

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> Any:
        return round_list(user=self.request.user)

    @extend_schema(tags=ROUNDS, summary="List funding rounds")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=ROUNDS,
        summary="Create a funding round (moderators, treasurer)",
        request=InputSerializer,
        responses={201: RoundOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = round_create(actor=user_from_request(request), **data.validated_data)
        round = round_get(round_id=created.pk, user=request.user)
        return Response(RoundOutputSerializer(round).data, status=status.HTTP_201_CREATED)


def _round_or_404(request: Request, round_id: int) -> Round:
    round = round_get(round_id=round_id, user=request.user)
    if round is None:
        raise NotFound("No such funding round.")
    return round


class RoundDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=ROUNDS, summary="A funding round", responses={200: RoundOutputSerializer})
    def get(self, request: Request, round_id: int) -> Response:
        return Response(RoundOutputSerializer(_round_or_404(request, round_id)).data)


class RoundProjectOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="code", help_text="The project's id in ballots and files.")
    position = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    cost = serializers.IntegerField(help_text="Minor units (cents).")
    kind = serializers.ChoiceField(choices=RoundProjectKind.choices)
    campaign_project = serializers.IntegerField(
        source="campaign_project_id",
        allow_null=True,
        help_text="The id of the project's page on the platform, if it has one.",
    )
    approvals = serializers.SerializerMethodField()
    is_selected = serializers.SerializerMethodField()
    selection_rank = serializers.SerializerMethodField()
    effective_support = serializers.SerializerMethodField(
        help_text="Exact share (1 = 100%) of its cost its supporters could pay under MES."
    )

    def _published(self, project: RoundProject) -> bool:
        return bool(project.round.status == RoundStatus.PUBLISHED)

    def get_approvals(self, project: RoundProject) -> int | None:
        return project.approvals if self._published(project) else None

    def get_is_selected(self, project: RoundProject) -> bool | None:
        return project.is_selected if self._published(project) else None

    def get_selection_rank(self, project: RoundProject) -> int | None:
        return project.selection_rank if self._published(project) else None

    def get_effective_support(self, project: RoundProject) -> str | None:
        return project.effective_support if self._published(project) else None


class ProjectCursorPagination(CursorPagination):
    ordering = "position"


class RoundProjectListCreateApi(generics.ListAPIView):
    """Projects of a round, with their costs; results once the round is published."""

    serializer_class = RoundProjectOutputSerializer
    pagination_class = ProjectCursorPagination
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        name = StrictCharField(max_length=300)
        description = StrictCharField(
            max_length=10_000, required=False, allow_blank=True, default=""
        )
        cost = AmountField(
            max_value=MAX_ROUND_AMOUNT, help_text="Minor units, whole currency units."
        )
        kind = serializers.ChoiceField(
            choices=RoundProjectKind.choices, required=False, default=RoundProjectKind.GRANT
        )
        code = serializers.RegexField(
            r"^[A-Za-z0-9_-]{1,64}$",
            required=False,
            help_text="Its id in ballots and the Pabulib file (default: its position).",
        )
        campaign_project = StrictIntegerField(
            min_value=1,
            max_value=2**63 - 1,
            required=False,
            allow_null=True,
            default=None,
            help_text="The id of the project's page on the platform, if it has one.",
        )

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "GET" else [IsFundManager()]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return RoundProject.objects.none()
        round = _round_or_404(self.request, self.kwargs["round_id"])
        return round_projects(round=round).select_related("round")

    @extend_schema(tags=ROUNDS, summary="Projects of a funding round")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=ROUNDS,
        summary="Add a project to a draft round (moderators, treasurer)",
        request=InputSerializer,
        responses={201: RoundProjectOutputSerializer},
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = _round_or_404(request, round_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        campaign_project = fields.pop("campaign_project")
        project = round_project_add(round=round, campaign_project_id=campaign_project, **fields)
        return Response(RoundProjectOutputSerializer(project).data, status=status.HTTP_201_CREATED)


def _round_move(service: Any, summary: str, name: str) -> type[APIView]:
    class RoundMoveApi(_ManagerApi):
        @extend_schema(
            tags=ROUNDS, summary=summary, request=None, responses={200: RoundOutputSerializer}
        )
        def post(self, request: Request, round_id: int) -> Response:
            round = service(
                round=_round_or_404(request, round_id), actor=user_from_request(request)
            )
            return Response(
                RoundOutputSerializer(round_get(round_id=round.pk, user=request.user)).data
            )

    RoundMoveApi.__name__ = RoundMoveApi.__qualname__ = name
    return RoundMoveApi


RoundOpenApi = _round_move(
    round_open,
    "Open a round now: freeze the electorate, draw the tie-breaking order",
    "RoundOpenApi",
)
RoundCloseApi = _round_move(
    round_close, "Close a round at the end of its window and allocate", "RoundCloseApi"
)
RoundPublishApi = _round_move(round_publish, "Publish a round's allocation", "RoundPublishApi")
RoundCancelApi = _round_move(round_cancel, "Cancel a draft round", "RoundCancelApi")


class RoundBallotApi(APIView):
    """Your approval ballot in a round: cast it, change it until close."""

    permission_classes = [IsSupporter]
    read_scope = Scope.WRITE_VOTES
    write_scope = Scope.WRITE_VOTES

    class InputSerializer(StrictInputSerializer):
        approved = serializers.ListField(
            child=StrictCharField(max_length=64),
            max_length=1000,
            help_text="The ids of the projects you approve.",
        )

    @extend_schema(
        tags=ROUNDS, summary="My ballot status", responses={200: BallotStatusOutputSerializer}
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = _round_or_404(request, round_id)
        state = round_ballot_status(round=round, user=user_from_request(request))
        return Response(BallotStatusOutputSerializer(_ballot_status_data(round, state)).data)

    @extend_schema(
        tags=ROUNDS,
        summary="Cast or change my approval ballot",
        request=InputSerializer,
        responses={200: BallotStatusOutputSerializer},
    )
    def post(self, request: Request, round_id: int) -> Response:
        round = _round_or_404(request, round_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_from_request(request)
        round_ballot_submit(round=round, user=user, approved=data.validated_data["approved"])
        state = round_ballot_status(round=round, user=user)
        return Response(BallotStatusOutputSerializer(_ballot_status_data(round, state)).data)


class RoundWinnerOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="code")
    name = serializers.CharField()
    cost = serializers.IntegerField(help_text="Minor units (cents).")
    kind = serializers.ChoiceField(choices=RoundProjectKind.choices)
    approvals = serializers.IntegerField()
    selection_rank = serializers.IntegerField()
    effective_support = serializers.CharField()


class RoundResultsOutputSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    currency = serializers.CharField()
    winners = RoundWinnerOutputSerializer(many=True)
    pabulib_sha256 = serializers.CharField()
    pabulib_url = serializers.CharField()
    allocate_command = serializers.CharField()
    result = serializers.JSONField(
        help_text="The allocation (whole currency units, exact fractions as strings): MES + Add1 "
        "with each purchase, effective supports, final endowment, greedy and Phragmén."
    )


def _published_round(request: Request, round_id: int) -> Round:
    round = _round_or_404(request, round_id)
    if not round.has_results:
        raise ResultsNotPublishedError()
    return round


class RoundResultsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=ROUNDS,
        summary="The allocation of a published round",
        responses={200: RoundResultsOutputSerializer},
    )
    def get(self, request: Request, round_id: int) -> Response:
        round = _published_round(request, round_id)
        winners = round_projects(round=round).filter(is_selected=True).order_by("selection_rank")
        data = {
            "round": round.pk,
            "currency": round.currency,
            "winners": list(winners),
            "pabulib_sha256": round.pb_sha256,
            "pabulib_url": f"/api/v1/fund/rounds/{round.pk}/pabulib",
            "allocate_command": f"python manage.py fund_round_allocate round-{round.pk}.pb",
            "result": round.result,
        }
        return Response(RoundResultsOutputSerializer(data).data)


class RoundPabulibApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=ROUNDS,
        summary="The Pabulib file of a published round, with its anonymised votes",
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request: Request, round_id: int) -> HttpResponse:
        round = _published_round(request, round_id)
        return _file_response(round.pb_file, "text/plain", f"round-{round.pk}.pb")
