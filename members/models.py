import secrets

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from common.fsm import choices_check

from .enums import GRANTED_ROLES, MembershipStatus, PublicIdentity, Role
from .managers import UserManager


def _new_pseudonym() -> str:
    return f"backer-{secrets.token_hex(4)}"


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The email address is the identity."""

    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    public_identity = models.CharField(
        max_length=16, choices=PublicIdentity.choices, default=PublicIdentity.PSEUDONYM
    )
    pseudonym = models.CharField(max_length=40, default=_new_pseudonym, unique=True)
    language = models.CharField(max_length=8, default="fr")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            choices_check("public_identity", PublicIdentity, "user_public_identity_valid"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        """The name shown in public records, as this person chose."""
        if self.deleted_at or self.public_identity == PublicIdentity.ANONYMOUS:
            return "Anonymous"
        if self.public_identity == PublicIdentity.NAME and self.display_name:
            return self.display_name
        return self.pseudonym


class RoleGrant(models.Model):
    """A role given to a person: project lead, treasurer, moderator or auditor."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=16, choices=[(r.value, r.label) for r in GRANTED_ROLES])
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="role_grant_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in GRANTED_ROLES]),
                name="role_grant_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {Role(self.role).label}"


class Membership(models.Model):
    """A member of the cooperative: holds one or more shares and has exactly one vote."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    shares = models.PositiveIntegerField(default=0)
    share_price = models.PositiveIntegerField(
        help_text="Price of one share in minor units when bought"
    )
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(
        max_length=8, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    joined_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One active membership per person: one member, one vote.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="active"),
                name="membership_one_active_per_user",
            ),
            choices_check("status", MembershipStatus, "membership_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status="ended", ended_at__isnull=False)
                | models.Q(status="active", ended_at__isnull=True),
                name="membership_ended_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.shares} shares)"

    @property
    def votes(self) -> int:
        """One member, one vote, whatever they hold."""
        return 1 if self.status == MembershipStatus.ACTIVE else 0

    @property
    def capital(self) -> int:
        return self.shares * self.share_price


class ApiToken(models.Model):
    """A personal API token. Only a hash is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
