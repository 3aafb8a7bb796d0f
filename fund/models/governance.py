"""Governance polls on fund strategy: one member, one vote, secret ballots."""

from fractions import Fraction

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from common.fsm import choices_check

from ..enums import PollMethod, PollStatus


class Poll(models.Model):
    """A vote of the members: a resolution (yes/no/abstain) or a priority vote.

    `voter_secret` keys the ballots while the poll is open (HMAC of the member's id) so a member
    can replace their ballot; it is erased at close, which destroys every link between a member
    and a ballot. The database keeps a secret exactly while the poll is open.
    """

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    method = models.CharField(max_length=24, choices=PollMethod.choices)
    status = models.CharField(max_length=12, choices=PollStatus.choices, default=PollStatus.DRAFT)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    # Exact shares: a quorum of 1/4 of the electorate, a threshold of 1/2 or 2/3 of yes + no.
    quorum_numerator = models.PositiveIntegerField(default=0)
    quorum_denominator = models.PositiveIntegerField(default=1)
    threshold_numerator = models.PositiveIntegerField(default=1)
    threshold_denominator = models.PositiveIntegerField(default=2)
    threshold_inclusive = models.BooleanField(default=False)
    # NULL, not "": the constraint below reads "no secret" as erased.
    voter_secret = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    electorate_size = models.PositiveIntegerField(default=0)
    ballots_cast = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    ballot_file = models.TextField(blank=True, default="")
    ballot_file_sha256 = models.CharField(max_length=64, blank=True, default="")
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
            models.Index(fields=["status", "opens_at"], name="poll_status_opens"),
            models.Index(fields=["status", "closes_at"], name="poll_status_closes"),
        ]
        constraints = [
            choices_check("status", PollStatus, "poll_status_valid"),
            choices_check("method", PollMethod, "poll_method_valid"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="poll_window"),
            models.CheckConstraint(
                condition=Q(
                    quorum_denominator__gt=0, quorum_numerator__lte=F("quorum_denominator")
                ),
                name="poll_quorum_share",
            ),
            models.CheckConstraint(
                condition=Q(
                    threshold_denominator__gt=0,
                    threshold_numerator__lte=F("threshold_denominator"),
                ),
                name="poll_threshold_share",
            ),
            # The secret exists exactly while voting is open.
            models.CheckConstraint(
                condition=Q(status=PollStatus.OPEN, voter_secret__isnull=False)
                | (~Q(status=PollStatus.OPEN) & Q(voter_secret__isnull=True)),
                name="poll_secret_only_while_open",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[PollStatus.CLOSED, PollStatus.PUBLISHED], result__isnull=False
                )
                | (
                    ~Q(status__in=[PollStatus.CLOSED, PollStatus.PUBLISHED])
                    & Q(result__isnull=True)
                ),
                name="poll_result_once_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def quorum(self) -> Fraction:
        return Fraction(self.quorum_numerator, self.quorum_denominator)

    @property
    def threshold(self) -> Fraction:
        return Fraction(self.threshold_numerator, self.threshold_denominator)

    @property
    def is_open(self) -> bool:
        return self.status == PollStatus.OPEN

    @property
    def has_results(self) -> bool:
        return self.status == PollStatus.PUBLISHED


class PollOption(models.Model):
    """An option of a priority vote; its id in ballot files is its position."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["poll", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "position"], name="poll_option_position_unique"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="poll_option_position_min"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def code(self) -> str:
        return str(self.position)


class PollElector(models.Model):
    """A member entitled to vote, frozen when the poll opened. It records whether they voted,
    never when nor how."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="electors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    has_voted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "user"], name="poll_elector_unique"),
        ]

    def __str__(self) -> str:
        return f"Elector of poll {self.poll_id}"


class PollBallot(models.Model):
    """The current ballot of one member while the poll is open, keyed by
    HMAC(poll secret, member id). Ballot rows are deleted at close: the published ballot file
    (shuffled, without keys) is then the record."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    voter_key = models.CharField(max_length=64)
    content = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="poll_ballot_one_per_voter"),
        ]

    def __str__(self) -> str:
        return f"Ballot of poll {self.poll_id}"


class PollEvent(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=12, choices=PollStatus.choices)
    target = models.CharField(max_length=12, choices=PollStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            choices_check("source", PollStatus, "poll_event_source_valid"),
            choices_check("target", PollStatus, "poll_event_target_valid"),
        ]

    def __str__(self) -> str:
        return f"Poll {self.poll_id}: {self.source} → {self.target}"
