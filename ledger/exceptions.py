from common.errors import ApplicationError


class LedgerError(ApplicationError):
    code = "ledger_error"


class UnbalancedEntryError(LedgerError):
    code = "unbalanced_entry"
    default_message = "The entry's debits and credits do not balance."


class InsufficientFundsError(LedgerError):
    code = "insufficient_funds"
    status_code = 409
    default_message = "The account does not hold enough money for this."


class IdempotencyConflictError(LedgerError):
    code = "idempotency_conflict"
    status_code = 409
    default_message = "This idempotency key was already used for a different entry."


class EntryNotSealedError(LedgerError):
    code = "not_sealed"
    status_code = 404
    default_message = (
        "This entry is not sealed in a block yet; blocks are sealed every few minutes."
    )
