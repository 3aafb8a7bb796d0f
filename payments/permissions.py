"""Who reads the money tables: the treasurer and auditors."""

from typing import Any

from rest_framework.request import Request

from members.enums import Role
from members.permissions import SAFE_METHODS, IsAuthenticatedWithScope
from members.selectors import user_roles


class IsFinanceReader(IsAuthenticatedWithScope):
    """Treasurer or auditor, reading only."""

    message = "Only the treasurer and auditors can read this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view) or request.method not in SAFE_METHODS:
            return False
        return bool(user_roles(user=request.user) & {Role.TREASURER, Role.AUDITOR})
