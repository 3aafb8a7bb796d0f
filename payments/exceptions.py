"""Errors of the payments app. Provider errors are classified once, in the seam."""

from typing import Any

from common.errors import ApplicationError


class PaymentsError(ApplicationError):
    code = "payments_error"


class PurposeNotAvailableError(PaymentsError):
    code = "purpose_not_available"
    default_message = "This kind of payment is not available."


class PaymentIdempotencyError(PaymentsError):
    code = "idempotency_conflict"
    status_code = 409
    default_message = "This idempotency key was already used for a different request."


class RefundNotAllowedError(PaymentsError):
    code = "refund_not_allowed"
    status_code = 409
    default_message = "This payment cannot be refunded by that amount."


class SandboxOnlyError(PaymentsError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class FourEyesError(PaymentsError):
    code = "four_eyes"
    status_code = 403
    default_message = "A disbursement must be approved by someone other than who requested it."


class PayeeNotReadyError(PaymentsError):
    code = "payee_not_ready"
    status_code = 409
    default_message = "The payee's payout account is not set up."


class ProviderCallInTransactionError(RuntimeError):
    """A programming error: provider calls must never hold a database transaction open."""


class WebhookSignatureError(PaymentsError):
    code = "invalid_signature"
    default_message = "The webhook signature could not be verified."


class WebhookPayloadError(PaymentsError):
    code = "malformed_event"
    default_message = "The webhook body is not a valid event."


class PaymentNotYetKnownError(PaymentsError):
    """An event names a payment of ours that this database does not hold (yet)."""

    code = "payment_not_yet_known"
    status_code = 409


class ProviderError(PaymentsError):
    """The payment provider refused or failed a request."""

    code = "provider_error"
    status_code = 502
    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        provider_code: str = "",
        decline_code: str = "",
        http_status: int | None = None,
        payment_intent_id: str = "",
        setup_intent_id: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.provider_code = provider_code
        self.decline_code = decline_code
        self.http_status = http_status
        self.payment_intent_id = payment_intent_id
        self.setup_intent_id = setup_intent_id
        details = {"provider_code": provider_code} if provider_code else {}
        if decline_code:
            details["decline_code"] = decline_code
        super().__init__(message, code=code, extra={**details, **(extra or {})})


class CardDeclinedError(ProviderError):
    code = "card_declined"
    status_code = 402
    default_message = "The card was declined."


class AuthenticationRequiredError(ProviderError):
    code = "authentication_required"
    status_code = 402
    default_message = "The card issuer requires the cardholder to authenticate."


class ProviderInvalidRequestError(ProviderError):
    """A 4xx other than a card error: retrying the same request cannot help."""

    code = "provider_invalid_request"
    status_code = 409
    default_message = "The payment provider refused the request."


class ProviderIdempotencyError(ProviderError):
    code = "provider_idempotency_conflict"
    status_code = 409
    default_message = "The payment provider saw this idempotency key with other parameters."


class ProviderUnavailableError(ProviderError):
    """A network error or a 5xx: the same request, with the same idempotency key, may be retried."""

    code = "provider_unavailable"
    status_code = 503
    retryable = True
    default_message = "The payment provider cannot be reached; try again shortly."
