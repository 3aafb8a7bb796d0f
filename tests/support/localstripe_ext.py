"""Test-only extension of the localstripe Stripe emulator.

localstripe covers customers, SetupIntents, PaymentIntents, refunds and signed webhooks.
It has no Connect and ignores ``Idempotency-Key``; this module adds both, and corrects
a few answers where localstripe differs from Stripe in ways our payment code depends on.
Everything here is described in docs/localstripe.md. Application code never imports it.

``install(app)`` patches localstripe in the current process and mounts the extra routes
on its aiohttp application; ``tests.support.localstripe_server`` does that at start-up.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe import webhooks as ls_webhooks
from localstripe.errors import UserError

ACCOUNT_LINK_LIFETIME_SECONDS = 300

# What a new express account still owes before it may receive transfers.
ONBOARDING_REQUIREMENTS = [
    "business_type",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
# Stripe accepts a transfer when the destination has any one of these active.
TRANSFER_CAPABILITIES = ("transfers", "crypto_transfers", "legacy_payments")
DEFAULT_CURRENCY_BY_COUNTRY = {"US": "usd", "GB": "gbp", "CH": "chf", "CA": "cad"}

# Stripe's test PaymentMethod ids that localstripe does not know.
EXTRA_TEST_PAYMENT_METHODS = {
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
}
# The one card that needs 3D Secure on-session but not off-session once set up.
AUTHENTICATE_UNLESS_SET_UP = "4000002500003155"
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


@dataclass
class _SavedResponse:
    fingerprint: tuple[Any, ...]
    status: int
    body: bytes
    content_type: str
    request_id: str


@dataclass
class _ExtensionState:
    idempotent_responses: dict[tuple[str, str, str], _SavedResponse] = field(default_factory=dict)
    account_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # None: the platform balance is not tracked and every transfer is funded.
    platform_available: dict[str, int] | None = None
    fee_percent_basis_points: int = 0
    fee_fixed: int = 0

    def reset_data(self) -> None:
        """Forget what DELETE /_config/data forgets; configuration (fees) stays."""
        self.idempotent_responses.clear()
        self.account_links.clear()
        self.platform_available = None


state = _ExtensionState()


# --- errors and parameter checks, in Stripe's words -------------------------------------


def stripe_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    error_type: str | None = None,
) -> UserError:
    contents = {key: value for key, value in (("code", code), ("param", param)) if value}
    error = UserError(status, message, contents)
    if error_type is not None:
        error.body["error"]["type"] = error_type
    return error


def _reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    for name in data:
        if name not in allowed:
            raise stripe_error(400, f"Received unknown parameter: {name}", param=name)


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        raise stripe_error(400, f"Missing required param: {name}.", param=name)
    return value


def _positive_integer(value: Any, name: str) -> int:
    value = ls.try_convert_to_int(value)
    if type(value) is not int or value <= 0:
        raise stripe_error(400, "Invalid positive integer", param=name)
    return value


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z]{3}", value):
        raise stripe_error(400, f"Invalid currency: {value}", param="currency")
    return value.lower()


def _optional_string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise stripe_error(400, f"Invalid string: {value}", param=name)
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise stripe_error(400, "Invalid object", param="metadata")
    return dict(value)


def _no_such(kind: str, object_id: str, *, param: str, status: int = 400) -> UserError:
    return stripe_error(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def _emit(event_type: str, obj: Any, *, account: str | None = None) -> None:
    """Send an event through localstripe's own webhook machinery (signed, ~1 s later)."""
    event = ls.Event(event_type, obj)
    if account is not None:
        event.account = account  # set on Connect events, as Stripe does
    ls_webhooks.schedule_webhook(event)


def _balance_transaction(
    *, amount: int, currency: str, txn_type: str, reporting_category: str, source: str
) -> Any:
    """A localstripe BalanceTransaction of a kind its constructor refuses (transfers)."""
    txn = ls.BalanceTransaction.__new__(ls.BalanceTransaction)
    ls.StripeObject.__init__(txn)
    txn.amount = amount
    txn.available_on = txn.created
    txn.currency = currency
    txn.description = None
    txn.exchange_rate = None
    txn.fee = 0
    txn.fee_details = []
    txn.reporting_category = reporting_category
    txn.source = source
    txn.status = "available"
    txn.type = txn_type
    return txn


def _newest_first(li: Any) -> Any:
    li._list.reverse()
    return li


# --- Connect: accounts, account links, transfers, reversals ----------------------------
# Methods start with "_" because localstripe exports every public attribute.


def _requirements(due: list[str]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


class Account(ls.StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(self, **data: Any) -> None:
        _reject_unknown(
            data,
            {
                "type",
                "country",
                "email",
                "capabilities",
                "business_type",
                "business_profile",
                "default_currency",
                "metadata",
            },
        )
        if _required(data, "type") != "express":
            raise stripe_error(
                400, "The emulator implements type=express accounts only.", param="type"
            )
        country = data.get("country", "FR")
        if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
            raise stripe_error(400, f"Invalid country: {country}", param="country")
        email = _optional_string(data, "email")
        business_type = data.get("business_type")
        if business_type not in (None, "individual", "company", "non_profit", "government_entity"):
            raise stripe_error(
                400, f"Invalid business_type: {business_type}", param="business_type"
            )
        business_profile = data.get("business_profile") or {}
        if not isinstance(business_profile, dict):
            raise stripe_error(400, "Invalid object", param="business_profile")
        default_currency = data.get("default_currency")
        default_currency = (
            _currency(default_currency)
            if default_currency is not None
            else DEFAULT_CURRENCY_BY_COUNTRY.get(country, "eur")
        )
        # Without an explicit request, behave like a platform whose Connect settings
        # request the transfers capability for new accounts.
        capabilities = data.get("capabilities") or {"transfers": {"requested": "true"}}
        if not isinstance(capabilities, dict) or not all(
            isinstance(spec, dict) for spec in capabilities.values()
        ):
            raise stripe_error(400, "Invalid object", param="capabilities")
        requested = sorted(
            name
            for name, spec in capabilities.items()
            if ls.try_convert_to_bool(spec.get("requested")) is True
        )
        metadata = _metadata(data.get("metadata"))

        super().__init__()

        self.type = "express"
        self.country = country
        self.email = email
        self.business_type = business_type
        self.business_profile = business_profile
        self.default_currency = default_currency
        self.capabilities = dict.fromkeys(requested, "inactive")
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.requirements = _requirements(ONBOARDING_REQUIREMENTS)
        self.metadata = metadata

    @classmethod
    def _api_retrieve(cls, id: str) -> Account:
        account = ls.store.get(f"account:{id}")
        if account is None:
            raise _no_such("account", id, param="id", status=404)
        return account

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_delete(cls, id: str) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_list_all(
        cls, url: str, limit: Any = None, starting_after: Any = None, **kw: Any
    ) -> Any:
        return _newest_first(super()._api_list_all(url, limit, starting_after, **kw))

    def _complete_onboarding(self) -> None:
        if self.details_submitted:
            return
        self.capabilities = dict.fromkeys(self.capabilities, "active")
        self.details_submitted = True
        self.charges_enabled = self.capabilities.get("card_payments") == "active"
        self.payouts_enabled = True
        self.requirements = _requirements([])
        _emit("account.updated", self, account=self.id)

    def _can_receive_transfers(self) -> bool:
        return any(self.capabilities.get(name) == "active" for name in TRANSFER_CAPABILITIES)


def account_link_create(base_url: str, **data: Any) -> dict[str, Any]:
    _reject_unknown(data, {"account", "refresh_url", "return_url", "type", "collect"})
    account_id = _required(data, "account")
    if ls.store.get(f"account:{account_id}") is None:
        raise _no_such("account", account_id, param="account")
    if _required(data, "type") != "account_onboarding":
        raise stripe_error(
            400, "The emulator implements type=account_onboarding links only.", param="type"
        )
    urls = {}
    for name in ("refresh_url", "return_url"):
        url = _required(data, name)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise stripe_error(400, "Not a valid URL", param=name)
        urls[name] = url
    now = int(time.time())
    token = secrets.token_urlsafe(16)
    state.account_links[token] = {
        "account": account_id,
        "expires_at": now + ACCOUNT_LINK_LIFETIME_SECONDS,
        "is_used": False,
        **urls,
    }
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + ACCOUNT_LINK_LIFETIME_SECONDS,
        "url": f"{base_url}/_config/connect/onboarding/{token}",
    }


class Transfer(ls.StripeObject):
    object = "transfer"
    _id_prefix = "tr_"

    def __init__(self, **data: Any) -> None:
        _reject_unknown(
            data,
            {
                "amount",
                "currency",
                "destination",
                "description",
                "metadata",
                "source_transaction",
                "source_type",
                "transfer_group",
            },
        )
        amount = _positive_integer(_required(data, "amount"), "amount")
        currency = _currency(_required(data, "currency"))
        destination_id = _required(data, "destination")
        destination = ls.store.get(f"account:{destination_id}")
        if destination is None:
            raise _no_such("destination", destination_id, param="destination")
        if not destination._can_receive_transfers():
            raise stripe_error(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        source_transaction = data.get("source_transaction")
        if source_transaction is not None and ls.store.get(f"charge:{source_transaction}") is None:
            raise _no_such("charge", source_transaction, param="source_transaction")
        description = _optional_string(data, "description")
        transfer_group = _optional_string(data, "transfer_group")
        metadata = _metadata(data.get("metadata"))
        # With source_transaction Stripe funds the transfer from that charge, even pending.
        is_funded_by_balance = source_transaction is None
        if is_funded_by_balance:
            _check_platform_funds(amount, currency)

        super().__init__()

        if is_funded_by_balance:
            _move_platform_funds(-amount, currency)
        self.amount = amount
        self.amount_reversed = 0
        self.currency = currency
        self.description = description
        self.destination = destination.id
        self.destination_payment = "py_" + ls.random_id(24)
        self.metadata = metadata
        self.reversed = False
        self.source_transaction = source_transaction
        self.source_type = "card"
        self.transfer_group = transfer_group
        self.balance_transaction = _balance_transaction(
            amount=-amount,
            currency=currency,
            txn_type="transfer",
            reporting_category="transfer",
            source=self.id,
        ).id
        self.reversals = ls.List(f"/v1/transfers/{self.id}/reversals")
        _emit("transfer.created", self)

    @classmethod
    def _api_retrieve(cls, id: str) -> Transfer:
        transfer = ls.store.get(f"transfer:{id}")
        if transfer is None:
            raise _no_such("transfer", id, param="id", status=404)
        return transfer

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Transfer:
        _reject_unknown(data, {"description", "metadata"})
        transfer = cls._api_retrieve(id)
        description = _optional_string(data, "description")
        if "metadata" in data:
            if data["metadata"] == "":
                transfer.metadata = {}
            else:
                for key, value in _metadata(data["metadata"]).items():
                    if value == "":
                        transfer.metadata.pop(key, None)
                    else:
                        transfer.metadata[key] = value
        if description is not None:
            transfer.description = description
        _emit("transfer.updated", transfer)
        return transfer

    @classmethod
    def _api_delete(cls, id: str) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_list_all(
        cls,
        url: str,
        limit: Any = None,
        starting_after: Any = None,
        destination: str | None = None,
        transfer_group: str | None = None,
        **kw: Any,
    ) -> Any:
        li = _newest_first(super()._api_list_all(url, limit, starting_after, **kw))
        if destination is not None:
            li._list = [t for t in li._list if t.destination == destination]
        if transfer_group is not None:
            li._list = [t for t in li._list if t.transfer_group == transfer_group]
        return li


class TransferReversal(ls.StripeObject):
    object = "transfer_reversal"
    _id_prefix = "trr_"

    def __init__(self, *, transfer: Transfer, amount: int, metadata: dict[str, str]) -> None:
        super().__init__()
        self.amount = amount
        self.currency = transfer.currency
        self.destination_payment_refund = "pyr_" + ls.random_id(24)
        self.metadata = metadata
        self.source_refund = None
        self.transfer = transfer.id
        self.balance_transaction = _balance_transaction(
            amount=amount,
            currency=transfer.currency,
            txn_type="transfer_refund",
            reporting_category="transfer_reversal",
            source=self.id,
        ).id

    @classmethod
    def _api_create(cls, **data: Any) -> Any:
        raise UserError(405, "Method Not Allowed")

    @classmethod
    def _api_create_on_transfer(cls, id: str, **data: Any) -> TransferReversal:
        _reject_unknown(data, {"amount", "description", "metadata", "refund_application_fee"})
        transfer = Transfer._api_retrieve(id)
        unreversed = transfer.amount - transfer.amount_reversed
        if unreversed == 0:
            raise stripe_error(400, f"Transfer {id} has already been fully reversed.")
        amount = data.get("amount")
        amount = unreversed if amount is None else _positive_integer(amount, "amount")
        if amount > unreversed:
            raise stripe_error(
                400,
                f"Amount ({amount}) is greater than the unreversed amount "
                f"({unreversed}) of transfer {id}.",
                param="amount",
            )
        metadata = _metadata(data.get("metadata"))

        reversal = cls(transfer=transfer, amount=amount, metadata=metadata)

        transfer.amount_reversed += amount
        transfer.reversed = transfer.amount_reversed == transfer.amount
        transfer.reversals._list.insert(0, reversal)
        if state.platform_available is not None:
            _move_platform_funds(amount, transfer.currency)
        _emit("transfer.reversed", transfer)
        return reversal

    @classmethod
    def _api_list_on_transfer(
        cls, id: str, limit: Any = None, starting_after: Any = None, **kw: Any
    ) -> Any:
        if kw:
            raise UserError(400, "Unexpected " + ", ".join(kw))
        transfer = Transfer._api_retrieve(id)
        li = ls.List(transfer.reversals.url, limit=limit, starting_after=starting_after)
        li._list = list(transfer.reversals._list)
        return li


def _check_platform_funds(amount: int, currency: str) -> None:
    if state.platform_available is None:
        return
    if state.platform_available.get(currency, 0) < amount:
        raise stripe_error(
            400,
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the "
            "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
            code="balance_insufficient",
        )


def _move_platform_funds(amount: int, currency: str) -> None:
    if state.platform_available is not None:
        state.platform_available[currency] = state.platform_available.get(currency, 0) + amount


# --- idempotency --------------------------------------------------------------------------


def _canonical_parameters(query_string: str, body: bytes) -> tuple[Any, ...]:
    text = body.decode("utf-8", "replace")
    try:
        parsed: Any = json.dumps(json.loads(text), sort_keys=True) if text.strip() else ""
    except ValueError:
        parsed = tuple(sorted(parse_qsl(text, keep_blank_values=True)))
    return tuple(sorted(parse_qsl(query_string, keep_blank_values=True))), parsed


def _is_saved(status: int) -> bool:
    # Stripe saves a result once the endpoint has started executing: successes, card
    # errors and server errors. Validation errors (400, 404...) may be retried.
    return status < 400 or status == 402 or status >= 500


def _new_request_id() -> str:
    return "req_" + ls.random_id(14)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "DELETE" and request.path == "/_config/data":
        response = await handler(request)
        state.reset_data()
        return response

    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        response = await handler(request)
        response.headers["Request-Id"] = _new_request_id()
        return response

    # Keys belong to one API key (one account), as on Stripe.
    scope = (
        request.headers.get("Authorization", ""),
        request.headers.get("Stripe-Account", ""),
        key,
    )
    fingerprint = (request.path, _canonical_parameters(request.query_string, await request.read()))
    saved = state.idempotent_responses.get(scope)
    if saved is not None:
        if saved.fingerprint != fingerprint:
            return ls_server.json_response(
                {
                    "error": {
                        "message": (
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other "
                            f"than '{key}' if you meant to execute a different request."
                        ),
                        "type": "idempotency_error",
                    }
                },
                status=400,
                headers={"Request-Id": _new_request_id()},
            )
        return web.Response(
            status=saved.status,
            body=saved.body,
            headers={
                "Content-Type": saved.content_type,
                "Idempotent-Replayed": "true",
                "Original-Request": saved.request_id,
                "Request-Id": _new_request_id(),
            },
        )

    response = await handler(request)
    request_id = _new_request_id()
    response.headers["Request-Id"] = request_id
    if (
        _is_saved(response.status)
        and isinstance(response, web.Response)
        and isinstance(response.body, bytes | bytearray)
    ):
        state.idempotent_responses[scope] = _SavedResponse(
            fingerprint=fingerprint,
            status=response.status,
            body=bytes(response.body),
            content_type=response.headers.get("Content-Type", "application/json"),
            request_id=request_id,
        )
    return response


# --- corrections to localstripe's own resources -----------------------------------------


def disable_persistence() -> None:
    """localstripe pickles its whole store to /tmp/localstripe.pickle after every write.

    Two test runs would share that file, and a restart would resurrect old objects; each
    emulator process here keeps its state in memory only.
    """
    ls.Store.try_load_from_disk = lambda self: None
    ls.Store.dump_to_disk = lambda self: None


def _install_corrections() -> None:
    _correct_card_errors()
    _correct_test_payment_methods()
    _correct_setup_intents()
    _correct_payment_intents()
    _correct_refunds()
    _add_configurable_fees()


def _correct_card_errors() -> None:
    # localstripe labels every error invalid_request_error; Stripe's 402s are card_error.
    original_init = UserError.__init__

    def __init__(self: UserError, code: int, message: Any = None, contents: Any = None) -> None:
        original_init(self, code, message, contents)
        if code == 402:
            self.body["error"]["type"] = "card_error"

    UserError.__init__ = __init__


def _correct_test_payment_methods() -> None:
    original_canonical = ls.PaymentMethod._try_get_canonical_test_article.__func__

    def _try_get_canonical_test_article(cls: Any, id: str) -> Any:
        number = EXTRA_TEST_PAYMENT_METHODS.get(id)
        if number is not None:
            return ls.PaymentMethod(
                type="card",
                card={"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"},
            )
        return original_canonical(cls, id)

    ls.PaymentMethod._try_get_canonical_test_article = classmethod(_try_get_canonical_test_article)

    # Cards that Stripe declines on attach are declined on a direct charge too.
    original_charging_is_declined = ls.PaymentMethod._charging_is_declined

    def _charging_is_declined(self: Any) -> bool:
        return original_charging_is_declined(self) or ls.PaymentMethod._attaching_is_declined(self)

    ls.PaymentMethod._charging_is_declined = _charging_is_declined
    ls.PaymentMethod._is_set_up = False


def _correct_setup_intents() -> None:
    ls.SetupIntent.last_setup_error = None
    original_attach_pm = ls.SetupIntent._attach_pm

    def _attach_pm(self: Any, pm: Any) -> None:
        self.last_setup_error = None
        try:
            original_attach_pm(self, pm)
        except UserError as error:
            if error.code == 402:
                # Stripe leaves a declined SetupIntent open for another card.
                self.status = "requires_payment_method"
                self.payment_method = None
                self.last_setup_error = {
                    "code": error.body["error"].get("code"),
                    "message": error.body["error"].get("message"),
                    "payment_method": pm._export(),
                    "type": "card_error",
                }
                error.body["error"]["setup_intent"] = self._export()
            raise

    # localstripe's route holds the original _api_confirm, so the moment a setup
    # succeeds (directly, or on the confirm that follows 3D Secure) is caught on the
    # status attribute itself.
    def _get_status(self: Any) -> str:
        return self._status

    def _set_status(self: Any, value: str) -> None:
        self._status = value
        if value == "succeeded" and getattr(self, "payment_method", None):
            # A successful setup attaches the card to the SetupIntent's customer.
            pm = ls.PaymentMethod._api_retrieve(self.payment_method)
            pm._is_set_up = True
            if self.customer and pm.customer is None:
                pm.customer = self.customer

    ls.SetupIntent._attach_pm = _attach_pm
    ls.SetupIntent.status = property(_get_status, _set_status)


def _correct_payment_intents() -> None:
    pi_class = ls.PaymentIntent
    pi_class.description = None
    pi_class.transfer_group = None
    ls.Charge.transfer_group = None

    original_init = pi_class.__init__
    original_create = pi_class._api_create.__func__
    original_create_charge = pi_class._create_charge
    original_report_failure = pi_class._report_failure
    original_confirm = pi_class._confirm
    original_export = pi_class._export
    original_last_payment_error = pi_class.last_payment_error

    def __init__(
        self: Any, description: Any = None, transfer_group: Any = None, **data: Any
    ) -> None:
        for name, value in (("description", description), ("transfer_group", transfer_group)):
            if value is not None and not isinstance(value, str):
                raise stripe_error(400, f"Invalid string: {value}", param=name)
        original_init(self, **data)
        self.description = description
        self.transfer_group = transfer_group

    def _api_create(cls: Any, confirm: Any = None, off_session: Any = None, **data: Any) -> Any:
        is_off_session_confirm = (
            ls.try_convert_to_bool(confirm) is True
            and ls.try_convert_to_bool(off_session) is True
            and isinstance(data.get("payment_method"), str)
        )
        if is_off_session_confirm:
            pm = ls.PaymentMethod._api_retrieve(data["payment_method"])
            data["payment_method"] = pm.id  # resolves pm_card_* once
            if pm._requires_authentication():
                intent = original_create(cls, **data)
                number = getattr(pm, "_card_number", None)
                if number == AUTHENTICATE_UNLESS_SET_UP and getattr(pm, "_is_set_up", False):
                    intent._create_charge(on_failure_now=intent._report_failure)
                    return intent
                _fail_authentication_off_session(intent, pm)
        return original_create(cls, confirm=confirm, off_session=off_session, **data)

    def _fail_authentication_off_session(intent: Any, pm: Any) -> None:
        message = "Your card was declined. This transaction requires authentication."
        intent.payment_method = None
        intent._off_session_error = {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": message,
            "payment_method": pm._export(),
            "type": "card_error",
        }
        ls_webhooks.schedule_webhook(ls.Event("payment_intent.payment_failed", intent))
        error = stripe_error(402, message, code="authentication_required")
        error.body["error"]["decline_code"] = "authentication_required"
        error.body["error"]["payment_intent"] = intent._export()
        raise error

    def _create_charge(self: Any, on_failure_now: Any) -> None:
        try:
            original_create_charge(self, on_failure_now)
        finally:
            if self.latest_charge is not None:
                self.latest_charge.transfer_group = self.transfer_group
                if self.description is not None:
                    self.latest_charge.description = self.description

    def _report_failure(self: Any) -> None:
        try:
            original_report_failure(self)
        except UserError as error:
            error.body["error"]["payment_intent"] = self._export()
            raise

    def _confirm(self: Any, on_failure_now: Any) -> None:
        self._off_session_error = None
        original_confirm(self, on_failure_now)

    def last_payment_error(self: Any) -> Any:
        return getattr(self, "_off_session_error", None) or original_last_payment_error.fget(self)

    def _export(self: Any, expand: Any = None) -> dict[str, Any]:
        exported = original_export(self, expand=expand)
        # Since API version 2022-11-15 a PaymentIntent carries its charge's id only.
        exported.pop("charges", None)
        is_charge_expanded = any(
            path == "latest_charge" or path.startswith("latest_charge.") for path in expand or []
        )
        if isinstance(exported.get("latest_charge"), dict) and not is_charge_expanded:
            exported["latest_charge"] = exported["latest_charge"]["id"]
        return exported

    pi_class.__init__ = __init__
    pi_class._api_create = classmethod(_api_create)
    pi_class._create_charge = _create_charge
    pi_class._report_failure = _report_failure
    pi_class._confirm = _confirm
    pi_class.last_payment_error = property(last_payment_error)
    pi_class._export = _export


def _correct_refunds() -> None:
    # localstripe refunds the whole charge again when amount is omitted, and lets the
    # refunds of a charge exceed it. Stripe refunds what is left and refuses more.
    ls.Refund.reason = None
    original_init = ls.Refund.__init__

    def _refunded_charge(charge: Any, payment_intent: Any) -> Any:
        if isinstance(payment_intent, str):
            intent = ls.store.get(f"payment_intent:{payment_intent}")
            if intent is None:
                return None
            if intent.latest_charge is None:
                raise stripe_error(
                    400,
                    f"This PaymentIntent ({payment_intent}) does not have a successful "
                    "charge to refund.",
                    param="payment_intent",
                )
            return intent.latest_charge
        if isinstance(charge, str):
            return ls.store.get(f"charge:{charge}")
        return None

    def __init__(
        self: Any,
        charge: Any = None,
        payment_intent: Any = None,
        amount: Any = None,
        metadata: Any = None,
        reason: Any = None,
        **data: Any,
    ) -> None:
        if reason is not None and reason not in REFUND_REASONS:
            raise stripe_error(400, f"Invalid reason: {reason}", param="reason")
        charge_obj = _refunded_charge(charge, payment_intent)
        if charge_obj is not None and charge_obj.status == "succeeded":
            unrefunded = charge_obj.amount - charge_obj.amount_refunded
            if unrefunded <= 0:
                raise stripe_error(
                    400,
                    f"Charge {charge_obj.id} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = ls.try_convert_to_int(amount)
            if amount is None:
                amount = unrefunded
            elif type(amount) is int and amount > unrefunded:
                raise stripe_error(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on "
                    f"charge ({unrefunded})",
                    param="amount",
                )
        original_init(
            self,
            charge=charge,
            payment_intent=payment_intent,
            amount=amount,
            metadata=metadata,
            **data,
        )
        self.reason = reason

    ls.Refund.__init__ = __init__


def _add_configurable_fees() -> None:
    # localstripe books every charge with fee 0. Tests that post fees to the ledger can
    # set a flat pricing with POST /_config/fees; refunds never return fees, as on Stripe.
    original_init = ls.BalanceTransaction.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.type != "charge" or self.amount <= 0:
            return
        fee = (self.amount * state.fee_percent_basis_points + 5_000) // 10_000 + state.fee_fixed
        if fee:
            self.fee = fee
            self.fee_details = [
                {
                    "amount": fee,
                    "application": None,
                    "currency": self.currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]

    ls.BalanceTransaction.__init__ = __init__


# --- routes -------------------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    data = await ls_server.get_post_data(request)
    return dict(data) if data else {}


async def _account_link_create_view(request: web.Request) -> web.Response:
    data = await _json_body(request)
    data.pop("expand", None)
    base_url = f"{request.scheme}://{request.host}"
    return ls_server.json_response(account_link_create(base_url, **data))


async def _onboarding_view(request: web.Request) -> web.Response:
    """Where an account link leads: completes onboarding, then goes to return_url.

    Like Stripe's, a link works once and not after it expires; then it goes to refresh_url.
    """
    link = state.account_links.get(request.match_info["token"])
    if link is None:
        raise web.HTTPNotFound(text="Unknown account link\n")
    if link["is_used"] or time.time() > link["expires_at"]:
        raise web.HTTPFound(link["refresh_url"])
    link["is_used"] = True
    Account._api_retrieve(link["account"])._complete_onboarding()
    raise web.HTTPFound(link["return_url"])


async def _complete_onboarding_view(request: web.Request) -> web.Response:
    account = Account._api_retrieve(request.match_info["id"])
    account._complete_onboarding()
    return ls_server.json_response(account._export())


async def _unregister_webhook_view(request: web.Request) -> web.Response:
    if ls_webhooks._webhooks.pop(request.match_info["id"], None) is None:
        raise UserError(404, "Not Found")
    return web.Response()


def _platform_balance_export() -> dict[str, Any]:
    return {"available": state.platform_available}


async def _platform_balance_view(request: web.Request) -> web.Response:
    if request.method == "DELETE":
        state.platform_available = None
    elif request.method == "POST":
        available = (await _json_body(request)).get("available")
        if not isinstance(available, dict):
            raise UserError(400, "Expected {'available': {currency: amount}}")
        balances = {}
        for currency, amount in available.items():
            amount = ls.try_convert_to_int(amount)
            if type(amount) is not int or amount < 0:
                raise UserError(400, f"Invalid amount for {currency}")
            balances[_currency(currency)] = amount
        state.platform_available = balances
    return ls_server.json_response(_platform_balance_export())


async def _fees_view(request: web.Request) -> web.Response:
    if request.method == "POST":
        data = await _json_body(request)
        values = {}
        for name in ("percent_basis_points", "fixed"):
            value = ls.try_convert_to_int(data.get(name, 0))
            if type(value) is not int or value < 0:
                raise UserError(400, f"Invalid {name}")
            values[name] = value
        state.fee_percent_basis_points = values["percent_basis_points"]
        state.fee_fixed = values["fixed"]
    return ls_server.json_response(
        {"percent_basis_points": state.fee_percent_basis_points, "fixed": state.fee_fixed}
    )


def _add_routes(router: web.UrlDispatcher) -> None:
    for cls, path in ((Account, "/v1/accounts"), (Transfer, "/v1/transfers")):
        router.add_post(path, ls_server.api_create(cls, path))
        router.add_get(path, ls_server.api_list_all(cls, path))
        router.add_get(path + "/{id}", ls_server.api_retrieve(cls, path))
    router.add_post("/v1/transfers/{id}", ls_server.api_update(Transfer, "/v1/transfers"))
    reversals = "/v1/transfers/{id}/reversals"
    router.add_post(
        reversals, ls_server.api_extra(TransferReversal._api_create_on_transfer, reversals)
    )
    router.add_get(
        reversals, ls_server.api_extra(TransferReversal._api_list_on_transfer, reversals)
    )
    router.add_post("/v1/account_links", _account_link_create_view)

    # Test-only controls; localstripe leaves /_config/ unauthenticated.
    router.add_delete("/_config/webhooks/{id}", _unregister_webhook_view)
    router.add_get("/_config/connect/onboarding/{token}", _onboarding_view)
    router.add_post("/_config/connect/accounts/{id}/complete_onboarding", _complete_onboarding_view)
    for method in ("GET", "POST", "DELETE"):
        router.add_route(method, "/_config/connect/platform_balance", _platform_balance_view)
    for method in ("GET", "POST"):
        router.add_route(method, "/_config/fees", _fees_view)


_is_installed = False


def install(app: web.Application) -> None:
    """Patch localstripe in this process and mount the extension on its application."""
    global _is_installed
    if _is_installed:
        return
    _is_installed = True
    disable_persistence()
    _install_corrections()
    # Outermost, so that it sees the final response of every route, localstripe's included.
    app.middlewares.insert(0, idempotency_middleware)
    _add_routes(app.router)
