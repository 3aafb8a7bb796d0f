"""Purpose handlers: when a payment settles, the app that owns its purpose is called.

`settings.PAYMENT_PURPOSE_HANDLERS` maps a purpose to the dotted path of a handler class. The
calls are explicit (no signals) and run inside the settling transaction, so a handler's writes
commit or roll back with the ledger entry. A handler must accept money that has arrived: it
cannot refuse a charge the provider has already made.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from ledger.enums import EntryKind

from .enums import PaymentPurpose
from .exceptions import PurposeNotAvailableError

if TYPE_CHECKING:
    from ledger.models import Account, JournalEntry

    from .models import Payment, Refund

# The kind of the charge entry, unless the handler names its own (`entry_kind`).
ENTRY_KINDS: dict[str, str] = {
    PaymentPurpose.PLEDGE: EntryKind.PLEDGE_CHARGE,
    PaymentPurpose.SAVINGS: EntryKind.SAVINGS_SUBSCRIPTION,
    PaymentPurpose.DONATION: EntryKind.DONATION,
    PaymentPurpose.SHARE: EntryKind.SHARE_PURCHASE,
}


class PurposeHandler(Protocol):
    def credit_account(self, payment: Payment) -> Account:
        """Where the money goes in the books."""
        ...

    def on_succeeded(self, payment: Payment, entry: JournalEntry) -> None:
        """Inside the settling transaction, after the charge entry is posted."""
        ...

    def on_failed(self, payment: Payment) -> None:
        """A charge failed (declined, authentication not completed)."""
        ...

    def on_refunded(self, payment: Payment, refund: Refund, entry: JournalEntry) -> None:
        """Inside the refund's transaction, after its reversal entry is posted."""
        ...


class BasePurposeHandler:
    """Defaults for the optional parts of a handler."""

    entry_kind: str = ""

    def credit_account(self, payment: Payment) -> Account:
        raise NotImplementedError

    def on_succeeded(self, payment: Payment, entry: JournalEntry) -> None:
        return None

    def on_failed(self, payment: Payment) -> None:
        return None

    def on_refunded(self, payment: Payment, refund: Refund, entry: JournalEntry) -> None:
        return None

    def refund_check(self, payment: Payment, amount: int) -> None:
        """Raise an ApplicationError to refuse a refund before anything is asked of the provider."""
        return


@functools.lru_cache(maxsize=32)
def _load(path: str) -> Any:
    return import_string(path)()


def handler_for(purpose: str) -> PurposeHandler:
    path = settings.PAYMENT_PURPOSE_HANDLERS.get(purpose)
    if not path:
        raise PurposeNotAvailableError(
            f"Payments for {purpose!r} are not available.", extra={"purpose": purpose}
        )
    handler: PurposeHandler = _load(path)
    return handler


def entry_kind_for(purpose: str, handler: PurposeHandler) -> str:
    return str(getattr(handler, "entry_kind", "") or ENTRY_KINDS[purpose])


def refund_check(handler: PurposeHandler, payment: Payment, amount: int) -> None:
    check = getattr(handler, "refund_check", None)
    if check is not None:
        check(payment, amount)
