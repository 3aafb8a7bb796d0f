"""The members part of a person's data export (GDPR). Other apps add their own sections,
listed in settings.DATA_EXPORT_SECTIONS."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import User
from .selectors import api_token_list, membership_list, user_roles


def profile_section(*, user: User) -> dict[str, Any]:
    return {
        "profile": {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "public_identity": user.public_identity,
            "pseudonym": user.pseudonym,
            "language": user.language,
            "date_joined": user.date_joined.isoformat(),
            "roles": sorted(user_roles(user=user)),
        },
        "memberships": [
            {
                "shares": m.shares,
                "share_price": m.share_price,
                "currency": m.currency,
                "status": m.status,
                "joined_at": m.joined_at.isoformat(),
                "ended_at": m.ended_at.isoformat() if m.ended_at else None,
            }
            for m in membership_list(user=user)
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "scopes": t.scopes,
                "created_at": t.created_at.isoformat(),
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in api_token_list(user=user)
        ],
    }


def user_data_export(*, user: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "generated_at": timezone.now().isoformat(),
        "format": "bien-commun-export/1",
    }
    for path in settings.DATA_EXPORT_SECTIONS:
        data.update(import_string(path)(user=user))
    return data
