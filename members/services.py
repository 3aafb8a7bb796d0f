"""Every write about people: accounts, roles, memberships and tokens."""

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import override

from common.email import email_queue

from .auth import TOKEN_PREFIX, token_hash
from .enums import GRANTED_ROLES, MembershipStatus, PublicIdentity, Scope
from .exceptions import EmailTakenError, InvalidResetLinkError, MembershipError
from .models import ApiToken, Membership, RoleGrant, User


def _password_check(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise DjangoValidationError({"password": exc.messages}) from exc


def user_create(
    *,
    email: str,
    password: str,
    display_name: str = "",
    language: str = "fr",
    public_identity: str = PublicIdentity.PSEUDONYM,
) -> User:
    email = User.objects.normalize_email(email).lower()
    user = User(
        email=email, display_name=display_name, language=language, public_identity=public_identity
    )
    _password_check(password, user)
    user.set_password(password)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTakenError(fields={"email": [EmailTakenError.default_message]})
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same address
        raise EmailTakenError(fields={"email": [EmailTakenError.default_message]}) from exc
    return user


def user_update(*, user: User, data: dict[str, Any]) -> User:
    allowed = {"display_name", "language", "public_identity"}
    changed = [name for name in allowed if name in data]
    for name in changed:
        setattr(user, name, data[name])
    if changed:
        user.save(update_fields=changed)
    return user


def user_password_change(*, user: User, password: str) -> None:
    _password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the account exists. The answer never tells whether it does."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{settings.SITE_URL}/accounts/reset/{uid}/{token}/"
    with override(user.language):
        body = render_to_string("members/email/password_reset.txt", {"user": user, "link": link})
        subject = _("Reset your Bien Commun password")
    email_queue(subject=str(subject), body=body, recipients=[user.email])


def password_reset_confirm(*, uid: str, token: str, password: str) -> User:
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist) as exc:
        raise InvalidResetLinkError() from exc
    if not default_token_generator.check_token(user, token):
        raise InvalidResetLinkError()
    user_password_change(user=user, password=password)
    return user


def role_grant(*, user: User, role: str, granted_by: User | None = None) -> RoleGrant:
    if role not in {r.value for r in GRANTED_ROLES}:
        raise MembershipError(f"The role {role!r} cannot be granted.", code="invalid_role")
    grant, _created = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": granted_by}
    )
    return grant


def role_revoke(*, user: User, role: str) -> None:
    RoleGrant.objects.filter(user=user, role=role).delete()


def api_token_create(
    *, user: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    valid = {s.value for s in Scope}
    unknown = sorted(set(scopes) - valid)
    if unknown:
        raise DjangoValidationError({"scopes": [f"Unknown scope: {s}" for s in unknown]})
    if expires_at is not None and expires_at <= timezone.now():
        raise DjangoValidationError({"expires_at": ["The expiry must be in the future."]})
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=token_hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def membership_shares_add(*, user: User, shares: int, share_price: int | None = None) -> Membership:
    """Add shares to a person's active membership, opening one if needed.

    Called when a share purchase settles; the payment and its ledger entry are posted by
    the caller in the same transaction.
    """
    if shares < 1:
        raise MembershipError("At least one share is needed.", code="invalid_shares")
    price = share_price if share_price is not None else settings.MEMBERSHIP_SHARE_PRICE
    membership = (
        Membership.objects.select_for_update()
        .filter(user=user, status=MembershipStatus.ACTIVE)
        .first()
    )
    if membership is None:
        membership = Membership.objects.create(
            user=user, shares=shares, share_price=price, currency=settings.PLATFORM_CURRENCY
        )
    else:
        Membership.objects.filter(pk=membership.pk).update(shares=membership.shares + shares)
        membership.refresh_from_db()
    user.__dict__.pop("_roles_cache", None)
    return membership


def membership_end(*, membership: Membership) -> Membership:
    """End a membership. Paying back the shares is posted by the fund through the ledger."""
    updated = Membership.objects.filter(pk=membership.pk, status=MembershipStatus.ACTIVE).update(
        status=MembershipStatus.ENDED, ended_at=timezone.now()
    )
    if updated != 1:
        raise MembershipError(
            "This membership has already ended.", code="membership_ended", status_code=409
        )
    membership.refresh_from_db()
    return membership


def user_delete(*, user: User) -> None:
    """Erase a person's identity. Money records stay, attached to a pseudonymised account."""
    with transaction.atomic():
        user.email = f"deleted-{user.pk}-{secrets.token_hex(6)}@deleted.invalid"
        user.display_name = ""
        user.public_identity = PublicIdentity.ANONYMOUS
        user.pseudonym = f"deleted-{secrets.token_hex(6)}"
        user.is_active = False
        user.deleted_at = timezone.now()
        user.set_unusable_password()
        user.save()
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        RoleGrant.objects.filter(user=user).delete()
