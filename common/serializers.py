"""Strict input: unknown fields, wrong JSON types and out-of-range amounts are refused."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from .money import CURRENCY_EXPONENTS


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string, float or boolean."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return bool(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class AmountField(StrictIntegerField):
    """An amount in minor units: a positive JSON integer no larger than the platform's limit."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", settings.MAX_PAYMENT_AMOUNT)
        kwargs.setdefault("help_text", "Amount in minor units (cents), a positive integer.")
        super().__init__(**kwargs)


class CurrencyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", sorted(CURRENCY_EXPONENTS))
        kwargs.setdefault("help_text", "ISO 4217 currency code.")
        super().__init__(**kwargs)
