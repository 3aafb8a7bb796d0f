"""Query filters: a value the schema does not allow is refused with a 400, never silently ignored.

django-filter drops an empty value and lets a number filter guess; the API refuses both, so a
client with a typo learns of it instead of receiving the unfiltered list.
"""

import re
from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

WHOLE_NUMBER = re.compile(r"[0-9]+")


class StrictFilterSet(django_filters.FilterSet):
    def get_form_class(self) -> Any:
        base = super().get_form_class()
        names = list(self.filters)
        numbers = [n for n, f in self.filters.items() if isinstance(f, django_filters.NumberFilter)]

        class StrictForm(base):  # type: ignore[misc, valid-type]
            def clean(form: Any) -> Any:
                cleaned = super().clean()
                for name in names:
                    if name in form.data and form.data.get(name) == "":
                        form.add_error(name, "This value may not be empty.")
                for name in numbers:
                    raw = form.data.get(name)
                    if raw not in (None, "") and not WHOLE_NUMBER.fullmatch(str(raw)):
                        form.add_error(name, "A whole number.")
                return cleaned

        return StrictForm


class StrictFilterBackend(DjangoFilterBackend):
    """The default backend: the filter sets it builds from `filterset_fields` are strict too."""

    filterset_base = StrictFilterSet
