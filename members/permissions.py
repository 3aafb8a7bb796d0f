"""Role permissions for the API. A session holds every scope; a token only its own."""

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from .enums import Role, Scope
from .models import ApiToken
from .selectors import user_roles

SAFE_METHODS = permissions.SAFE_METHODS


def _required_scope(request: Request, view: Any) -> str | None:
    if request.method in SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class TokenHasScope(permissions.BasePermission):
    """With a personal token, the view's scope for this method must be granted to the token."""

    message = "This token does not have the scope this operation needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiToken):
            return True
        scope = _required_scope(request, view)
        # An operation that declares no scope is for sessions only (sign-in, token management).
        return scope is not None and scope in request.auth.scopes


class IsAuthenticatedWithScope(permissions.IsAuthenticated):
    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and TokenHasScope().has_permission(
            request, view
        )


class _HasRole(IsAuthenticatedWithScope):
    role: str = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and self.role in user_roles(user=request.user)


class IsSupporter(IsAuthenticatedWithScope):
    """Any registered, active person."""


class IsMember(_HasRole):
    role = Role.MEMBER
    message = "Only members of the cooperative can do this."


class IsProjectLead(_HasRole):
    role = Role.LEAD
    message = "Only project leads can do this."


class IsTreasurer(_HasRole):
    role = Role.TREASURER
    message = "Only the treasurer can do this."


class IsModerator(_HasRole):
    role = Role.MODERATOR
    message = "Only moderators can do this."


class IsAuditor(_HasRole):
    """Auditors read everything and change nothing."""

    role = Role.AUDITOR
    message = "Only auditors can read this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS and super().has_permission(request, view)


class IsStaffReader(IsAuthenticatedWithScope):
    """Treasurer, moderator or auditor may read; used for back-office lists."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view) or request.method not in SAFE_METHODS:
            return False
        return bool(user_roles(user=request.user) & {Role.TREASURER, Role.MODERATOR, Role.AUDITOR})


__all__ = [
    "IsAuditor",
    "IsAuthenticatedWithScope",
    "IsMember",
    "IsModerator",
    "IsProjectLead",
    "IsStaffReader",
    "IsSupporter",
    "IsTreasurer",
    "Scope",
    "TokenHasScope",
]
