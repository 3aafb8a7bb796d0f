"""Projects, their campaigns, pledges, tiers, budget lines, milestones, updates and webhooks.

Every status column is a state machine (see `campaigns.machines`): a TextChoices, a CheckConstraint
on its values, and transition services that compare-and-set the row and append an event.
Amounts are integers in minor units of the campaign's currency.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language

from common.fsm import choices_check

from .enums import (
    COMMONS_LICENCES,
    CampaignStatus,
    CriterionStatus,
    FundingModel,
    Licence,
    MilestoneStatus,
    PledgeStatus,
    SSECriterion,
    UpdateEmailStatus,
    WebhookDeliveryStatus,
)


class Theme(models.Model):
    """A theme of digital social innovation; the fund's priority themes are flagged."""

    slug = models.SlugField(max_length=60, unique=True)
    name_en = models.CharField(max_length=120)
    name_fr = models.CharField(max_length=120)
    is_priority = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_fr if (get_language() or "fr").startswith("fr") else self.name_en


class Project(models.Model):
    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    summary = models.CharField(max_length=300)
    # Markdown source; rendered through campaigns.markdown.markdown_render, never raw.
    description = models.TextField(blank=True)
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="projects")
    links = models.JSONField(default=list, blank=True)
    licence = models.CharField(max_length=24, choices=Licence.choices, default=Licence.CC_BY_SA_4)
    leads = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ProjectLead",
        through_fields=("project", "user"),
        related_name="led_projects",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [choices_check("licence", Licence, "campaigns_project_licence_valid")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_commons(self) -> bool:
        return self.licence in COMMONS_LICENCES


class ProjectLead(models.Model):
    """A member of a project's team of leads."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="project_memberships"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="campaigns_project_lead_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} leads {self.project_id}"


class ProjectCriterion(models.Model):
    """One SSE criterion: declared by a lead, checked by a moderator."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="criteria")
    criterion = models.CharField(max_length=32, choices=SSECriterion.choices)
    statement = models.TextField(max_length=2000)
    status = models.CharField(
        max_length=16, choices=CriterionStatus.choices, default=CriterionStatus.DECLARED
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    declared_at = models.DateTimeField(default=timezone.now)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    moderator_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["criterion"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "criterion"], name="campaigns_criterion_once"
            ),
            choices_check("criterion", SSECriterion, "campaigns_criterion_valid"),
            choices_check("status", CriterionStatus, "campaigns_criterion_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.criterion} {self.status}"


class Campaign(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="campaigns")
    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=90, unique=True)
    goal = models.BigIntegerField(help_text="Minimum to reach, in minor units")
    stretch_goal = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    funding_model = models.CharField(
        max_length=16, choices=FundingModel.choices, default=FundingModel.ALL_OR_NOTHING
    )
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Scheduled launch")
    deadline = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=2000, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            choices_check("status", CampaignStatus, "campaigns_campaign_status_valid"),
            choices_check("funding_model", FundingModel, "campaigns_campaign_model_valid"),
            models.CheckConstraint(condition=Q(goal__gt=0), name="campaigns_goal_positive"),
            models.CheckConstraint(
                condition=Q(stretch_goal__isnull=True) | Q(stretch_goal__gt=F("goal")),
                name="campaigns_stretch_above_goal",
            ),
            models.CheckConstraint(
                condition=Q(launched_at__isnull=True) | Q(deadline__gt=F("launched_at")),
                name="campaigns_deadline_after_launch",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.status == CampaignStatus.LIVE

    @property
    def is_all_or_nothing(self) -> bool:
        return self.funding_model == FundingModel.ALL_OR_NOTHING


class CampaignEvent(models.Model):
    """The campaign's life, move by move."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_status} → {self.to_status}"


class Tier(models.Model):
    """A reward tier; `claimed` is only counted for tiers with a limit (never oversold)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    title = models.CharField(max_length=120)
    description = models.CharField(max_length=1000, blank=True)
    amount = models.BigIntegerField(help_text="Minimum pledge for this tier, in minor units")
    limit = models.PositiveIntegerField(null=True, blank=True)
    claimed = models.PositiveIntegerField(default=0)
    delivery_date = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "amount", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="campaigns_tier_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | Q(limit__gt=0),
                name="campaigns_tier_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | Q(claimed__lte=F("limit")),
                name="campaigns_tier_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.claimed, 0)


class BudgetLine(models.Model):
    """What the money pays for, in public."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="budget_lines")
    label = models.CharField(max_length=160)
    description = models.CharField(max_length=1000, blank=True)
    amount = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="campaigns_budget_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return self.label


class Milestone(models.Model):
    """A stage of the project that releases one tranche of the escrow."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=160)
    description = models.CharField(max_length=2000, blank=True)
    amount = models.BigIntegerField(help_text="The tranche, in minor units")
    due_date = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=12, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED
    )
    # payments.Disbursement of the tranche (the latest attempt).
    disbursement_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="campaigns_milestone_amount_positive"
            ),
            choices_check("status", MilestoneStatus, "campaigns_milestone_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title


class MilestoneEvent(models.Model):
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.from_status} → {self.to_status}"


class CampaignUpdate(models.Model):
    """News from the leads, public and emailed to the backers."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)  # Markdown, sanitised when rendered
    created_at = models.DateTimeField(default=timezone.now)
    email_status = models.CharField(
        max_length=8, choices=UpdateEmailStatus.choices, default=UpdateEmailStatus.PENDING
    )
    # Backers are emailed in order of user id; the cursor lets a resumed run skip those done.
    emailed_through_user_id = models.BigIntegerField(default=0)
    emailed_count = models.PositiveIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_check("email_status", UpdateEmailStatus, "campaigns_update_email_status_valid")
        ]

    def __str__(self) -> str:
        return self.title


class Pledge(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    backer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pledges"
    )
    tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="pledges"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=PledgeStatus.choices, default=PledgeStatus.PENDING
    )
    is_anonymous = models.BooleanField(default=False)
    public_message = models.CharField(max_length=500, blank=True)
    # payments.SavedPaymentMethod to charge, and payments.Payment of the latest charge attempt.
    payment_method_id = models.BigIntegerField(null=True, blank=True)
    payment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    refunded_amount = models.BigIntegerField(default=0)
    # ledger.JournalEntry of the charge: the backer's proof of inclusion points at it.
    charge_entry_id = models.BigIntegerField(null=True, blank=True)
    # The client's Idempotency-Key: a retried request returns the first pledge. NULL, not "",
    # when absent, so that the unique constraint only binds pledges that sent one.
    client_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    committed_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            choices_check("status", PledgeStatus, "campaigns_pledge_status_valid"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="campaigns_pledge_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="campaigns_pledge_refund_within_amount",
            ),
            models.UniqueConstraint(
                fields=["backer", "client_key"],
                condition=Q(client_key__isnull=False),
                name="campaigns_pledge_client_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["backer", "created_at"]),
            models.Index(fields=["status", "next_retry_at"]),
        ]

    def __str__(self) -> str:
        return f"pledge {self.pk} ({self.status})"

    @property
    def net_amount(self) -> int:
        return self.amount - self.refunded_amount


class PledgeEvent(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.pledge_id}: {self.from_status} → {self.to_status}"


class PledgeRefund(models.Model):
    """A refund of a pledge's payment, applied once (keyed by the payments refund)."""

    pledge = models.ForeignKey(Pledge, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.BigIntegerField(unique=True)
    amount = models.BigIntegerField()
    entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="campaigns_refund_positive")
        ]

    def __str__(self) -> str:
        return f"refund {self.refund_id} of pledge {self.pledge_id}"


class WebhookEndpoint(models.Model):
    """Where a project's leads want events sent, signed with the endpoint's secret."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    # Empty: every event.
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "is_active"])]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint; a replay is a new delivery of the same event."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=40)
    body = models.TextField()  # the exact JSON that is signed and sent
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            choices_check("status", WebhookDeliveryStatus, "campaigns_delivery_status_valid")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
