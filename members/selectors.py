from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from .enums import MembershipStatus, Role
from .models import ApiToken, Membership, RoleGrant, User


def user_roles(*, user: Any) -> frozenset[str]:
    """Every role a person holds, computed once per request object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_roles_cache", None)
    if cached is not None:
        return cached
    roles = {Role.SUPPORTER.value}
    roles.update(RoleGrant.objects.filter(user=user).values_list("role", flat=True))
    if Membership.objects.filter(user=user, status=MembershipStatus.ACTIVE).exists():
        roles.add(Role.MEMBER.value)
    frozen = frozenset(roles)
    user._roles_cache = frozen
    return frozen


def user_from_request(request: HttpRequest | Request) -> User:
    """The signed-in person; views behind an authentication check call this."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def user_has_role(*, user: Any, role: str) -> bool:
    return role in user_roles(user=user)


def membership_active_get(*, user: User) -> Membership | None:
    return Membership.objects.filter(user=user, status=MembershipStatus.ACTIVE).first()


def membership_list(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).order_by("-joined_at")


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def ledger_owner_labels(ids: list[int]) -> dict[int, str]:
    """Public names for the open ledger, as each person chose (never an email), in one query."""
    people = User.objects.filter(pk__in=list(ids)).only(
        "id", "display_name", "public_identity", "pseudonym", "deleted_at"
    )
    return {person.pk: person.public_name for person in people}
