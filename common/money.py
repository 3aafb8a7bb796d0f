"""Money is an integer number of minor units with a currency code. Never a float."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format

# ISO 4217 exponents for the currencies the platform accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "PLN": 2,
    "HUF": 2,
    "JPY": 0,
}
CURRENCY_SYMBOLS: dict[str, str] = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "CHF": "CHF",
    "PLN": "zł",
    "HUF": "Ft",
    "JPY": "¥",
}


class CurrencyMismatchError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError("Money amounts are integers in minor units")
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"Unknown currency {self.currency!r}")

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"{self.currency} and {other.currency} do not mix")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def to_decimal(amount: int, currency: str) -> Decimal:
    """Exact decimal value of minor units, for display and exports only."""
    return Decimal(amount).scaleb(-CURRENCY_EXPONENTS[currency])


def format_money(amount: int, currency: str, *, use_l10n: bool = True) -> str:
    exponent = CURRENCY_EXPONENTS[currency]
    value = number_format(
        to_decimal(amount, currency), decimal_pos=exponent, use_l10n=use_l10n, force_grouping=True
    )
    return f"{value}\u00a0{CURRENCY_SYMBOLS.get(currency, currency)}"


def max_payment_amount() -> int:
    return int(settings.MAX_PAYMENT_AMOUNT)
