"""State machines: a table of allowed moves and a compare-and-set transition."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from .errors import IllegalTransitionError


class StateMachine:
    def __init__(self, name: str, moves: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.moves: dict[str, frozenset[str]] = {
            str(src): frozenset(map(str, dst)) for src, dst in moves.items()
        }

    def can(self, source: str, target: str) -> bool:
        return target in self.moves.get(source, frozenset())

    def check(self, source: str, target: str) -> None:
        if not self.can(source, target):
            raise IllegalTransitionError(self.name, source, target)

    def sources_of(self, target: str) -> list[str]:
        return sorted(src for src, dsts in self.moves.items() if target in dsts)

    def compare_and_set(
        self,
        queryset: models.QuerySet[Any],
        *,
        pk: Any,
        source: str,
        target: str,
        field: str = "status",
        **changes: Any,
    ) -> None:
        """Move one row from `source` to `target`, or refuse if it moved meanwhile."""
        self.check(source, target)
        updated = queryset.filter(pk=pk, **{field: source}).update(**{field: target}, **changes)
        if updated != 1:
            current = queryset.filter(pk=pk).values_list(field, flat=True).first()
            raise IllegalTransitionError(self.name, str(current), target)


def choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """A CheckConstraint that keeps a status column inside its TextChoices."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)
