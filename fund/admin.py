"""Read-only admin for governance: changes go through the services (and their state machines).
Ballot rows and voter keys are not shown at all."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Poll, PollEvent, PollOption, Round, RoundEvent, RoundProject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PollOptionInline(admin.TabularInline):
    model = PollOption
    extra = 0
    can_delete = False
    readonly_fields = ["position", "label", "description"]


class PollEventInline(admin.TabularInline):
    model = PollEvent
    extra = 0
    can_delete = False
    readonly_fields = ["source", "target", "actor", "at"]


@admin.register(Poll)
class PollAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "method", "status", "opens_at", "closes_at", "electorate_size"]
    list_filter = ["status", "method"]
    exclude = ["voter_secret"]
    inlines = [PollOptionInline, PollEventInline]


class RoundProjectInline(admin.TabularInline):
    model = RoundProject
    extra = 0
    can_delete = False
    readonly_fields = (
        "code",
        "name",
        "cost",
        "kind",
        "approvals",
        "is_selected",
        "selection_rank",
        "effective_support",
        "investment_id",
    )
    fields = readonly_fields


class RoundEventInline(admin.TabularInline):
    model = RoundEvent
    extra = 0
    can_delete = False
    readonly_fields = ["source", "target", "actor", "at"]


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "status", "currency", "budget", "opens_at", "closes_at"]
    list_filter = ["status", "source"]
    exclude = ["voter_secret"]
    inlines = [RoundProjectInline, RoundEventInline]
