"""Projects, their team of leads and their SSE criteria."""

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from members.enums import Role
from members.models import User
from members.services import role_grant

from ..enums import CriterionStatus, Licence, SSECriterion
from ..exceptions import CampaignError, NotProjectLeadError
from ..machines import criterion_machine
from ..models import Project, ProjectCriterion, ProjectLead, Theme
from ..selectors import project_is_led_by

MAX_LINKS = 10


def _unique_slug(model: Any, base: str, max_length: int) -> str:
    base = (slugify(base) or "project")[: max_length - 6]
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def links_clean(links: Any) -> list[dict[str, str]]:
    """Links are {label, url} with an http(s) URL; anything else is refused."""
    if not isinstance(links, list) or len(links) > MAX_LINKS:
        raise DjangoValidationError({"links": [f"At most {MAX_LINKS} links."]})
    cleaned = []
    for link in links:
        if not isinstance(link, dict):
            raise DjangoValidationError({"links": ["Each link has a label and a url."]})
        label = str(link.get("label", "")).strip()[:80]
        url = str(link.get("url", "")).strip()
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or len(url) > 500:
            raise DjangoValidationError({"links": ["Links must be http or https addresses."]})
        cleaned.append({"label": label or parts.netloc, "url": url})
    return cleaned


def require_lead(project: Project | int, user: Any) -> None:
    if not project_is_led_by(project, user):
        raise NotProjectLeadError()


def project_create(
    *,
    user: User,
    title: str,
    summary: str,
    theme: Theme,
    description: str = "",
    links: list[dict[str, str]] | None = None,
    licence: str = Licence.CC_BY_SA_4,
) -> Project:
    """Create a project; its creator is its first lead."""
    cleaned_links = links_clean(links or [])
    with transaction.atomic():
        project = Project.objects.create(
            title=title,
            slug=_unique_slug(Project, title, 80),
            summary=summary,
            description=description,
            theme=theme,
            links=cleaned_links,
            licence=licence,
            created_by=user,
        )
        project_lead_add(project=project, user=user, actor=user)
    return project


def project_update(*, project: Project, actor: User, data: dict[str, Any]) -> Project:
    require_lead(project, actor)
    allowed = {"title", "summary", "description", "theme", "links", "licence"}
    changed = [name for name in allowed if name in data]
    if "links" in data:
        data = {**data, "links": links_clean(data["links"])}
    for name in changed:
        setattr(project, name, data[name])
    if changed:
        project.updated_at = timezone.now()
        project.save(update_fields=[*changed, "updated_at"])
    return project


def project_lead_add(*, project: Project, user: User, actor: User | None) -> ProjectLead:
    """Add someone to a project's team; they get the lead role."""
    if not user.is_active:
        raise CampaignError("This account is closed.", code="account_inactive")
    with transaction.atomic():
        lead, _created = ProjectLead.objects.get_or_create(
            project=project, user=user, defaults={"added_by": actor}
        )
        role_grant(user=user, role=Role.LEAD, granted_by=actor)
    user.__dict__.pop("_roles_cache", None)
    return lead


def project_lead_remove(*, project: Project, user: User, actor: User) -> None:
    require_lead(project, actor)
    with transaction.atomic():
        leads = list(ProjectLead.objects.select_for_update().filter(project=project).order_by("pk"))
        if not any(lead.user_id == user.pk for lead in leads):
            raise CampaignError("This person is not on the team.", code="not_on_team")
        if len(leads) == 1:
            raise CampaignError(
                "A project keeps at least one lead.", code="last_lead", status_code=409
            )
        ProjectLead.objects.filter(project=project, user=user).delete()


def criterion_declare(
    *, project: Project, actor: User, criterion: str, statement: str
) -> ProjectCriterion:
    """A lead declares how the project meets one SSE criterion; a change goes back to review."""
    require_lead(project, actor)
    if criterion not in SSECriterion.values:
        raise DjangoValidationError({"criterion": ["Unknown criterion."]})
    statement = statement.strip()
    if not statement:
        raise DjangoValidationError({"statement": ["Say how the project meets this criterion."]})
    with transaction.atomic():
        row = (
            ProjectCriterion.objects.select_for_update()
            .filter(project=project, criterion=criterion)
            .first()
        )
        if row is None:
            return ProjectCriterion.objects.create(
                project=project, criterion=criterion, statement=statement, declared_by=actor
            )
        changes: dict[str, Any] = {
            "statement": statement,
            "declared_by": actor,
            "declared_at": timezone.now(),
        }
        if row.status == CriterionStatus.DECLARED:
            ProjectCriterion.objects.filter(pk=row.pk).update(**changes)
        else:
            criterion_machine.compare_and_set(
                ProjectCriterion.objects.all(),
                pk=row.pk,
                source=row.status,
                target=CriterionStatus.DECLARED,
                checked_by=None,
                checked_at=None,
                moderator_note="",
                **changes,
            )
    row.refresh_from_db()
    return row


def criterion_check(
    *, criterion: ProjectCriterion, actor: User, verified: bool, note: str = ""
) -> ProjectCriterion:
    """A moderator confirms or refuses a declared criterion."""
    if project_is_led_by(criterion.project_id, actor):
        raise CampaignError(
            "A moderator cannot check their own project.",
            code="conflict_of_interest",
            status_code=403,
        )
    target = CriterionStatus.VERIFIED if verified else CriterionStatus.REJECTED
    criterion_machine.compare_and_set(
        ProjectCriterion.objects.all(),
        pk=criterion.pk,
        source=criterion.status,
        target=target,
        checked_by=actor,
        checked_at=timezone.now(),
        moderator_note=note[:500],
    )
    criterion.refresh_from_db()
    return criterion
