"""What every payment provider offers, and the rules every provider call obeys.

A provider call never runs inside a database transaction (`provider_call` refuses it), and a
call that fails on the network or with a 5xx is retried a bounded number of times with the
same idempotency key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

from django.conf import settings
from django.db import connection

from ..exceptions import ProviderCallInTransactionError, ProviderUnavailableError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def provider_key(*parts: object) -> str:
    """An idempotency key for a provider call: the installation's namespace, then the parts.

    Keys are built from our row ids, which another installation sharing the Stripe account (a
    staging copy) would reuse; the namespace, derived from SECRET_KEY unless configured, keeps
    them apart. Set a new PAYMENTS_IDEMPOTENCY_NAMESPACE after restoring an older database.
    """
    namespace = str(getattr(settings, "PAYMENTS_IDEMPOTENCY_NAMESPACE", "") or "")
    if not namespace:
        digest = hmac.new(
            settings.SECRET_KEY.encode(), b"payments.idempotency", hashlib.sha256
        ).hexdigest()
        namespace = f"bc{digest[:10]}"
    return ":".join([namespace, *(str(part) for part in parts)])


def in_transaction() -> bool:
    """True when the default connection holds a transaction open (a test's own wrapper aside)."""
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base·2^attempt, at most cap, plus up to base at random."""
    return float(min(cap, base * (2**attempt)) + random.uniform(0, base))


def provider_call(fn: Callable[P, T]) -> Callable[P, T]:
    """Refuse to run inside a transaction; retry network errors and 5xx a few times."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if in_transaction():
            raise ProviderCallInTransactionError(
                f"{fn.__qualname__} was called inside a database transaction; "
                "commit the intent first, then call the provider."
            )
        attempts = max(1, int(settings.PAYMENTS_PROVIDER_ATTEMPTS))
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except ProviderUnavailableError as error:
                if attempt + 1 >= attempts:
                    raise
                delay = retry_delay(attempt, base=settings.PAYMENTS_PROVIDER_RETRY_BASE, cap=2.0)
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.2fs",
                    fn.__qualname__,
                    error,
                    attempt + 1,
                    attempts - 1,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    return wrapper


@dataclass(frozen=True)
class CardDetails:
    id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    customer_id: str = ""


@dataclass(frozen=True)
class SetupIntentResult:
    id: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled
    client_secret: str
    customer_id: str
    payment_method_id: str
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class IntentResult:
    """A PaymentIntent as the provider holds it now, with its latest charge and fee."""

    id: str
    status: str  # Stripe's PaymentIntent statuses
    amount: int
    currency: str
    client_secret: str
    customer_id: str = ""
    payment_method_id: str = ""
    charge_id: str = ""
    fee_amount: int | None = None
    amount_refunded: int = 0
    failure_code: str = ""
    failure_message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = 0


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: int
    currency: str
    charge_id: str
    payment_intent_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str = ""
    created: int = 0


@dataclass(frozen=True)
class AccountResult:
    id: str
    details_submitted: bool
    payouts_enabled: bool
    email: str = ""


@dataclass(frozen=True)
class OnboardingLink:
    url: str
    expires_at: int


@dataclass(frozen=True)
class TransferResult:
    id: str
    amount: int
    currency: str
    destination: str
    transfer_group: str
    amount_reversed: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = 0


class Provider(Protocol):
    """A payment provider: Stripe, or the embedded sandbox that simulates it."""

    name: str

    def publishable_key(self) -> str: ...

    def js_url(self) -> str: ...

    def webhook_event_verify(self, *, payload: bytes, signature: str | None) -> dict[str, Any]: ...

    # customers and saved cards
    def customer_create(
        self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str: ...

    def setup_intent_create(
        self, *, customer_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> SetupIntentResult: ...

    def setup_intent_retrieve(self, setup_intent_id: str) -> SetupIntentResult: ...

    def payment_method_retrieve(self, payment_method_id: str) -> CardDetails: ...

    def payment_method_detach(self, payment_method_id: str, *, idempotency_key: str) -> None: ...

    # charges
    def payment_intent_create(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        off_session: bool,
        confirm: bool,
        description: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentResult: ...

    def payment_intent_retrieve(self, payment_intent_id: str) -> IntentResult: ...

    def payment_intent_cancel(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> IntentResult: ...

    def charge_fee(self, charge_id: str) -> int | None: ...

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        reason: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult: ...

    def refund_retrieve(self, refund_id: str) -> RefundResult: ...

    def refunds_of_payment_intent(self, payment_intent_id: str) -> list[RefundResult]: ...

    # payouts through Connect
    def connect_account_create(
        self, *, email: str, country: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountResult: ...

    def connect_account_retrieve(self, account_id: str) -> AccountResult: ...

    def connect_onboarding_link_create(
        self, *, account_id: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> OnboardingLink: ...

    def transfer_create(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str,
        description: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult: ...

    def transfer_retrieve(self, transfer_id: str) -> TransferResult: ...

    def transfers_of_group(self, transfer_group: str) -> list[TransferResult]: ...

    # reconciliation
    def payment_intents_list(self, *, created_gte: int | None) -> Iterator[IntentResult]: ...

    def refunds_list(self, *, created_gte: int | None) -> Iterator[RefundResult]: ...

    def transfers_list(self, *, created_gte: int | None) -> Iterator[TransferResult]: ...

    def balance_net(self) -> dict[str, int]: ...


def metadata_str(metadata: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (metadata or {}).items()}
