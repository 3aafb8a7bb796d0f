"""Matchfunding: the rules members vote on, each pledge's match, and quadratic-funding rounds."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from ..money_enums import MatchingRuleStatus, MatchStatus, QFRoundStatus


class MatchingRule(models.Model):
    """Capped linear matching: factor (basis points, 10000 = one euro per euro), caps in minor
    units (NULL: no cap), the eligible themes (none listed: every theme). Proposed with a poll;
    in force once that poll has adopted it, for pledges made from `active_from`."""

    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="EUR")
    factor = models.PositiveIntegerField(help_text="Basis points: 10000 matches 1:1")
    contribution_cap = models.BigIntegerField(null=True, blank=True)
    member_campaign_cap = models.BigIntegerField(null=True, blank=True)
    campaign_cap = models.BigIntegerField(null=True, blank=True)
    themes = models.ManyToManyField("campaigns.Theme", blank=True, related_name="+")
    poll = models.ForeignKey(
        "fund.Poll", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=MatchingRuleStatus.choices, default=MatchingRuleStatus.PROPOSED
    )
    active_from = models.DateTimeField(null=True, blank=True)
    active_until = models.DateTimeField(null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            choices_check("status", MatchingRuleStatus, "fund_matching_rule_status_valid"),
            models.CheckConstraint(
                condition=(Q(contribution_cap__isnull=True) | Q(contribution_cap__gte=0))
                & (Q(member_campaign_cap__isnull=True) | Q(member_campaign_cap__gte=0))
                & (Q(campaign_cap__isnull=True) | Q(campaign_cap__gte=0)),
                name="fund_matching_rule_caps_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status=MatchingRuleStatus.ACTIVE) | Q(active_from__isnull=False),
                name="fund_matching_rule_active_has_start",
            ),
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(status=MatchingRuleStatus.ACTIVE),
                name="fund_matching_rule_one_active",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class MatchCommitment(models.Model):
    """The match of one pledge: reserved in the matching pool (pending), moved to the campaign's
    escrow when the campaign succeeds and the pledge is collected (committed), released when the
    campaign fails or the pledge is withdrawn, reversed when the pledge is refunded."""

    pledge = models.OneToOneField(
        "campaigns.Pledge", on_delete=models.PROTECT, related_name="match_commitment"
    )
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    backer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(MatchingRule, on_delete=models.PROTECT, related_name="commitments")
    currency = models.CharField(max_length=3)
    contribution = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="The match, minor units")
    limited_by = models.CharField(max_length=20)
    bounds = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=MatchStatus.choices, default=MatchStatus.PENDING
    )
    reversed_amount = models.BigIntegerField(default=0)
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    committed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            choices_check("status", MatchStatus, "fund_match_status_valid"),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(contribution__gt=0), name="fund_match_amounts"
            ),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0) & Q(reversed_amount__lte=F("amount")),
                name="fund_match_reversal_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[MatchStatus.COMMITTED, MatchStatus.REVERSED])
                | Q(entry__isnull=False)
                | Q(amount=0),
                name="fund_match_committed_is_posted",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["currency", "status"]),
        ]

    def __str__(self) -> str:
        return f"Match of pledge {self.pledge_id}"

    @property
    def net_amount(self) -> int:
        return self.amount - self.reversed_amount


class QFRound(models.Model):
    """A quadratic-funding round for members: their donations to the round's campaigns are
    matched from a pool reserved in the matching pool, pairwise-bounded (M′)."""

    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="EUR")
    pool = models.BigIntegerField(help_text="Minor units, reserved in the matching pool")
    coordination_bound = models.BigIntegerField(
        null=True, blank=True, help_text="M′ in minor units; empty: no pairwise bound"
    )
    project_cap = models.BigIntegerField(null=True, blank=True)
    campaigns = models.ManyToManyField("campaigns.Campaign", related_name="+")
    status = models.CharField(
        max_length=10, choices=QFRoundStatus.choices, default=QFRoundStatus.DRAFT
    )
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    result = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            choices_check("status", QFRoundStatus, "fund_qf_round_status_valid"),
            models.CheckConstraint(condition=Q(pool__gt=0), name="fund_qf_round_pool_positive"),
            models.CheckConstraint(
                condition=Q(coordination_bound__isnull=True) | Q(coordination_bound__gt=0),
                name="fund_qf_round_bound_positive",
            ),
            models.CheckConstraint(
                condition=Q(project_cap__isnull=True) | Q(project_cap__gt=0),
                name="fund_qf_round_cap_positive",
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="fund_qf_round_window"
            ),
            models.CheckConstraint(
                condition=Q(status=QFRoundStatus.CLOSED, result__isnull=False)
                | (~Q(status=QFRoundStatus.CLOSED) & Q(result__isnull=True)),
                name="fund_qf_round_result_once_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class QFMatch(models.Model):
    """What a campaign received from a closed quadratic-funding round."""

    qf_round = models.ForeignKey(QFRound, on_delete=models.PROTECT, related_name="matches")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    contributors = models.PositiveIntegerField()
    contributed = models.BigIntegerField()
    raw_match = models.CharField(max_length=80, help_text="Exact fraction of cents")
    amount = models.BigIntegerField()
    capped = models.BooleanField(default=False)
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["qf_round", "campaign_id"]
        constraints = [
            models.UniqueConstraint(fields=["qf_round", "campaign"], name="fund_qf_match_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fund_qf_match_not_negative"),
        ]

    def __str__(self) -> str:
        return f"QF {self.qf_round_id} → campaign {self.campaign_id}"
