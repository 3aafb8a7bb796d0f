"""Read-only admin: money tables change only through the services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Customer,
    Disbursement,
    DisbursementEvent,
    PayeeAccount,
    Payment,
    PaymentEvent,
    PaymentMethodSetup,
    ReconciliationReport,
    Refund,
    SavedPaymentMethod,
    WebhookEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "purpose", "amount", "currency", "status", "provider", "created_at"]
    list_filter = ["purpose", "status", "provider"]
    search_fields = ["provider_payment_intent_id", "provider_charge_id", "idempotency_key"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]


@admin.register(Disbursement)
class DisbursementAdmin(ReadOnlyAdmin):
    list_display = ["id", "purpose", "amount", "currency", "status", "method", "created_at"]
    list_filter = ["status", "purpose", "method"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["provider_event_id", "type", "status", "attempts", "received_at"]
    list_filter = ["status", "provider"]
    search_fields = ["provider_event_id", "type"]


for model in (
    Customer,
    PaymentMethodSetup,
    SavedPaymentMethod,
    PaymentEvent,
    PayeeAccount,
    DisbursementEvent,
    ReconciliationReport,
):
    admin.site.register(model, ReadOnlyAdmin)
