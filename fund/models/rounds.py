"""Funding rounds (participatory budgeting): members approve projects, the Method of Equal
Shares allocates the budget."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check
from common.money import CURRENCY_EXPONENTS

from ..enums import RoundComparison, RoundProjectKind, RoundSource, RoundStatus


class Round(models.Model):
    """A funding round. Money is in minor units; budgets and costs must be whole currency units,
    because the Pabulib file of the round (its official record) counts in whole units."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    currency = models.CharField(max_length=3, default="EUR")
    budget = models.PositiveBigIntegerField(help_text="Budget in minor units, whole currency units")
    min_approvals = models.PositiveSmallIntegerField(default=1)
    max_approvals = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=RoundStatus.choices, default=RoundStatus.DRAFT)
    source = models.CharField(
        max_length=8, choices=RoundSource.choices, default=RoundSource.MEMBERS
    )
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    # Allocation options (equalshares.net): Add1 step in whole currency units, completion, comparison.
    add1_step = models.PositiveIntegerField(default=1)
    utilitarian_completion = models.BooleanField(default=False)
    comparison = models.CharField(
        max_length=12, choices=RoundComparison.choices, default=RoundComparison.NONE
    )
    # Drawn at opening, before any ballot, and published: the tie-breaking order of last resort.
    tie_seed = models.CharField(max_length=64, blank=True, default="")
    tie_order = models.JSONField(default=list, blank=True)
    # NULL, not "": the constraint below reads "no secret" as erased.
    voter_secret = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    electorate_size = models.PositiveIntegerField(default=0)
    ballots_cast = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    pb_file = models.TextField(blank=True, default="")
    pb_sha256 = models.CharField(max_length=64, blank=True, default="")
    # META of an imported Pabulib file, written back on export.
    source_meta = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "opens_at"], name="round_status_opens"),
            models.Index(fields=["status", "closes_at"], name="round_status_closes"),
        ]
        constraints = [
            choices_check("status", RoundStatus, "round_status_valid"),
            choices_check("source", RoundSource, "round_source_valid"),
            choices_check("comparison", RoundComparison, "round_comparison_valid"),
            models.CheckConstraint(
                condition=Q(currency__in=sorted(CURRENCY_EXPONENTS)), name="round_currency_valid"
            ),
            models.CheckConstraint(condition=Q(budget__gt=0), name="round_budget_positive"),
            models.CheckConstraint(condition=Q(add1_step__gt=0), name="round_add1_step_positive"),
            models.CheckConstraint(condition=Q(min_approvals__gte=1), name="round_min_approvals"),
            models.CheckConstraint(
                condition=Q(max_approvals__isnull=True) | Q(max_approvals__gte=F("min_approvals")),
                name="round_max_approvals",
            ),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="round_window"),
            models.CheckConstraint(
                condition=Q(status=RoundStatus.OPEN, voter_secret__isnull=False)
                | (~Q(status=RoundStatus.OPEN) & Q(voter_secret__isnull=True)),
                name="round_secret_only_while_open",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[RoundStatus.DRAFT, RoundStatus.CANCELLED])
                | ~Q(tie_seed=""),
                name="round_tie_seed_drawn_at_opening",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[RoundStatus.CLOSED, RoundStatus.PUBLISHED], result__isnull=False
                )
                | (
                    ~Q(status__in=[RoundStatus.CLOSED, RoundStatus.PUBLISHED])
                    & Q(result__isnull=True)
                ),
                name="round_result_once_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def unit(self) -> int:
        """Minor units per whole currency unit."""
        return int(10 ** CURRENCY_EXPONENTS[self.currency])

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN

    @property
    def has_results(self) -> bool:
        return self.status == RoundStatus.PUBLISHED


class RoundProject(models.Model):
    """A project that applied to a round with a cost. `code` is its project_id in the round's
    Pabulib file. After publication a winner becomes a grant or a solidarity loan; the fund's
    money side records that investment's id here."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="projects")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    cost = models.PositiveBigIntegerField(help_text="Cost in minor units, whole currency units")
    kind = models.CharField(
        max_length=8, choices=RoundProjectKind.choices, default=RoundProjectKind.GRANT
    )
    # The campaigns project that applied, when it has a page on the platform.
    campaign_project = models.ForeignKey(
        "campaigns.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="round_applications",
    )
    # Filled when the round closes.
    approvals = models.PositiveIntegerField(null=True, blank=True)
    is_selected = models.BooleanField(default=False)
    selection_rank = models.PositiveIntegerField(null=True, blank=True)
    effective_support = models.CharField(max_length=80, blank=True, default="")
    investment_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "code"], name="round_project_code_unique"),
            models.UniqueConstraint(
                fields=["round", "position"], name="round_project_position_unique"
            ),
            models.CheckConstraint(condition=Q(cost__gt=0), name="round_project_cost_positive"),
            choices_check("kind", RoundProjectKind, "round_project_kind_valid"),
            models.CheckConstraint(
                condition=Q(investment_id__isnull=True) | Q(is_selected=True),
                name="round_project_investment_only_for_winners",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoundElector(models.Model):
    """A member entitled to approve projects, frozen when the round opened."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="electors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    has_voted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user"], name="round_elector_unique"),
        ]

    def __str__(self) -> str:
        return f"Elector of round {self.round_id}"


class RoundBallot(models.Model):
    """An approval ballot (project codes). Keyed like poll ballots while the round is open;
    imported ballots have no key. Deleted at close: the round's .pb file is the record."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="ballots")
    # NULL for imported ballots: several NULLs do not collide in the unique constraint.
    voter_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    approved = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "voter_key"], name="round_ballot_one_per_voter"
            ),
        ]

    def __str__(self) -> str:
        return f"Ballot of round {self.round_id}"


class RoundEvent(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=12, choices=RoundStatus.choices)
    target = models.CharField(max_length=12, choices=RoundStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            choices_check("source", RoundStatus, "round_event_source_valid"),
            choices_check("target", RoundStatus, "round_event_target_valid"),
        ]

    def __str__(self) -> str:
        return f"Round {self.round_id}: {self.source} → {self.target}"
