"""Display helpers for the open ledger's pages."""

from django import template

from common.money import CURRENCY_EXPONENTS, format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    """Minor units shown in the reader's language: 250000, EUR → 2 500,00 €."""
    if currency not in CURRENCY_EXPONENTS:
        return f"{amount} {currency}"
    return format_money(int(amount), currency)


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return value if len(value) <= length else f"{value[:length]}…"
