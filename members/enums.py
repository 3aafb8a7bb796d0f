from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SUPPORTER = "supporter", _("Supporter")
    MEMBER = "member", _("Member")
    LEAD = "lead", _("Project lead")
    TREASURER = "treasurer", _("Treasurer")
    MODERATOR = "moderator", _("Moderator")
    AUDITOR = "auditor", _("Auditor")


# Roles held by a grant row; supporter comes with any account and member with an active membership.
GRANTED_ROLES = (Role.LEAD, Role.TREASURER, Role.MODERATOR, Role.AUDITOR)


class PublicIdentity(models.TextChoices):
    """How a person appears in public records (ledger, backers list)."""

    NAME = "name", _("My name")
    PSEUDONYM = "pseudonym", _("A pseudonym")
    ANONYMOUS = "anonymous", _("Anonymous")


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class Scope(models.TextChoices):
    """Scopes of personal API tokens. A session has them all."""

    READ_PROFILE = "read:profile", _("Read your profile and data export")
    WRITE_PROFILE = "write:profile", _("Change your profile")
    READ_FUNDS = "read:funds", _("Read your funds, pledges, payments and ledger lines")
    WRITE_PLEDGES = "write:pledges", _("Make and cancel pledges")
    READ_CAMPAIGNS = "read:campaigns", _("Read your projects and campaigns, including drafts")
    WRITE_CAMPAIGNS = "write:campaigns", _("Manage your projects, campaigns, updates and payouts")
    WRITE_SAVINGS = "write:savings", _("Subscribe and redeem savings, donate")
    WRITE_VOTES = "write:votes", _("Vote in polls and funding rounds")
    WRITE_WEBHOOKS = "write:webhooks", _("Manage your outgoing webhooks")
    ADMIN = "admin", _("Treasurer, moderator and auditor operations")
