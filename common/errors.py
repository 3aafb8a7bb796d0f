"""The one error type that services raise; the API turns it into the one error format."""

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the request. `code` is stable: clients switch on it."""

    code = "application_error"
    status_code = 400
    default_message = "The request could not be carried out."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    status_code = 403
    default_message = "You do not have permission to do this."


class ConflictError(ApplicationError):
    code = "conflict"
    status_code = 409
    default_message = "The resource changed; try again."


class IllegalTransitionError(ApplicationError):
    code = "illegal_transition"
    status_code = 409

    def __init__(self, machine: str, source: str, target: str) -> None:
        super().__init__(
            f"A {machine} cannot move from {source!r} to {target!r}.",
            extra={"from": source, "to": target},
        )
