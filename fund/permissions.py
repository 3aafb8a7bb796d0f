"""Who manages votes: moderators and the treasurer create, open, close and publish them."""

from typing import Any

from rest_framework.request import Request

from members.enums import Role
from members.permissions import IsAuthenticatedWithScope
from members.selectors import user_roles


class IsFundManager(IsAuthenticatedWithScope):
    message = "Only moderators and the treasurer can manage votes and funding rounds."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and bool(
            user_roles(user=request.user) & {Role.MODERATOR, Role.TREASURER}
        )
