"""Filters of the public ledger: by account, kind, dates and reference."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.money import CURRENCY_EXPONENTS

from .enums import AccountPurpose, AccountType, EntryKind, OwnerType
from .models import Account, JournalEntry, Posting

BIGINT_MAX = 2**63 - 1


def day_start(day: date) -> datetime | None:
    """Midnight at the start of `day` in the platform's time zone; None when out of range."""
    try:
        moment = timezone.make_aware(datetime.combine(day, time.min))
        moment.astimezone(UTC)  # the database compares in UTC: it must exist there too
    except (OverflowError, ValueError):
        return None
    return moment


def day_after(day: date) -> datetime | None:
    try:
        return day_start(day + timedelta(days=1))
    except OverflowError:
        return None


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class EntryFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(
        method="filter_account",
        max_length=120,
        label=_("Account"),
        help_text=_("An account code, such as fund:grants_pool:EUR."),
    )
    kind = django_filters.ChoiceFilter(
        choices=EntryKind.choices, label=_("Kind"), empty_label=_("Any kind")
    )
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label=_("From"),
        help_text=_("On or after this day."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label=_("To"),
        help_text=_("On or before this day."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reference_type = django_filters.CharFilter(max_length=40)
    reference_id = IntegerFilter(min_value=1, max_value=BIGINT_MAX)

    class Meta:
        model = JournalEntry
        fields: list[str] = []

    def filter_account(
        self, queryset: QuerySet[JournalEntry], name: str, value: str
    ) -> QuerySet[JournalEntry]:
        postings = Posting.objects.using(queryset.db).filter(
            entry=OuterRef("pk"), account__code=value
        )
        return queryset.filter(Exists(postings))

    def filter_date_from(
        self, queryset: QuerySet[JournalEntry], name: str, value: date
    ) -> QuerySet[JournalEntry]:
        start = day_start(value)
        return queryset if start is None else queryset.filter(created_at__gte=start)

    def filter_date_to(
        self, queryset: QuerySet[JournalEntry], name: str, value: date
    ) -> QuerySet[JournalEntry]:
        end = day_after(value)
        return queryset if end is None else queryset.filter(created_at__lt=end)


class AccountFilter(django_filters.FilterSet):
    owner_type = django_filters.ChoiceFilter(
        choices=OwnerType.choices, label=_("Held by"), empty_label=_("Anyone")
    )
    type = django_filters.ChoiceFilter(
        choices=AccountType.choices, label=_("Type"), empty_label=_("Any type")
    )
    purpose = django_filters.ChoiceFilter(
        choices=AccountPurpose.choices, label=_("Purpose"), empty_label=_("Any purpose")
    )
    currency = django_filters.ChoiceFilter(
        choices=[(c, c) for c in sorted(CURRENCY_EXPONENTS)],
        label=_("Currency"),
        empty_label=_("Any currency"),
    )

    class Meta:
        model = Account
        fields: list[str] = []
