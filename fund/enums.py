from django.db import models
from django.utils.translation import gettext_lazy as _

from common.fsm import StateMachine


class PollMethod(models.TextChoices):
    RESOLUTION = "resolution", _("Resolution (yes, no or abstain)")
    MAJORITY_JUDGMENT = "majority_judgment", _("Majority judgment")
    APPROVAL = "approval", _("Approval")


class PollStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Withdrawn")


class RoundStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Withdrawn")


class ResolutionChoice(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    ABSTAIN = "abstain", _("Abstain")


class Grade(models.IntegerChoices):
    """Majority-judgment grades, from the lowest (0) to the highest."""

    REJECT = 0, _("Reject")
    POOR = 1, _("Poor")
    FAIR = 2, _("Fair")
    GOOD = 3, _("Good")
    VERY_GOOD = 4, _("Very good")
    EXCELLENT = 5, _("Excellent")


# English names of the grades, lowest first, as written in ballot files.
GRADE_NAMES: tuple[str, ...] = ("Reject", "Poor", "Fair", "Good", "Very good", "Excellent")


class RoundProjectKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    LOAN = "loan", _("Solidarity loan")


class RoundComparison(models.TextChoices):
    NONE = "none", _("No comparison")
    SATISFACTION = "satisfaction", _("Compare with greedy (satisfaction)")
    EXCLUSION = "exclusion", _("Compare with greedy (exclusion)")


class RoundSource(models.TextChoices):
    MEMBERS = "members", _("Members vote")
    PABULIB = "pabulib", _("Imported from a Pabulib file")


_MOVES = {
    "draft": ["open", "cancelled"],
    "open": ["closed"],
    "closed": ["published"],
}
POLL_MACHINE = StateMachine("poll", _MOVES)
ROUND_MACHINE = StateMachine("funding round", _MOVES)
